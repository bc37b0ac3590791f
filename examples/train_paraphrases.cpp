// Duplicate-question / paraphrase training, after sentence-transformers'
// training_quora_duplicate_questions multi-task example, on MRPC (Quora's duplicate questions are
// not available offline; MRPC's labelled sentence pairs have the same shape). Two objectives,
// one data set each, batches drawn in proportion:
//   - MultipleNegativesRankingLoss on the paraphrase pairs, each in both directions;
//   - OnlineContrastiveLoss (cosine distance, margin 0.5) on every labelled pair (0 or 1).
// Evaluation before and after on a held-out tenth of MRPC train (split by the first sentence's
// id, since MRPC's test split is not here): BinaryClassificationEvaluator (are the two
// sentences paraphrases?) and ParaphraseMiningEvaluator (find the paraphrase pairs among all
// the dev sentences), run by a SequentialEvaluator. The model is saved and reloaded.
//
//   train_paraphrases [--model DIR] [--epochs N] [--batch-size B] [--max-rows N] [--output DIR] [--shared DIR]
#include "common.hpp"

namespace {
struct quality : sbert::class_column<"Quality"> {};
struct id1 : sbert::text_column<"#1 ID"> {};
struct string1 : sbert::text_column<"#1 String"> {};
struct string2 : sbert::text_column<"#2 String"> {};
using mrpc_rows = sbert::schema<quality, id1, string1, string2>;
using labelled_pairs = sbert::schema<string1, string2, quality>;
using positive_pairs = sbert::schema<string1, string2>;
}  // namespace

int main(int argc, char** argv) try {
  const auto c = example::cli::parse(argc, argv, "train_paraphrases [--model DIR] [--epochs N] [--batch-size B] [--max-rows N] [--output DIR] [--shared DIR]");
  sbert::models::set_threads_from_hardware();
  auto model = example::make_model(c);
  auto limit = [&](const auto& d) { return c.max_rows > 0 ? d.take(static_cast<std::size_t>(c.max_rows)) : d; };

  const auto mrpc = sbert::read_tsv<mrpc_rows>(c.shared + "/data/mrpc/msr_paraphrase_train.txt");
  auto is_dev = [](const auto& r) { return example::fnv1a(r.template get<id1>()) % 10 == 0; };
  const auto train = limit(mrpc.filter([&](const auto& r) { return !is_dev(r); }).shuffle(c.seed).select_columns<string1, string2, quality>());
  const auto dev = limit(mrpc.filter(is_dev).select_columns<string1, string2, quality>());

  // MNRL: the paraphrase pairs, (a, b) and (b, a), as the Quora example adds both directions.
  sbert::dataset<positive_pairs> duplicates;
  for (std::size_t i = 0; i < train.size(); ++i)
    if (train[i].get<quality>() == 1) {
      duplicates.push_back(train[i].get<string1>(), train[i].get<string2>());
      duplicates.push_back(train[i].get<string2>(), train[i].get<string1>());
    }
  std::printf("MRPC: %zu labelled training pairs (%zu paraphrase pairs both ways), %zu dev pairs\n", train.size(), duplicates.size(),
              dev.size());

  auto classification = std::make_shared<sbert::binary_classification_evaluator>(dev, sbert::binary_classification_options{.name = "mrpc-dev", .write_csv = false});
  auto mining = std::make_shared<sbert::paraphrase_mining_evaluator>(dev, sbert::paraphrase_mining_options{.name = "mrpc-dev-mining", .write_csv = false});
  sbert::sequential_evaluator dev_evaluator({classification, mining});
  auto evaluate = [&](const char* when) {
    const auto m = dev_evaluator(*model);
    std::printf("MRPC dev %-7s  cosine_ap %.4f  cosine_f1 %.4f  paraphrase-mining average_precision %.4f  f1 %.4f\n", when,
                m.at("mrpc-dev_cosine_ap"), m.at("mrpc-dev_cosine_f1"), m.at("mrpc-dev-mining_average_precision"), m.at("mrpc-dev-mining_f1"));
    std::fflush(stdout);
    return m;
  };
  evaluate("before");

  auto args = example::training_args_for(c, c.output, 2, 32);
  args.multi_dataset_batch_sampler = sbert::multi_dataset_batch_sampler::proportional;
  args.batch_sampler = sbert::batch_sampler::no_duplicates;  // (a, b) and (b, a) in one batch would be false negatives
  sbert::multi_dataset_trainer trainer{
      model, args,
      sbert::train_on("mrpc-duplicates", std::move(duplicates), sbert::multiple_negatives_ranking_loss{}),
      sbert::train_on("mrpc-labelled", train, sbert::online_contrastive_loss{{.metric = sbert::siamese_distance::cosine_distance, .margin = 0.5}})};
  trainer.train();

  const auto after = evaluate("after");
  trainer.record_evaluation(dev_evaluator, after);  // the card's Evaluation section
  trainer.save_model(c.output + "/final");
  std::printf("saved to %s/final\n", c.output.c_str());
  return example::check_reload(*model, c.output + "/final", dev.column<string1>()) ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
