// The cases of shared/reference/losses.json as tensors and as loss configurations (shared by the
// three loss test files). Every loss is built from what the case records (its class's
// `signature_defaults`, then its `kwargs`, then its `config`), never from values written in a
// test, so the tests hold for any reference set the Python generator makes.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <ATen/ops/allclose.h>

#include <sbert/util/similarity.hpp>

#include "reference_json.hpp"

namespace sbert::test {

/// A case this port deliberately does not mirror (Python's own RNG, a v5.1.2 quirk): the test
/// reports the reason and skips the parity check.
struct not_mirrored : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The last dotted component of a Python name, "()" stripped:
/// "sentence_transformers.util.similarity.cos_sim" -> "cos_sim", "MSELoss()" -> "MSELoss",
/// "SiameseDistanceMetric.EUCLIDEAN" -> "EUCLIDEAN".
inline std::string short_name(std::string_view s) {
  if (s.ends_with("()")) s.remove_suffix(2);
  if (const auto dot = s.rfind('.'); dot != std::string_view::npos) s.remove_prefix(dot + 1);
  return std::string(s);
}

inline double json_number(simdjson::dom::element e) {
  if (e.is_int64()) return static_cast<double>(e.get_int64().value_unsafe());
  if (e.is_uint64()) return static_cast<double>(e.get_uint64().value_unsafe());
  return e.get_double();
}

/// The constructor arguments of one reference loss, resolved the way Python resolved them: the
/// class's `signature_defaults` (from the case, else from any embedding case of that class),
/// then `kwargs`, then `config` (the instance's get_config_dict()). A wrapped loss ("loss":
/// "Name(model, k=v, ...)") is `inner()`.
class loss_params {
 public:
  std::string cls;

  /// `root` is losses.json's root (for the class defaults), `c` one case of either part.
  static loss_params of_case(simdjson::dom::element root, simdjson::dom::element c) {
    loss_params p;
    p.cls = std::string(std::string_view(c["class"].get_string()));
    simdjson::dom::element defaults;
    if (!c["signature_defaults"].get(defaults)) p.add(defaults);
    else p.add_class_defaults(root);
    p.add(c["kwargs"]);
    std::string_view description;
    if (!c["kwargs"]["loss"].get_string().get(description)) p.description_ = std::string(description);
    p.add(c["config"]);
    return p;
  }

  [[nodiscard]] bool has(std::string_view k) const { return text_.contains(k) || json_.contains(k); }
  [[nodiscard]] bool is_null(std::string_view k) const {
    auto it = json_.find(k);
    return !text_.contains(k) && it != json_.end() && it->second.is_null();
  }
  [[nodiscard]] double number(std::string_view k, double fallback) const {
    if (auto t = text_.find(k); t != text_.end()) return std::stod(t->second);
    if (auto j = json_.find(k); j != json_.end() && !j->second.is_null()) return json_number(j->second);
    return fallback;
  }
  template <class Int>
  [[nodiscard]] Int integer(std::string_view k, Int fallback) const {
    return static_cast<Int>(number(k, static_cast<double>(fallback)));
  }
  [[nodiscard]] bool boolean(std::string_view k, bool fallback) const {
    if (auto t = text_.find(k); t != text_.end()) return t->second == "True" || t->second == "true";
    if (auto j = json_.find(k); j != json_.end() && j->second.is_bool()) return j->second.get_bool().value_unsafe();
    return fallback;
  }
  /// A callable or enum member's short name; empty when absent.
  [[nodiscard]] std::string name(std::string_view k) const {
    if (auto t = text_.find(k); t != text_.end()) return short_name(t->second);
    std::string_view s;
    if (auto j = json_.find(k); j != json_.end() && !j->second.get_string().get(s)) return short_name(s);
    return {};
  }
  /// A list of numbers; empty when absent or null.
  [[nodiscard]] std::vector<double> numbers(std::string_view k) const {
    std::vector<double> out;
    auto j = json_.find(k);
    if (j == json_.end() || !j->second.is_array()) return out;
    for (auto x : j->second.get_array()) out.push_back(json_number(x));
    return out;
  }
  [[nodiscard]] std::vector<std::int64_t> integers(std::string_view k) const {
    std::vector<std::int64_t> out;
    for (double d : numbers(k)) out.push_back(static_cast<std::int64_t>(d));
    return out;
  }

