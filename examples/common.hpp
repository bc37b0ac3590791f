// Shared by the training examples: the bundled data sets as typed schemas, a model (random
// initialisation, or any local sentence-transformers / Hugging Face folder), and STSb dev
// evaluation.
#pragma once
#include <sbert/sbert.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace example {

struct sentence1 : sbert::text_column<"sentence1"> {};
struct sentence2 : sbert::text_column<"sentence2"> {};
struct score : sbert::score_column<"score"> {};
using sts_pairs = sbert::schema<sentence1, sentence2, score>;
using nli_triplets = sbert::schema<sbert::columns::anchor, sbert::columns::positive, sbert::columns::negative>;

struct cli {
  std::string shared = SBERT_SHARED_DIR;
  std::string model;  // empty: random initialisation
  std::string output = "out/model";
  double epochs = 0;  // 0: the example's default
  std::int64_t batch_size = 0;
  std::int64_t max_rows = 0;  // 0: all
  std::int64_t max_corpus = 0;  // retrieval examples: distractor documents (0: the whole corpus)
  std::int64_t layers = 0;  // encoder layers of the random initialisation (0: the example's default)
  std::uint64_t seed = 42;

  static cli parse(int argc, char** argv, std::string_view usage) {
    cli c;
    for (int i = 1; i < argc; ++i) {
      const std::string_view a = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) {
          std::cerr << "missing value for " << a << "\n" << usage << '\n';
          std::exit(2);
        }
        return argv[++i];
      };
      if (a == "--shared") c.shared = value();
      else if (a == "--model") c.model = value();
      else if (a == "--output") c.output = value();
      else if (a == "--epochs") c.epochs = std::stod(value());
      else if (a == "--batch-size") c.batch_size = std::stoll(value());
      else if (a == "--max-rows") c.max_rows = std::stoll(value());
      else if (a == "--max-corpus") c.max_corpus = std::stoll(value());
      else if (a == "--layers") c.layers = std::stoll(value());
      else if (a == "--seed") c.seed = std::stoull(value());
      else {
        std::cerr << "unknown argument " << a << "\n" << usage << '\n';
        std::exit(2);
      }
    }
    return c;
  }
};

/// A randomly initialised BERT of the given size (bert-base-uncased vocabulary), seeded by
/// --seed; make_model's default is hidden 128, 2 layers.
inline std::shared_ptr<sbert::models::sentence_transformer> make_bert(const cli& c, std::int64_t hidden, std::int64_t layers,
                                                                      std::string_view pooling = "mean") {
  at::manual_seed(c.seed);
  sbert::models::bert_config cfg;
  cfg.hidden_size = hidden;
  cfg.num_hidden_layers = layers;
  cfg.num_attention_heads = hidden / 64;
  cfg.intermediate_size = 4 * hidden;
  auto encoder = std::make_shared<sbert::models::bert_model>(cfg);
  auto tokenizer = std::make_shared<sbert::models::wordpiece_tokenizer>(
      sbert::models::load_wordpiece(c.shared + "/models/bert-base-uncased"));
  auto t = std::make_shared<sbert::models::transformer>(encoder, tokenizer, sbert::models::transformer_options{.max_seq_length = 64});
  return sbert::models::sentence_transformer::from_parts(t, pooling);
}

/// A small BERT (hidden 128, 2 layers or --layers) with the bert-base-uncased vocabulary and mean pooling,
/// randomly initialised (no pretrained weights exist offline), or the model in `dir`.
inline std::shared_ptr<sbert::models::sentence_transformer> make_model(const cli& c, std::int64_t default_layers = 2) {
  if (!c.model.empty()) return sbert::models::sentence_transformer::load(c.model);
  return make_bert(c, 128, c.layers > 0 ? c.layers : default_layers);
}

inline sbert::read_options stsb_layout() {
  sbert::read_options o;
  o.header = false;
  o.positions = {{"score", 4}, {"sentence1", 5}, {"sentence2", 6}};
  o.extra_fields = sbert::extra_fields::ignore;  // some rows carry two licence fields
  return o;
}

/// STSb with scores scaled from [0, 5] to [0, 1].
inline sbert::dataset<sts_pairs> load_stsb(const cli& c, const std::string& split) {
  auto d = sbert::read_tsv<sts_pairs>(c.shared + "/data/stsbenchmark/sts-" + split + ".csv", stsb_layout())
               .map_column<score>([](float s) { return s / 5.0f; });
  return c.max_rows > 0 ? d.take(static_cast<std::size_t>(c.max_rows)) : d;
}

inline sbert::dataset<nli_triplets> load_nli(const cli& c) {
  auto d = sbert::read_tsv<nli_triplets>(c.shared + "/data/nli/nli_dev_triplets.tsv").shuffle(c.seed);
  return c.max_rows > 0 ? d.take(static_cast<std::size_t>(c.max_rows)) : d;
}

inline double stsb_dev_spearman(sbert::models::sentence_transformer& model, const cli& c, const char* when) {
  sbert::embedding_similarity_evaluator dev(load_stsb(c, "dev"), {.batch_size = 64, .name = "sts-dev", .write_csv = false});
  const auto m = dev(model);
  const double s = m.at("sts-dev_spearman_cosine");
  std::printf("STSb dev %-7s  spearman_cosine %.4f  pearson_cosine %.4f\n", when, s, m.at("sts-dev_pearson_cosine"));
  std::fflush(stdout);
  return s;
}

