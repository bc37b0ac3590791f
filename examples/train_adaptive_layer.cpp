// Adaptive layers, after sentence-transformers' adaptive_layer_nli example: NLI triplets with
// AdaptiveLayerLoss over MultipleNegativesRankingLoss, which also trains the earlier encoder
// layers to give useful embeddings, so the model can be cut to fewer layers for speed. After
// training, the saved model is cut to its first k layers (Python deletes
// auto_model.encoder.layer[k:]; here bert_model::truncate_layers) and STSb dev is evaluated for
// each k.
//
//   train_adaptive_layer [--model DIR] [--layers N] [--epochs N] [--batch-size B] [--max-rows N]
//                        [--output DIR] [--shared DIR]
//
// The random initialisation has 4 layers here (--layers; the other examples' 2 would leave one
// earlier layer to train). A --model must be a BERT-family folder (truncate_layers is BERT's).
#include "common.hpp"

int main(int argc, char** argv) try {
  const auto c = example::cli::parse(argc, argv, "train_adaptive_layer [--model DIR] [--layers N] [--epochs N] [--batch-size B] [--max-rows N] [--output DIR] [--shared DIR]");
  sbert::models::set_threads_from_hardware();
  auto model = example::make_model(c, 4);
  const double before = example::stsb_dev_spearman(*model, c, "before");

  auto train = example::load_nli(c);
  std::printf("AdaptiveLayerLoss over MultipleNegativesRankingLoss on %zu NLI triplets\n", train.size());
  auto args = example::training_args_for(c, c.output, 1, 64);
  args.batch_sampler = sbert::batch_sampler::no_duplicates;
  sbert::trainer trainer{model, args, std::move(train),
                         sbert::adaptive_layer_loss<sbert::multiple_negatives_ranking_loss>{{}, {.seed = c.seed}}};
  trainer.train();
  const double after = example::stsb_dev_spearman(*model, c, "after");
  std::printf("STSb dev spearman_cosine: %.4f -> %.4f\n", before, after);
  trainer.save_model(c.output + "/final");
  std::printf("saved to %s/final\n", c.output.c_str());
  const auto stsb_dev = example::load_stsb(c, "dev");
  if (!example::check_reload(*model, c.output + "/final", stsb_dev.column<example::sentence1>())) return 1;

  // The first k layers of the trained model, each from a fresh load of the saved folder.
  auto bert_of = [](sbert::models::sentence_transformer& m) {
    auto b = std::dynamic_pointer_cast<sbert::models::bert_model>(m.first_transformer().auto_model);
    if (!b) throw sbert::error("train_adaptive_layer: layer truncation needs a BERT-family encoder");
    return b;
  };
  const auto layers = bert_of(*model)->config().num_hidden_layers;
  std::printf("STSb dev spearman_cosine with the first k layers\n  %-6s  %s\n", "layers", "spearman_cosine");
  for (auto k = layers; k >= 1; --k) {
    auto cut = sbert::models::sentence_transformer::load(c.output + "/final");
    bert_of(*cut)->truncate_layers(k);
    sbert::embedding_similarity_evaluator dev(stsb_dev, {.batch_size = 64, .name = "sts-dev", .write_csv = false});
    std::printf("  %-6lld  %.4f\n", static_cast<long long>(k), dev(*cut).at("sts-dev_spearman_cosine"));
  }
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