  /// The wrapped loss: its class from kwargs' "Name(model, k=v, ...)" description (else
  /// config's "loss"), its class defaults, then the arguments the description lists.
  [[nodiscard]] loss_params inner(simdjson::dom::element root) const {
    loss_params p;
    std::string_view d = description_;
    if (d.empty()) d = name_or_throw("loss");
    const auto open = d.find('(');
    p.cls = std::string(d.substr(0, open));
    p.add_class_defaults(root);
    if (open != std::string_view::npos) {
      const auto close = d.find(')', open);
      if (close == std::string_view::npos) throw std::runtime_error("unbalanced loss description: " + std::string(d));
      std::string_view args = d.substr(open + 1, close - open - 1);
      while (!args.empty()) {
        const auto comma = args.find(',');
        std::string_view a = trim(args.substr(0, comma));
        args = comma == std::string_view::npos ? std::string_view{} : args.substr(comma + 1);
        const auto eq = a.find('=');
        if (eq == std::string_view::npos) continue;  // the positional `model`
        p.text_[std::string(trim(a.substr(0, eq)))] = std::string(trim(a.substr(eq + 1)));
      }
    }
    return p;
  }

 private:
  static std::string_view trim(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
  }
  std::string name_or_throw(std::string_view k) const {
    auto j = json_.find(k);
    std::string_view s;
    if (j == json_.end() || j->second.get_string().get(s)) throw std::runtime_error(cls + ": no wrapped loss recorded");
    return std::string(s);
  }
  void add(simdjson::dom::element obj) {
    if (!obj.is_object()) return;
    for (auto [k, v] : obj.get_object()) json_[std::string(k)] = v;
  }
  void add_class_defaults(simdjson::dom::element root) {
    for (auto c : root["embedding_cases"]["cases"].get_array())
      if (std::string_view(c["class"].get_string()) == cls) {
        add(c["signature_defaults"]);
        return;
      }
  }

  std::map<std::string, simdjson::dom::element, std::less<>> json_;
  std::map<std::string, std::string, std::less<>> text_;
  std::string description_;
};

/// A similarity callable's name (util.cos_sim, util.dot_score, util.pairwise_cos_sim, ...).
inline sbert::similarity_function similarity_of(std::string name) {
  if (name.starts_with("pairwise_")) name.erase(0, 9);
  if (auto f = sbert::parse_similarity_function(name)) return *f;
  if (name.ends_with("_sim")) name.resize(name.size() - 4);
  if (auto f = sbert::parse_similarity_function(name)) return *f;
  throw std::runtime_error("similarity function " + name + " has no sbert counterpart");
}

/// Options {scale, similarity} (MNRL, MNSRL, CoSENT, ...) from a case: sbert's defaults where the
/// case records nothing.
template <class Options>
Options scaled_similarity_options(const loss_params& p) {
  if (p.boolean("gather_across_devices", false)) throw std::runtime_error(p.cls + ": gather_across_devices is not mirrored");
  Options o{};
  o.scale = p.number("scale", o.scale);
  if (const auto s = p.name("similarity_fct"); !s.empty()) o.similarity = similarity_of(s);
  return o;
}

/// Which file checks each embedding-case class (every class of the file must be checked by one).
inline constexpr std::array<std::string_view, 5> core_classes{"MultipleNegativesRankingLoss", "CoSENTLoss", "CosineSimilarityLoss",
                                                              "TripletLoss", "SoftmaxLoss"};
inline constexpr std::array<std::string_view, 13> catalog_classes{
    "MultipleNegativesSymmetricRankingLoss", "AnglELoss", "ContrastiveLoss", "OnlineContrastiveLoss", "BatchAllTripletLoss",
    "BatchHardTripletLoss", "BatchHardSoftMarginTripletLoss", "BatchSemiHardTripletLoss", "MSELoss", "MarginMSELoss",
    "DistillKLDivLoss", "MegaBatchMarginLoss", "MatryoshkaLoss"};

struct embedding_case {
  std::string id;
  std::string cls;
  loss_params params;
  std::vector<at::Tensor> inputs;  // leaves with requires_grad
  at::Tensor labels;               // undefined when the case has none
  double loss = 0;
  std::vector<at::Tensor> grads;
  simdjson::dom::element raw;
};

inline std::vector<embedding_case> embedding_cases(json_file& f) {
  std::vector<embedding_case> out;
  for (auto c : f.root["embedding_cases"]["cases"].get_array()) {
    embedding_case lc;
    lc.id = std::string(std::string_view(c["id"].get_string()));
    lc.cls = std::string(std::string_view(c["class"].get_string()));
    lc.params = loss_params::of_case(f.root, c);
    for (auto t : c["inputs"].get_array()) lc.inputs.push_back(json_tensor(t).set_requires_grad(true));
    if (!c["labels"].is_null()) {
      const std::string_view dt = c["labels_dtype"].get_string();
      lc.labels = json_tensor(c["labels"], dt == "int64" ? at::kLong : at::kFloat);
    }
    lc.loss = c["loss"].get_double();
    for (auto g : c["grads"].get_array()) lc.grads.push_back(json_tensor(g));
    lc.raw = c;
    out.push_back(std::move(lc));
  }
  return out;
}

}  // namespace sbert::test
