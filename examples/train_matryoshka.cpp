// Matryoshka embeddings, after sentence-transformers' matryoshka_nli example: NLI triplets with
// MatryoshkaLoss over MultipleNegativesRankingLoss, so the first d dimensions of an embedding
// work on their own. STSb dev is evaluated at each dimension (an EmbeddingSimilarityEvaluator
// with truncate_dim per dimension, named sts-dev-<d>, in a SequentialEvaluator) before and after
// training; the table of Spearman against dimension is printed and goes into the model card's
// metrics table, one column per dimension.
//
//   train_matryoshka [--model DIR] [--epochs N] [--batch-size B] [--max-rows N] [--output DIR] [--shared DIR]
//
// The dimensions are the embedding size and its halves down to a sixteenth (128 ... 8 for the
// random-initialised small BERT; 768 ... 48 for a base model; Python's uses 768 ... 64).
#include "common.hpp"

int main(int argc, char** argv) try {
  const auto c = example::cli::parse(argc, argv, "train_matryoshka [--model DIR] [--epochs N] [--batch-size B] [--max-rows N] [--output DIR] [--shared DIR]");
  sbert::models::set_threads_from_hardware();
  auto model = example::make_model(c);
  const std::int64_t full = model->embedding_dimension();
  std::vector<std::int64_t> dims;
  for (std::int64_t d = full; d >= full / 16 && d > 0; d /= 2) dims.push_back(d);

  std::vector<std::shared_ptr<sbert::evaluator>> per_dim;
  const auto stsb_dev = example::load_stsb(c, "dev");
  for (auto d : dims)
    per_dim.push_back(std::make_shared<sbert::embedding_similarity_evaluator>(
        stsb_dev, sbert::embedding_similarity_evaluator::options{.batch_size = 64, .name = "sts-dev-" + std::to_string(d), .write_csv = false, .truncate_dim = d}));
  sbert::sequential_evaluator dev_evaluator(per_dim, sbert::sequential_evaluator::mean);
  const auto before = dev_evaluator(*model);

  auto train = example::load_nli(c);
  std::printf("MatryoshkaLoss over MultipleNegativesRankingLoss on %zu NLI triplets, dims", train.size());
  for (auto d : dims) std::printf(" %lld", static_cast<long long>(d));
  std::printf("\n");
  auto args = example::training_args_for(c, c.output, 2, 64);
  args.batch_sampler = sbert::batch_sampler::no_duplicates;
  sbert::trainer trainer{model, args, std::move(train),
                         sbert::matryoshka_loss<sbert::multiple_negatives_ranking_loss>{{}, {.dims = dims}}};
  trainer.train();

  const auto after = dev_evaluator(*model);
  std::printf("STSb dev spearman_cosine by dimension\n  %-5s  %-7s  %-7s\n", "dim", "before", "after");
  for (auto d : dims) {
    const auto key = "sts-dev-" + std::to_string(d) + "_spearman_cosine";
    std::printf("  %-5lld  %.4f   %.4f\n", static_cast<long long>(d), before.at(key), after.at(key));
  }
  std::printf("mean over dimensions: %.4f -> %.4f\n", before.at("sequential_score"), after.at("sequential_score"));
  trainer.record_evaluation(dev_evaluator, after);  // the card: one column per sts-dev-<d>
  trainer.save_model(c.output + "/final");
  std::printf("saved to %s/final\n", c.output.c_str());
  return example::check_reload(*model, c.output + "/final", stsb_dev.column<example::sentence1>()) ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
