// Multi-dataset training, after the recipe in the sentence-transformers docs, on the bundled
// data: NLI pairs and NLI triplets with MultipleNegativesRankingLoss, NLI pair-class with
// SoftmaxLoss, STSb with CoSENTLoss, and MRPC paraphrase pairs with MNRL. Each data set keeps
// its own schema and loss (each pairing checked at compile time); every batch comes from one
// data set, in proportion to their sizes. STSb dev Spearman before and after.
//
//   train_multi [--model DIR] [--epochs N] [--batch-size B] [--max-rows N] [--output DIR] [--shared DIR]
#include "common.hpp"

namespace {
struct premise : sbert::text_column<"premise"> {};
struct hypothesis : sbert::text_column<"hypothesis"> {};
struct label : sbert::class_column<"label"> {};
struct paraphrase1 : sbert::text_column<"#1 String"> {};
struct paraphrase2 : sbert::text_column<"#2 String"> {};
struct quality : sbert::class_column<"Quality"> {};
}  // namespace

int main(int argc, char** argv) try {
  const auto c = example::cli::parse(argc, argv, "train_multi [--model DIR] [--epochs N] [--batch-size B] [--max-rows N] [--output DIR] [--shared DIR]");
  sbert::models::set_threads_from_hardware();
  auto model = example::make_model(c);
  auto limit = [&](auto d) { return c.max_rows > 0 ? d.take(static_cast<std::size_t>(c.max_rows)) : d; };

  auto nli_triplets = example::load_nli(c);                                                 // (anchor, positive, negative)
  auto nli_pairs = nli_triplets.remove_columns<sbert::columns::negative>();                   // (anchor, positive)
  sbert::read_options snli_opts;
  snli_opts.class_names = {"entailment", "neutral", "contradiction"};
  auto nli_class = limit(sbert::read_jsonl<sbert::schema<premise, hypothesis, label>>(
      c.shared + "/data/nli/snli_1.0_dev.jsonl", snli_opts));                               // (premise, hypothesis, class)
  auto stsb = example::load_stsb(c, "train");                                               // (s1, s2, score)
  auto mrpc = limit(sbert::read_tsv<sbert::schema<paraphrase1, paraphrase2, quality>>(c.shared + "/data/mrpc/msr_paraphrase_train.txt")
                        .filter([](auto r) { return r.template get<quality>() == 1; })
                        .remove_columns<quality>());                                         // paraphrase pairs

  const double before = example::stsb_dev_spearman(*model, c, "before");
  sbert::training_args args{.output_dir = c.output,
                            .num_train_epochs = c.epochs > 0 ? c.epochs : 1,
                            .per_device_train_batch_size = c.batch_size > 0 ? c.batch_size : 32,
                            .learning_rate = c.model.empty() ? 1e-3 : 2e-5,
                            .warmup_ratio = 0.1,
                            .seed = c.seed,
                            .multi_dataset_batch_sampler = sbert::multi_dataset_batch_sampler::proportional,
                            .save_strategy = sbert::interval_strategy::no,
                            .logging_steps = 50};
  sbert::multi_dataset_trainer trainer{
      model, args,
      sbert::train_on("nli-pairs", std::move(nli_pairs), sbert::multiple_negatives_ranking_loss{}),
      sbert::train_on("nli-triplets", std::move(nli_triplets), sbert::multiple_negatives_ranking_loss{}),
      sbert::train_on("nli-pair-class", std::move(nli_class),
                      sbert::softmax_loss{{.sentence_embedding_dimension = model->embedding_dimension(), .num_labels = 3}}),
      sbert::train_on("stsb", std::move(stsb), sbert::cosent_loss{}),
      sbert::train_on("mrpc", std::move(mrpc), sbert::multiple_negatives_ranking_loss{})};
  trainer.train();
  const double after = example::stsb_dev_spearman(*model, c, "after");
  std::printf("STSb dev spearman_cosine: %.4f -> %.4f\n", before, after);
  trainer.save_model(c.output + "/final");
  std::printf("saved to %s/final\n", c.output.c_str());
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
