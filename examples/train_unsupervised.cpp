// Unsupervised training on unlabelled sentences (STSb train, both columns, scores dropped),
// after sentence-transformers' examples/unsupervised_learning: STSb dev Spearman before/after.
//
// --method tsdae        TSDAE (train_stsb_tsdae.py): DenoisingAutoEncoderLoss on
//                       (damaged, original) pairs from denoising_pairs (60% of the words
//                       deleted); its decoder is tied to the encoder; CLS pooling, constant
//                       learning rate, no weight decay, batch 8.
// --method ct           Contrastive Tension (train_stsb_ct.py): ContrastiveTensionLoss between
//                       the model and an independent copy (model1), on contrastive_tension_pairs
//                       batches (1 identical pair in every --pos-neg-ratio, default 8), fed in order by
//                       a sequential batch sampler so each batch keeps its positives; batch 16.
// --method ct-in-batch  ContrastiveTensionLossInBatchNegatives: (s, s) pairs, the batch's
//                       other sentences as negatives.
// The model is a small random-init BERT (hidden 128, 2 layers) or --model DIR.
//
//   train_unsupervised --method tsdae|ct|ct-in-batch [--model DIR] [--epochs N] [--batch-size B]
//                      [--learning-rate LR] [--pos-neg-ratio K] [--max-rows N] [--output DIR] [--shared DIR]
#include "common.hpp"

namespace {
struct damaged : sbert::text_column<"damaged"> {};
struct original : sbert::text_column<"original"> {};
struct text1 : sbert::text_column<"text1"> {};
struct text2 : sbert::text_column<"text2"> {};
struct label : sbert::class_column<"label"> {};
}  // namespace

int main(int argc, char** argv) try {
  const std::string usage =
      "train_unsupervised --method tsdae|ct|ct-in-batch [--model DIR] [--epochs N] [--batch-size B] [--learning-rate LR] "
      "[--pos-neg-ratio K] [--max-rows N] [--output DIR] [--shared DIR]";
  const std::string method = example::take_option(argc, argv, "--method");
  const std::string lr_arg = example::take_option(argc, argv, "--learning-rate");
  const auto pos_neg_ratio = std::stoull(example::take_option(argc, argv, "--pos-neg-ratio", "8"));
  const auto c = example::cli::parse(argc, argv, usage);
  if (method != "tsdae" && method != "ct" && method != "ct-in-batch") {
    std::fprintf(stderr, "--method must be tsdae, ct or ct-in-batch\n%s\n", usage.c_str());
    return 2;
  }
  sbert::models::set_threads_from_hardware();
  // TSDAE reads the sentence off the CLS token, as the paper and Python's example do.
  auto load_model = [&] { return c.model.empty() ? example::make_bert(c, 128, 2, method == "tsdae" ? "cls" : "mean") : example::make_model(c); };
  auto model = load_model();
  const auto sentences = example::stsb_train_sentences(c);
  std::printf("%s on %zu unlabelled STSb train sentences\n", method.c_str(), sentences.size());
  const double before = example::stsb_dev_spearman(*model, c, "before");

  // Python's learning rates are for pretrained BERT; a random-init model needs larger steps.
  const double python_lr = method == "tsdae" ? 3e-5 : method == "ct" ? 5e-5 : 5e-5;
  sbert::training_args args{.output_dir = c.output,
                            .num_train_epochs = c.epochs > 0 ? c.epochs : 1,
                            .per_device_train_batch_size = c.batch_size > 0 ? c.batch_size : (method == "tsdae" ? 8 : 16),
                            .learning_rate = !lr_arg.empty() ? std::stod(lr_arg) : c.model.empty() ? 1e-4 : python_lr,
                            .weight_decay = 0.0,
                            .lr_scheduler_type = sbert::lr_scheduler_type::constant,
                            .seed = c.seed,
                            .save_strategy = sbert::interval_strategy::no,
                            .logging_steps = 100};
  auto run = [&](auto& trainer) {
    trainer.train();
    const double after = example::stsb_dev_spearman(*model, c, "after");
    std::printf("STSb dev spearman_cosine: %.4f -> %.4f\n", before, after);
    trainer.save_model(c.output);
  };
  if (method == "tsdae") {
    std::vector<std::string> d, o;
    for (auto& [x, y] : sbert::denoising_pairs(sentences, 0.6, c.seed)) {
      d.push_back(std::move(x));
      o.push_back(std::move(y));
    }
    sbert::trainer trainer{model, args, sbert::dataset<sbert::schema<damaged, original>>::from_columns(std::move(d), std::move(o)),
                           sbert::denoising_auto_encoder_loss(*model)};
    run(trainer);
  } else if (method == "ct") {
    // model1: an independent copy with the same starting weights (Python deep-copies the model).
    auto model1 = load_model();
    const auto bs = static_cast<std::size_t>(args.per_device_train_batch_size);
    std::vector<std::string> a, b;
    std::vector<std::int64_t> y;
    for (auto& p : sbert::contrastive_tension_pairs(sentences, bs, pos_neg_ratio, c.seed)) {
      a.push_back(std::move(p.text1));
      b.push_back(std::move(p.text2));
      y.push_back(p.label);
    }
    const auto n = a.size();
    std::printf("ContrastiveTensionLoss: %zu pairs in batches of %zu, one positive in every %zu\n", n, bs, static_cast<std::size_t>(pos_neg_ratio));
    sbert::trainer trainer{model, args,
                           sbert::dataset<sbert::schema<text1, text2, label>>::from_columns(std::move(a), std::move(b), std::move(y)),
                           sbert::contrastive_tension_loss(model1)};
    trainer.set_batch_sampler(std::make_shared<sbert::sequential_batch_sampler>(n, bs));
    run(trainer);
  } else {
    auto model1 = load_model();
    sbert::trainer trainer{model, args,
                           sbert::dataset<sbert::schema<sbert::columns::anchor, sbert::columns::positive>>::from_columns(sentences, sentences),
                           sbert::contrastive_tension_loss_in_batch_negatives(model1)};
    run(trainer);
  }
  std::printf("saved to %s\n", c.output.c_str());
  const std::vector<std::string> probe(sentences.begin(), sentences.begin() + std::min<std::size_t>(8, sentences.size()));
  return example::check_reload(*model, c.output, probe) ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
