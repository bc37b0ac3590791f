// Information-retrieval evaluation on a BEIR-format folder (corpus.jsonl, queries.jsonl,
// qrels/<split>.tsv), as InformationRetrievalEvaluator: accuracy, precision, recall, MRR, NDCG
// and MAP at k for cosine and dot, the corpus encoded in chunks with a running top-k.
//
//   evaluate_ir <model-dir> <beir-dir> [--split train] [--chunk N] [--batch-size N]
//               [--max-queries N] [--max-corpus N] [--output DIR]
//
// Document text is title + " " + text, as BEIR and sentence-transformers' examples build it.
#include "common.hpp"

#include <chrono>

namespace {
constexpr std::string_view usage =
    "usage: evaluate_ir <model-dir> <beir-dir> [--split train] [--chunk N] [--batch-size N] [--max-queries N] "
    "[--max-corpus N] [--output DIR]";
}  // namespace

int main(int argc, char** argv) {
  std::string model_dir, dir, split = "train", output;
  std::int64_t chunk = 50000, batch_size = 32;
  std::size_t max_queries = 0, max_corpus = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "missing value for " << a << '\n' << usage << '\n';
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--split") split = value();
    else if (a == "--chunk") chunk = std::stoll(value());
    else if (a == "--batch-size") batch_size = std::stoll(value());
    else if (a == "--max-queries") max_queries = std::stoul(value());
    else if (a == "--max-corpus") max_corpus = std::stoul(value());
    else if (a == "--output") output = value();
    else if (!a.empty() && a[0] == '-') {
      std::cerr << usage << '\n';
      return 2;
    } else if (model_dir.empty()) model_dir = a;
    else if (dir.empty()) dir = a;
  }
  if (model_dir.empty() || dir.empty()) {
    std::cerr << usage << '\n';
    return 2;
  }
  try {
    const auto t_load = std::chrono::steady_clock::now();
    auto [corpus, queries, rel] = sbert::read_beir(dir, split);
    if (max_corpus && max_corpus < corpus.size()) corpus.resize(max_corpus);
    if (max_queries && max_queries < queries.size()) queries.resize(max_queries);

    auto model = sbert::models::sentence_transformer::load(model_dir);
    sbert::models::set_threads_from_hardware();
    sbert::information_retrieval_evaluator::options o;
    o.corpus_chunk_size = chunk;
    o.batch_size = batch_size;
    o.name = "beir-" + split;
    o.score_functions = {sbert::similarity_function::cosine, sbert::similarity_function::dot};
    o.show_progress_bar = true;
    sbert::information_retrieval_evaluator ev(queries, corpus, rel, o);
    const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();

    const auto t0 = std::chrono::steady_clock::now();
    const auto metrics = ev(*model, output);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%s (%s): %zu queries with relevant documents, %zu documents; model %s\n", dir.c_str(), split.c_str(),
                ev.query_count(), ev.corpus_size(), model_dir.c_str());
    std::printf("load %.1f s, evaluation %.1f s (corpus chunk %lld, batch %lld)\n", load_s, secs, static_cast<long long>(chunk),
                static_cast<long long>(batch_size));
    for (const auto& [k, v] : metrics) std::printf("  %-36s %.4f\n", k.c_str(), v);
    std::printf("primary metric: %s = %.4f\n", ev.primary_metric().c_str(), metrics.at(ev.primary_metric()));
  } catch (const sbert::error& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
}
