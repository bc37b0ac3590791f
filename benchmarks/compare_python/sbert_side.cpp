// The sbert side of benchmarks/compare_python (see run.sh there): the workloads python_side.py
// runs through sentence-transformers, on the same weights and the same texts, timed the same way.
//
//   compare_python_sbert <shared-dir> <work-dir> <out.json> [--quick]
//
// It writes what both sides use into <work-dir>: the texts (plain TSV, so Python reads exactly
// these rows) and a BERT-base-sized random model in the sentence-transformers folder format
// (Python loads it with SentenceTransformer(path)); the tiny model is shared/reference's.
// Workloads: encode() of real STSb text (variable length, sorted by length as Python does,
// after a warm-up over all lengths); the trainer with MNRL on NLI triplets (tiny and BERT-base
// shape) and with CoSENT on STSb pairs (samples/s, the first step excluded); the IR evaluator on
// SciFact (seconds). fp32 on the model's device; threads from the hardware.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <sbert/io/json_writer.hpp>
#include <sbert/losses/cosent.hpp>
#include <sbert/losses/multiple_negatives_ranking.hpp>
#include <sbert/models/bert.hpp>
#include <sbert/models/tokenizers/wordpiece.hpp>
#include <sbert/training/trainer.hpp>

#include "common.hpp"  // examples/: the bundled data sets' schemas and loaders

namespace fs = std::filesystem;
namespace {
using clock_type = std::chrono::steady_clock;
double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// Tabs and newlines never occur in these texts' fields after this, so one row is one line.
std::string clean(std::string s) {
  for (auto& c : s)
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  return s;
}

std::shared_ptr<sbert::models::sentence_transformer> random_base(const std::string& shared) {
  at::manual_seed(0);
  sbert::models::bert_config cfg;  // BERT-base sizes are the defaults
  auto enc = std::make_shared<sbert::models::bert_model>(cfg);
  auto tok = std::make_shared<sbert::models::wordpiece_tokenizer>(
      sbert::models::load_wordpiece(shared + "/models/bert-base-uncased"));
  auto t = std::make_shared<sbert::models::transformer>(enc, tok, sbert::models::transformer_options{.max_seq_length = 128});
  return sbert::models::sentence_transformer::from_parts(t, "mean");
}

double encode_rate(sbert::models::sentence_transformer& m, const std::vector<std::string>& texts) {
  const sbert::models::encode_options o{.batch_size = 64, .show_progress_bar = false};
  (void)m.encode(texts, o);  // warm-up over every length (allocator, kernels, thread pool)
  const auto t0 = clock_type::now();
  (void)m.encode(texts, o);
  return static_cast<double>(texts.size()) / seconds_since(t0);
}

template <class S, class Loss>
double train_rate(std::shared_ptr<sbert::models::sentence_transformer> m, const sbert::dataset<S>& data, Loss loss,
                  std::int64_t steps, std::int64_t bs, const fs::path& out) {
  sbert::training_args args{.output_dir = out.string(),
                            .max_steps = steps + 1,
                            .per_device_train_batch_size = bs,
                            .learning_rate = 1e-5,
                            .save_strategy = sbert::interval_strategy::no,
                            .logging_steps = 1000,
                            .report_to = {"none"},
                            .disable_progress_bar = true};
  sbert::trainer trainer{m, args, data, loss};
  clock_type::time_point t0;
  trainer.add_callback({.on_step_end = [&](sbert::train_state& s) {
    if (s.global_step == 1) t0 = clock_type::now();  // the first step warms up, as on the Python side
  }});
  trainer.train();
  return static_cast<double>(steps * bs) / seconds_since(t0);
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: compare_python_sbert <shared-dir> <work-dir> <out.json> [--quick]\n");
    return 2;
  }
  const std::string shared = argv[1];
  const fs::path work = argv[2];
  const std::string out_json = argv[3];
  const bool quick = argc > 4 && std::string(argv[4]) == "--quick";
  fs::create_directories(work / "texts");
  sbert::models::set_threads_from_hardware();
  const auto blas = sbert::select_blas_kernel();
  const auto device = sbert::models::default_device();

