// Information-retrieval evaluation on a BEIR-format folder (corpus.jsonl, queries.jsonl,
// qrels/<split>.tsv), as InformationRetrievalEvaluator: accuracy, precision, recall, MRR, NDCG
// and MAP at k for cosine and dot, the corpus encoded in chunks with a running top-k.
//
//   evaluate_ir <model-dir> <beir-dir> [--split train] [--chunk N] [--batch-size N]
//               [--max-queries N] [--max-corpus N] [--output DIR]
//
// Document text is title + " " + text, as BEIR and sentence-transformers' examples build it.
#include <sbert/data.hpp>
#include <sbert/evaluation/information_retrieval.hpp>
#include <sbert/models/sentence_transformer.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>

namespace {
struct id : sbert::text_column<"_id"> {};
struct title : sbert::text_column<"title"> {};
struct text : sbert::text_column<"text"> {};
struct query_id : sbert::text_column<"query-id"> {};
struct corpus_id : sbert::text_column<"corpus-id"> {};
struct relevance : sbert::score_column<"score"> {};
using corpus_rows = sbert::schema<id, title, text>;
using query_rows = sbert::schema<id, text>;
using qrel_rows = sbert::schema<query_id, corpus_id, relevance>;

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
    auto corpus_data = sbert::read_jsonl<corpus_rows>(dir + "/corpus.jsonl");
    auto query_data = sbert::read_jsonl<query_rows>(dir + "/queries.jsonl");
    const auto qrels = sbert::read_tsv<qrel_rows>(dir + "/qrels/" + split + ".tsv");
    if (max_corpus) corpus_data = corpus_data.take(max_corpus);
    if (max_queries) query_data = query_data.take(max_queries);

    sbert::information_retrieval_evaluator::id_texts corpus, queries;
    for (std::size_t i = 0; i < corpus_data.size(); ++i)
      corpus.emplace_back(corpus_data[i].get<id>(), corpus_data[i].get<title>() + " " + corpus_data[i].get<text>());
    for (std::size_t i = 0; i < query_data.size(); ++i) queries.emplace_back(query_data[i].get<id>(), query_data[i].get<text>());
    sbert::information_retrieval_evaluator::relevance rel;
    for (std::size_t i = 0; i < qrels.size(); ++i)
      if (qrels[i].get<relevance>() > 0) rel[qrels[i].get<query_id>()].insert(qrels[i].get<corpus_id>());

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
