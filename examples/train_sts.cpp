// Train a sentence-embedding model on STS Benchmark with CoSENT, evaluate on STSb dev before
// and after, and save it in the sentence-transformers folder format.
//
//   train_sts [--model DIR] [--epochs N] [--batch-size B] [--output DIR] [--shared DIR]
//
// Without --model the model is a small BERT initialised at random (no pretrained weights exist
// offline); with --model it finetunes any local sentence-transformers or Hugging Face folder.
#include "common.hpp"

int main(int argc, char** argv) try {
  const auto c = example::cli::parse(argc, argv, "train_sts [--model DIR] [--epochs N] [--batch-size B] [--output DIR] [--shared DIR]");
  sbert::models::set_threads_from_hardware();
  auto model = example::make_model(c);
  auto train = example::load_stsb(c, "train");
  std::printf("STSb train: %zu pairs\n", train.size());
  example::stsb_dev_spearman(*model, c, "before");

  sbert::training_args args{
      .output_dir = c.output,
      .num_train_epochs = c.epochs > 0 ? c.epochs : 4,
      .per_device_train_batch_size = c.batch_size > 0 ? c.batch_size : 32,
      .learning_rate = c.model.empty() ? 1e-3 : 2e-5,  // from scratch: a higher rate
      .warmup_ratio = 0.1,
      .seed = c.seed,
      .save_strategy = sbert::interval_strategy::no,
      .logging_steps = 50,
  };
  // CoSENT needs (text, text, score): the schema says so, and the compiler checks it.
  sbert::trainer trainer{model, args, std::move(train), sbert::cosent_loss{}};  // moved: no copy
  trainer.train();

  example::stsb_dev_spearman(*model, c, "after");
  trainer.save_model(c.output);  // the model folder and its model card (README.md)
  std::printf("saved to %s\n", c.output.c_str());
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
