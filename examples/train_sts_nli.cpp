// The main job: NLI triplets with MultipleNegativesRankingLoss, then STS Benchmark with
// CoSENT, from a random initialisation (or --model DIR); STSb dev Spearman before, between and
// after; the model saved in the sentence-transformers folder format.
//
//   train_sts_nli [--model DIR] [--epochs N] [--batch-size B] [--output DIR] [--shared DIR]
#include "common.hpp"

int main(int argc, char** argv) try {
  const auto c = example::cli::parse(argc, argv, "train_sts_nli [--model DIR] [--epochs N] [--batch-size B] [--output DIR] [--shared DIR]");
  sbert::models::set_threads_from_hardware();
  auto model = example::make_model(c);
  const double lr = c.model.empty() ? 1e-3 : 2e-5;
  const double before = example::stsb_dev_spearman(*model, c, "before");

  {  // stage 1: NLI triplets, in-batch negatives
    auto nli = example::load_nli(c);
    std::printf("stage 1: MultipleNegativesRankingLoss on %zu NLI triplets\n", nli.size());
    sbert::training_args args{.output_dir = c.output + "/nli",
                              .num_train_epochs = c.epochs > 0 ? c.epochs : 2,
                              .per_device_train_batch_size = c.batch_size > 0 ? c.batch_size : 64,
                              .learning_rate = lr,
                              .warmup_ratio = 0.1,
                              .seed = c.seed,
                              .batch_sampler = sbert::batch_sampler::no_duplicates,
                              .save_strategy = sbert::interval_strategy::no,
                              .logging_steps = 50};
    sbert::trainer trainer{model, args, std::move(nli), sbert::multiple_negatives_ranking_loss{}};
    trainer.train();
    example::stsb_dev_spearman(*model, c, "after NLI");
  }
  {  // stage 2: STSb scores, CoSENT
    auto sts = example::load_stsb(c, "train");
    std::printf("stage 2: CoSENTLoss on %zu STSb pairs\n", sts.size());
    sbert::training_args args{.output_dir = c.output + "/sts",
                              .num_train_epochs = c.epochs > 0 ? c.epochs : 4,
                              .per_device_train_batch_size = c.batch_size > 0 ? c.batch_size : 32,
                              .learning_rate = lr,
                              .warmup_ratio = 0.1,
                              .seed = c.seed,
                              .save_strategy = sbert::interval_strategy::no,
                              .logging_steps = 50};
    sbert::trainer trainer{model, args, std::move(sts), sbert::cosent_loss{}};
    trainer.train();
    const double after = example::stsb_dev_spearman(*model, c, "after");
    std::printf("STSb dev spearman_cosine: %.4f -> %.4f (lexical Jaccard baseline: 0.6531)\n", before, after);
    trainer.save_model(c.output + "/final");  // the model folder and its model card (README.md)
  }
  std::printf("saved to %s/final\n", c.output.c_str());
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
