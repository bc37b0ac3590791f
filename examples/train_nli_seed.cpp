// The main training script of the sentence-transformers v3 blog post ("Training and Finetuning
// Embedding Models with Sentence Transformers v3"), ported line for line: MultipleNegativesRankingLoss
// on (anchor, positive, negative) NLI triplets, no-duplicates batches, a TripletEvaluator on the
// dev split during training, a test evaluation after it, and the model saved with its card.
//
//   train_nli_seed [--model DIR] [--rows N] [--eval-rows N] [--max-steps N] [--eval-steps N]
//                  [--output DIR] [--shared DIR] [--seed N]
//
// Offline differences, each marked below: the model is a local folder (--model, e.g. a download
// of microsoft/mpnet-base) or else the small randomly initialised BERT of the other examples; the
// data are shared/data/nli/nli_dev_triplets.tsv (AllNLI-style triplets from the SNLI and MultiNLI
// dev sets) split three ways by premise, since all-nli's own train/dev/test splits are not here.
// Under ctest it runs a few steps on a few rows (--max-steps 4 --rows 64 ...).
#include "common.hpp"

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

namespace {

struct options {
  example::cli model;                     // --model, --shared, --seed (make_model reads these)
  std::string output = "models/mpnet-base-all-nli-triplet";
  std::size_t rows = 100'000;             // the blog's train_dataset.select(range(100_000))
  std::size_t eval_rows = 0;              // 0: the whole dev / test split
  std::int64_t max_steps = -1;            // > 0: a short run
  double eval_steps = 100;                // eval, save and logging steps, as in the blog

  static options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
      const std::string_view a = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) {
          std::fprintf(stderr, "missing value for %s\n", argv[i]);
          std::exit(2);
        }
        return argv[++i];
      };
      if (a == "--model") o.model.model = value();
      else if (a == "--shared") o.model.shared = value();
      else if (a == "--seed") o.model.seed = std::stoull(value());
      else if (a == "--output") o.output = value();
      else if (a == "--rows") o.rows = std::stoull(value());
      else if (a == "--eval-rows") o.eval_rows = std::stoull(value());
      else if (a == "--max-steps") o.max_steps = std::stoll(value());
      else if (a == "--eval-steps") o.eval_steps = std::stod(value());
      else {
        std::fprintf(stderr, "unknown argument %s\nusage: train_nli_seed [--model DIR] [--rows N] [--eval-rows N] "
                             "[--max-steps N] [--eval-steps N] [--output DIR] [--shared DIR] [--seed N]\n", argv[i]);
        std::exit(2);
      }
    }
    return o;
  }
};

/// The split a premise's rows belong to (FNV-1a of the premise: the same on every platform). As
/// in all-nli, no premise is shared between train, dev and test.
enum class split { train, dev, test };
split split_of(std::string_view premise) {
  const auto h = example::fnv1a(premise);
  return h % 10 == 0 ? split::test : h % 10 == 1 ? split::dev : split::train;
}

using anchor = sbert::columns::anchor;
using positive = sbert::columns::positive;
using negative = sbert::columns::negative;

}  // namespace

int main(int argc, char** argv) try {
  const auto opt = options::parse(argc, argv);
  sbert::models::set_threads_from_hardware();

  // 1. Load a model to finetune with 2. (Optional) model card data
  //    [offline: a local folder, or the small random BERT; Python: SentenceTransformer("microsoft/mpnet-base", ...)]
  auto model = example::make_model(opt.model);
  const std::string base = opt.model.model.empty() ? "Small BERT (random initialisation)"
                                                   : std::filesystem::path(opt.model.model).filename().string();
  sbert::model_card_info model_card_data{
      .language = {"en"},
      .license = "apache-2.0",
      .model_name = base + " trained on NLI triplets",
      // one entry per data set the trainer gets: train, then eval
      .train_datasets = {{.name = "nli-triplets", .id = "", .revision = ""}},
      .eval_datasets = {{.name = "nli-triplets-dev", .id = "", .revision = ""}},
  };

  // 3. Load a dataset to finetune on
  //    [offline: one file of triplets, split by premise; Python: load_dataset("sentence-transformers/all-nli", "triplet")]
  const auto dataset = sbert::read_tsv<example::nli_triplets>(opt.model.shared + "/data/nli/nli_dev_triplets.tsv");
  auto part = [&](split s) { return dataset.filter([s](const auto& row) { return split_of(row.template get<anchor>()) == s; }); };
  auto cap = [](const auto& d, std::size_t n) { return n > 0 && n < d.size() ? d.take(n) : d; };
  const auto train_dataset = cap(part(split::train), opt.rows);
  const auto eval_dataset = cap(part(split::dev), opt.eval_rows);
  const auto test_dataset = cap(part(split::test), opt.eval_rows);
  std::printf("train %zu, dev %zu, test %zu triplets\n", train_dataset.size(), eval_dataset.size(), test_dataset.size());

  // 4. Define a loss function
  sbert::multiple_negatives_ranking_loss loss;

  // 5. (Optional) Specify training arguments
  sbert::training_args args{
      // Required parameter:
      .output_dir = opt.output,
      // Optional training parameters:
      .num_train_epochs = 1,
      .max_steps = opt.max_steps,
      .per_device_train_batch_size = 16,
      .per_device_eval_batch_size = 16,
      .learning_rate = opt.model.model.empty() ? 1e-3 : 2e-5,  // a random initialisation needs more than the blog's 2e-5
      .warmup_ratio = 0.1,
      .fp16 = false,  // Set to True on a GPU that runs FP16 (the blog's default)
      .bf16 = false,  // Set to True if you have a GPU that supports BF16
      .batch_sampler = sbert::batch_sampler::no_duplicates,  // MultipleNegativesRankingLoss benefits from no duplicate samples in a batch
      // Optional tracking/debugging parameters:
      .eval_strategy = sbert::interval_strategy::steps,
      .eval_steps = opt.eval_steps,
      .save_strategy = sbert::interval_strategy::steps,
      .save_steps = opt.eval_steps,
      .save_total_limit = 2,
      .logging_steps = opt.eval_steps,
      .run_name = "mpnet-base-all-nli-triplet",  // names the TensorBoard run and shows in the model card
  };

  // 6. (Optional) Create an evaluator & evaluate the base model
  sbert::triplet_evaluator dev_evaluator(eval_dataset, {.name = "all-nli-dev"});
  for (const auto& [k, v] : dev_evaluator(*model)) std::printf("before training: %s = %.4f\n", k.c_str(), v);

  // 7. Create a trainer & train
  sbert::trainer trainer{model, args, train_dataset, loss, eval_dataset, dev_evaluator};
  trainer.set_model_card_info(model_card_data);  // [Python passes it to the model in step 1]
  trainer.train();

  // (Optional) Evaluate the trained model on the test set
  sbert::triplet_evaluator test_evaluator(test_dataset, {.name = "all-nli-test"});
  const auto test_results = test_evaluator(*model);
  for (const auto& [k, v] : test_results) std::printf("after training: %s = %.4f\n", k.c_str(), v);
  trainer.record_evaluation(test_evaluator, test_results);  // [Python's evaluator(model) adds it to the card itself]

  // 8. Save the trained model (the folder Python's SentenceTransformer(path) loads, and its model card)
  trainer.save_model(opt.output + "/final");
  std::printf("saved to %s/final\n", opt.output.c_str());

  // 9. (Optional) Push it to the Hugging Face Hub [not offline: upload the folder with huggingface-cli]
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
