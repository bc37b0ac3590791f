// Retrieval training with mined hard negatives on SciFact (BEIR format): the (query, relevant
// abstract) pairs of the training queries get one hard negative each from
// sbert::mine_hard_negatives (util.mine_hard_negatives: the corpus abstracts the model ranks
// closest to the query, one drawn at random from ranks 11 to 50: the 10 closest are skipped as
// likely unlabelled positives), then CachedMultipleNegativesRankingLoss (GradCache: a large
// batch of in-batch negatives with one mini-batch's activation memory) trains on the
// triplets. An InformationRetrievalEvaluator on held-out queries runs before and after.
//
//   train_scifact [--model DIR] [--epochs N] [--batch-size B] [--max-rows N] [--max-corpus N]
//                 [--output DIR] [--shared DIR]
//
// SciFact's test split is not here: a fifth of the train queries (by a hash of the query id)
// is held out as dev, and their relevant abstracts stay in the corpus. --max-rows caps the
// training pairs and the dev queries, --max-corpus the corpus (the relevant abstracts of the
// chosen queries are always kept). The negatives are mined with the model being trained, before
// training; with the random initialisation that ranks by shared words, much like BM25 negatives.
// (No relative_margin: a random initialisation scores every pair near 1, so a 5 % margin below
// the positive's score would reject every candidate.)
#include "common.hpp"

namespace {
using sbert::columns::anchor;
using sbert::columns::positive;
}  // namespace

int main(int argc, char** argv) try {
  const auto c = example::cli::parse(
      argc, argv, "train_scifact [--model DIR] [--epochs N] [--batch-size B] [--max-rows N] [--max-corpus N] [--output DIR] [--shared DIR]");
  sbert::models::set_threads_from_hardware();
  auto model = example::make_model(c);
  const auto beir = sbert::read_beir(c.shared + "/data/scifact", "train");
  std::map<std::string, std::string> doc_text;
  for (const auto& [id, text] : beir.corpus) doc_text.emplace(id, text);

  // Queries with relevant abstracts, split by id; the training pairs.
  sbert::information_retrieval_evaluator::id_texts dev_queries;
  sbert::information_retrieval_evaluator::relevance dev_relevant;
  sbert::dataset<sbert::schema<anchor, positive>> pairs;
  for (const auto& [qid, text] : beir.queries) {
    const auto rel = beir.relevant.find(qid);
    if (rel == beir.relevant.end()) continue;
    if (example::fnv1a(qid) % 5 == 0) {
      if (c.max_rows > 0 && dev_queries.size() >= static_cast<std::size_t>(c.max_rows)) continue;
      dev_queries.emplace_back(qid, text);
      dev_relevant.emplace(qid, rel->second);
    } else {
      for (const auto& d : rel->second) pairs.push_back(text, doc_text.at(d));
    }
  }
  pairs = pairs.shuffle(c.seed);
  if (c.max_rows > 0) pairs = pairs.take(static_cast<std::size_t>(c.max_rows));

  // The corpus: every relevant abstract of the chosen queries, then the others up to --max-corpus.
  std::set<std::string> keep;
  for (const auto& [q, docs] : dev_relevant) keep.insert(docs.begin(), docs.end());
  std::set<std::string> positives(pairs.column<positive>().begin(), pairs.column<positive>().end());
  sbert::information_retrieval_evaluator::id_texts corpus;
  std::size_t others = 0;
  for (const auto& [id, text] : beir.corpus) {
    const bool needed = keep.count(id) || positives.count(text);
    if (!needed && c.max_corpus > 0 && others >= static_cast<std::size_t>(c.max_corpus)) continue;
    others += needed ? 0 : 1;
    corpus.emplace_back(id, text);
  }
  std::printf("SciFact: %zu training pairs, %zu dev queries, %zu documents\n", pairs.size(), dev_queries.size(), corpus.size());

  sbert::information_retrieval_evaluator dev_evaluator(dev_queries, corpus, dev_relevant, {.batch_size = 64, .name = "scifact-dev", .write_csv = false});
  auto evaluate = [&](const char* when) {
    const auto m = dev_evaluator(*model);
    std::printf("SciFact dev %-7s  cosine_ndcg@10 %.4f  cosine_mrr@10 %.4f  cosine_recall@10 %.4f\n", when, m.at("scifact-dev_cosine_ndcg@10"),
                m.at("scifact-dev_cosine_mrr@10"), m.at("scifact-dev_cosine_recall@10"));
    std::fflush(stdout);
    return m;
  };
  evaluate("before");

  sbert::mine_hard_negatives_options mining;
  for (const auto& [id, text] : corpus) mining.corpus.push_back(text);
  mining.num_negatives = 1;
  mining.range_min = 10;
  mining.range_max = 50;
  mining.sampling_strategy = sbert::negative_sampling::random;
  mining.seed = c.seed;
  mining.batch_size = 64;
  sbert::mine_hard_negatives_report report;
  mining.report = &report;
  auto triplets = sbert::mine_hard_negatives(pairs, *model, mining);
  std::printf("mined: %zu queries, %zu candidates, range %zu..%zu: %zu triplets\n", report.unique_queries, report.corpus_size,
              mining.range_min, report.range_max, triplets.size());
  std::fflush(stdout);

  auto args = example::training_args_for(c, c.output, 3, 64);
  args.batch_sampler = sbert::batch_sampler::no_duplicates;
  const auto mini_batch = std::min<std::int64_t>(16, args.per_device_train_batch_size);
  sbert::trainer trainer{model, args, std::move(triplets), sbert::cached_multiple_negatives_ranking_loss{{}, {.mini_batch_size = mini_batch}}};
  trainer.train();

  const auto after = evaluate("after");
  trainer.record_evaluation(dev_evaluator, after);
  trainer.save_model(c.output + "/final");
  std::printf("saved to %s/final\n", c.output.c_str());
  std::vector<std::string> probe;
  for (const auto& [id, text] : dev_queries) probe.push_back(text);
  return example::check_reload(*model, c.output + "/final", probe) ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