  // ---- the texts both sides use ----
  example::cli data;
  data.shared = shared;
  using example::sentence1, example::sentence2, example::score;
  const auto dev = example::load_stsb(data, "dev");
  std::vector<std::string> sentences;
  for (std::size_t i = 0; i < dev.size(); ++i) {
    sentences.push_back(clean(dev.column<sentence1>()[i]));
    sentences.push_back(clean(dev.column<sentence2>()[i]));
  }
  if (quick) sentences.resize(256);
  const auto nli = example::load_nli(data);
  const auto stsb = example::load_stsb(data, "train");
  {
    std::ofstream f(work / "texts" / "sentences.txt");
    for (const auto& s : sentences) f << s << '\n';
    std::ofstream n(work / "texts" / "nli_triplets.tsv");
    for (std::size_t i = 0; i < nli.size(); ++i)
      n << clean(nli.column<sbert::columns::anchor>()[i]) << '\t' << clean(nli.column<sbert::columns::positive>()[i]) << '\t'
        << clean(nli.column<sbert::columns::negative>()[i]) << '\n';
    std::ofstream p(work / "texts" / "stsb_pairs.tsv");
    for (std::size_t i = 0; i < stsb.size(); ++i)
      p << clean(stsb.column<sentence1>()[i]) << '\t' << clean(stsb.column<sentence2>()[i]) << '\t' << stsb.column<score>()[i] << '\n';
  }
  // SciFact: every query with train qrels, its relevant documents plus distractors up to the size.
  const auto beir = sbert::read_beir(shared + "/data/scifact", "train");
  const std::size_t corpus_size = quick ? 300 : 2000;
  const auto& rel = beir.relevant;
  std::set<std::string> relevant_docs;
  for (const auto& [q, docs] : rel) relevant_docs.insert(docs.begin(), docs.end());
  sbert::information_retrieval_evaluator::id_texts queries, corpus;
  for (const auto& [qid, text] : beir.queries)
    if (rel.contains(qid)) queries.emplace_back(qid, clean(text));
  for (const auto& [did, text] : beir.corpus)
    if (relevant_docs.contains(did) || corpus.size() < corpus_size) corpus.emplace_back(did, clean(text));
  if (quick) queries.resize(std::min<std::size_t>(queries.size(), 50));
  {
    std::ofstream q(work / "texts" / "ir_queries.tsv");
    for (const auto& [k, v] : queries) q << k << '\t' << v << '\n';
    std::ofstream c(work / "texts" / "ir_corpus.tsv");
    for (const auto& [k, v] : corpus) c << k << '\t' << v << '\n';
    std::ofstream r(work / "texts" / "ir_qrels.tsv");
    for (const auto& [k, docs] : rel)
      for (const auto& d : docs) r << k << '\t' << d << '\n';
  }

  // ---- the models both sides load ----
  const std::string tiny_dir = shared + "/reference/tiny-bert-st";
  const std::string base_dir = (work / "bert-base-random").string();
  random_base(shared)->save(base_dir);
  auto load = [&](const std::string& dir) {
    auto m = sbert::models::sentence_transformer::load(dir);
    m->to(device);
    return m;
  };

  auto j = sbert::json::value::make_object();
  j.set("side", "sbert");
  j.set("device", device.str());
  j.set("threads", at::get_num_threads());
  j.set("blas", blas.describe());
  j.set("n_sentences", sentences.size());
  auto report = [&](const std::string& k, double v, const char* unit) {
    j.set(k, v);
    std::printf("sbert %-28s %10.2f %s\n", k.c_str(), v, unit);
    std::fflush(stdout);
  };
  report("encode_tiny", encode_rate(*load(tiny_dir), sentences), "sentences/s");
  report("encode_base", encode_rate(*load(base_dir), quick ? std::vector<std::string>(sentences.begin(), sentences.begin() + 64) : sentences),
         "sentences/s");
  const auto tmp = work / "trainer_out";
  report("train_mnrl_tiny", train_rate(load(tiny_dir), nli, sbert::multiple_negatives_ranking_loss{}, quick ? 3 : 30, 32, tmp),
         "samples/s");
  report("train_mnrl_base", train_rate(load(base_dir), nli, sbert::multiple_negatives_ranking_loss{}, quick ? 1 : 4, 16, tmp),
         "samples/s");
  report("train_cosent_tiny", train_rate(load(tiny_dir), stsb, sbert::cosent_loss{}, quick ? 3 : 30, 32, tmp), "samples/s");
  {
    sbert::information_retrieval_evaluator ir(queries, corpus, rel, {.batch_size = 64, .name = "scifact", .write_csv = false});
    auto m = load(tiny_dir);
    const auto t0 = clock_type::now();
    const auto metrics = ir(*m);
    report("ir_tiny_seconds", seconds_since(t0), "s");
    j.set("ir_tiny_ndcg10", metrics.at("scifact_cosine_ndcg@10"));
  }
  j.set("settings", sbert::json::value::make_object().set("encode_batch", 64).set("max_seq_length", 128).set("quick", quick));
  std::ofstream(out_json) << sbert::json::dump(j) << '\n';
  std::printf("wrote %s (%s)\n", out_json.c_str(), blas.describe().c_str());
}
