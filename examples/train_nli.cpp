// Train on NLI triplets (anchor, entailed hypothesis, contradicting hypothesis) with
// MultipleNegativesRankingLoss and the no-duplicates batch sampler; evaluate on STSb dev before
// and after; save the model.
//
//   train_nli [--model DIR] [--epochs N] [--batch-size B] [--output DIR] [--shared DIR]
#include "common.hpp"

int main(int argc, char** argv) try {
  const auto c = example::cli::parse(argc, argv, "train_nli [--model DIR] [--epochs N] [--batch-size B] [--output DIR] [--shared DIR]");
  sbert::models::set_threads_from_hardware();
  auto model = example::make_model(c);
  auto train = example::load_nli(c);
  std::printf("NLI triplets: %zu\n", train.size());
  example::stsb_dev_spearman(*model, c, "before");

  sbert::training_args args{
      .output_dir = c.output,
      .num_train_epochs = c.epochs > 0 ? c.epochs : 3,
      .per_device_train_batch_size = c.batch_size > 0 ? c.batch_size : 64,
      .learning_rate = c.model.empty() ? 1e-3 : 2e-5,
      .warmup_ratio = 0.1,
      .seed = c.seed,
      .batch_sampler = sbert::batch_sampler::no_duplicates,  // no false in-batch negatives
      .save_strategy = sbert::interval_strategy::no,
      .logging_steps = 50,
  };
  sbert::trainer trainer{model, args, std::move(train), sbert::multiple_negatives_ranking_loss{}};  // moved: no copy
  trainer.train();

  example::stsb_dev_spearman(*model, c, "after");
  trainer.save_model(c.output);  // the model folder and its model card (README.md)
  std::printf("saved to %s\n", c.output.c_str());
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