/// FNV-1a of a text: the same on every platform, so a split by key (premise, sentence id,
/// query id) is the same everywhere and never puts one key in two splits.
inline std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : s) h = (h ^ ch) * 1099511628211ull;
  return h;
}

/// The training arguments the examples share: --epochs / --batch-size over the example's
/// defaults, a learning rate for a random initialisation (1e-3) or a pretrained --model (2e-5),
/// 10 % warm-up, no checkpoints.
inline sbert::training_args training_args_for(const cli& c, const std::string& output_dir, double epochs, std::int64_t batch_size) {
  sbert::training_args a;
  a.output_dir = output_dir;
  a.num_train_epochs = c.epochs > 0 ? c.epochs : epochs;
  a.per_device_train_batch_size = c.batch_size > 0 ? c.batch_size : batch_size;
  a.learning_rate = c.model.empty() ? 1e-3 : 2e-5;
  a.warmup_ratio = 0.1;
  a.seed = c.seed;
  a.save_strategy = sbert::interval_strategy::no;
  a.logging_steps = 50;
  return a;
}

/// Prints an evaluator's metrics, one per line ("  <when> <key> <value>").
inline void print_metrics(const std::map<std::string, double>& m, const char* when) {
  for (const auto& [k, v] : m) std::printf("  %-7s %-44s %.4f\n", when, k.c_str(), v);
  std::fflush(stdout);
}

/// Reloads the saved folder (the layout Python's SentenceTransformer(path) loads) and checks
/// that it encodes the first 16 of `sample` as the in-memory model does. False (and a message)
/// when not.
inline bool check_reload(sbert::models::sentence_transformer& model, const std::string& dir, const std::vector<std::string>& sample) {
  const std::vector<std::string> texts(sample.begin(), sample.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(16, sample.size())));
  auto back = sbert::models::sentence_transformer::load(dir, model.device());
  const auto a = model.encode(texts);
  const auto b = back->encode(texts);
  const double diff = a.sizes() == b.sizes() ? (a - b).abs().max().item<double>() : std::numeric_limits<double>::infinity();
  const bool same = diff <= 1e-5;
  std::printf("reloaded %s: %s embeddings (dim %lld, max |diff| %.2g over %zu texts)\n", dir.c_str(), same ? "same" : "DIFFERENT",
              static_cast<long long>(b.size(-1)), diff, texts.size());
  std::fflush(stdout);
  return same;
}

}  // namespace example

// ---- Distillation, multilingual and unsupervised examples ----------------------------------

namespace example {

/// Removes `--name VALUE` from argv (so cli::parse sees only its own options) and returns VALUE,
/// or `fallback` when absent.
inline std::string take_option(int& argc, char** argv, std::string_view name, std::string fallback = {}) {
  for (int i = 1; i < argc; ++i) {
    if (argv[i] != name) continue;
    if (i + 1 >= argc) {
      std::cerr << "missing value for " << name << '\n';
      std::exit(2);
    }
    std::string v = argv[i + 1];
    for (int j = i; j + 2 < argc; ++j) argv[j] = argv[j + 2];
    argc -= 2;
    return v;
  }
  return fallback;
}

/// The distinct sentences of STSb train (both columns, first-seen order), as the unsupervised
/// and distillation recipes use them: text without labels.
inline std::vector<std::string> stsb_train_sentences(const cli& c) {
  const auto d = load_stsb(c, "train");
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  for (const auto* col : {&d.column<sentence1>(), &d.column<sentence2>()})
    for (const auto& s : *col)
      if (seen.insert(s).second) out.push_back(s);
  return out;
}

/// The teacher for the distillation and multilingual examples when the user names none: no
/// pretrained model exists offline, so a BERT of the given size is trained on NLI triplets with
/// MultipleNegativesRankingLoss (`epochs` over --max-rows rows) and saved to `dir`.
inline std::shared_ptr<sbert::models::sentence_transformer> train_teacher(const cli& c, std::int64_t hidden, std::int64_t layers,
                                                                          double epochs, const std::string& dir) {
  auto teacher = make_bert(c, hidden, layers);
  auto nli = load_nli(c);
  std::printf("teacher: BERT hidden %lld, %lld layers (random init), trained on %zu NLI triplets with MNRL\n",
              static_cast<long long>(hidden), static_cast<long long>(layers), nli.size());
  std::fflush(stdout);
  sbert::training_args args{.output_dir = dir,
                            .num_train_epochs = epochs,
                            .per_device_train_batch_size = c.batch_size > 0 ? c.batch_size : 32,
                            .learning_rate = 1e-3,
                            .warmup_ratio = 0.1,
                            .seed = c.seed,
                            .batch_sampler = sbert::batch_sampler::no_duplicates,
                            .save_strategy = sbert::interval_strategy::no,
                            .logging_steps = 100};
  sbert::trainer trainer{teacher, args, std::move(nli), sbert::multiple_negatives_ranking_loss{}};
  trainer.train();
  trainer.save_model(dir);
  return teacher;
}

}  // namespace example
