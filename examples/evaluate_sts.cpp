// Score any saved model folder on any STS-format file: Pearson and Spearman correlation
// between the gold scores and the embedding similarities (EmbeddingSimilarityEvaluator).
//
//   evaluate_sts <model-dir> <file> [--sts-csv] [--all-functions] [--batch-size N]
//                [--name NAME] [--output DIR]
//
// <file> is a TSV with a header naming the columns sentence1, sentence2 and score (other
// columns are ignored), or, with --sts-csv, the headerless STS Benchmark layout
// (genre, file, year, id, score, sentence1, sentence2[, licence columns]) of sts-*.csv.
// Scores need no scaling: correlations do not change under it.
#include <sbert/data.hpp>
#include <sbert/evaluation/embedding_similarity.hpp>
#include <sbert/models/sentence_transformer.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>

namespace {
struct sentence1 : sbert::text_column<"sentence1"> {};
struct sentence2 : sbert::text_column<"sentence2"> {};
struct score : sbert::score_column<"score"> {};
using sts_pairs = sbert::schema<sentence1, sentence2, score>;

constexpr std::string_view usage =
    "usage: evaluate_sts <model-dir> <file> [--sts-csv] [--all-functions] [--batch-size N] [--name NAME] [--output DIR]";
}  // namespace

int main(int argc, char** argv) {
  std::string model_dir, file, name, output;
  bool sts_csv = false, all_functions = false;
  std::int64_t batch_size = 16;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "missing value for " << a << '\n' << usage << '\n';
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--sts-csv") sts_csv = true;
    else if (a == "--all-functions") all_functions = true;
    else if (a == "--batch-size") batch_size = std::stoll(value());
    else if (a == "--name") name = value();
    else if (a == "--output") output = value();
    else if (a == "-h" || a == "--help") {
      std::cout << usage << '\n';
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      std::cerr << "unknown option " << a << '\n' << usage << '\n';
      return 2;
    } else if (model_dir.empty()) model_dir = a;
    else if (file.empty()) file = a;
    else {
      std::cerr << usage << '\n';
      return 2;
    }
  }
  if (model_dir.empty() || file.empty()) {
    std::cerr << usage << '\n';
    return 2;
  }
  try {
    sbert::read_options o;
    if (sts_csv) {
      o.header = false;
      o.positions = {{"score", 4}, {"sentence1", 5}, {"sentence2", 6}};
    }
    o.extra_fields = sbert::extra_fields::ignore;
    const auto data = sbert::read_tsv<sts_pairs>(file, o);
    auto model = sbert::models::sentence_transformer::load(model_dir);
    sbert::models::set_threads_from_hardware();

    sbert::embedding_similarity_evaluator::options eo;
    eo.batch_size = batch_size;
    eo.name = name;
    if (all_functions)
      eo.similarity_fn_names = {sbert::similarity_function::cosine, sbert::similarity_function::dot,
                                sbert::similarity_function::euclidean, sbert::similarity_function::manhattan};
    sbert::embedding_similarity_evaluator ev(data, eo);
    const auto t0 = std::chrono::steady_clock::now();
    const auto metrics = ev(*model, output);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%s: %zu pairs, model %s, %.1f s\n", file.c_str(), data.size(), model_dir.c_str(), secs);
    for (const auto& [k, v] : metrics) std::printf("  %-32s %.6f\n", k.c_str(), v);
    std::printf("primary metric: %s = %.6f\n", ev.primary_metric().c_str(), metrics.at(ev.primary_metric()));
    if (!output.empty()) std::printf("CSV: %s/%s\n", output.c_str(), ev.csv_file().c_str());
  } catch (const sbert::error& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
}
