// SPDX-License-Identifier: Apache-2.0
// The evaluator interface (Python's SentenceEvaluator): call it with a model, get a map of
// metrics whose keys carry the "{name}_" prefix, and optionally a CSV row appended under
// output_path. Runtime-polymorphic so a trainer can hold any list of evaluators; each concrete
// evaluator still checks its data set's schema at compile time in its typed constructor.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <ATen/TensorOperators.h>
#include <ATen/ops/from_blob.h>

#include <sbert/concepts.hpp>
#include <sbert/data/dataset.hpp>
#include <sbert/error.hpp>
#include <sbert/evaluation/detail/metrics.hpp>
#include <sbert/models/sentence_transformer.hpp>
#include <sbert/util/similarity.hpp>

namespace sbert {

/// Metric name -> value, keys already prefixed with the evaluator's name.
using metric_map = std::map<std::string, double>;

class evaluator {
 public:
  virtual ~evaluator() = default;

  /// Scores `model`. A non-empty output_path appends one CSV row (header first if the file is
  /// new) to output_path/csv_file(); epoch and steps fill its first two columns.
  virtual metric_map operator()(models::sentence_transformer& model, const std::string& output_path = "", int epoch = -1,
                                int steps = -1) = 0;

  /// The key a trainer compares checkpoints by, with the name prefix (Python's primary_metric
  /// after a call; some depend on the model, so the value is final once the evaluator has run).
  [[nodiscard]] virtual std::string primary_metric() const { return prefixed(primary_); }
  [[nodiscard]] virtual std::string name() const { return name_; }
  [[nodiscard]] virtual bool greater_is_better() const { return true; }

  /// The model card's names: the Python class (e.g. "MSEEvaluator") and Python's
  /// evaluator.description (e.g. "Knowledge Distillation", the card's heading). Every library
  /// evaluator declares them as `static constexpr std::string_view class_name, description`;
  /// empty here: a subclass of your own, which the card names from its C++ type.
  [[nodiscard]] virtual std::string_view card_class_name() const { return {}; }
  [[nodiscard]] virtual std::string_view card_description() const { return {}; }
  /// Evaluators whose metrics this one merges (SequentialEvaluator's): the card lists those
  /// instead of this one, as Python's does.
  [[nodiscard]] virtual std::vector<std::shared_ptr<evaluator>> sub_evaluators() const { return {}; }

  /// "{name}_{key}", or key alone when the name is empty (prefix_name_to_metrics).
  [[nodiscard]] std::string prefixed(const std::string& key) const { return name_.empty() ? key : name_ + "_" + key; }

 protected:
  explicit evaluator(std::string name = {}) : name_(std::move(name)) {}
  [[nodiscard]] metric_map prefix_all(const std::vector<std::pair<std::string, double>>& m) const {
    metric_map out;
    for (const auto& [k, v] : m) out.emplace(prefixed(k), v);
    return out;
  }

  std::string name_;
  std::string primary_;  // without the prefix
};

namespace detail {

/// The schema index of the label column (the first non-input column); column_count if none.
template <class S>
struct label_index_of;
template <class... Cs>
struct label_index_of<schema<Cs...>> {
  static constexpr std::size_t value = [] {
    constexpr std::array<bool, sizeof...(Cs)> in{Cs::is_input...};
    for (std::size_t i = 0; i < in.size(); ++i)
      if (!in[i]) return i;
    return sizeof...(Cs);
  }();
};

/// The K-th input column of a data set (text or text-list), in schema order.
template <std::size_t K, Schema S>
[[nodiscard]] const auto& input_column(const dataset<S>& d) {
  return std::get<S::input_indices[K]>(d.columns());
}
template <Schema S>
[[nodiscard]] const auto& label_column(const dataset<S>& d) {
  return std::get<label_index_of<S>::value>(d.columns());
}

/// A 1-d tensor as host values.
template <class T>
[[nodiscard]] std::vector<T> to_vector(const at::Tensor& t) {
  const auto c = t.detach().to(at::kCPU).to(c10::CppTypeToScalarType<T>::value).contiguous().reshape({-1});
  const T* p = c.template data_ptr<T>();
  return std::vector<T>(p, p + c.numel());
}

/// Which of encode / encode_query / encode_document Python calls: the query and document roles
/// use the model's "query" / "document" prompt when it has one and none was given.
enum class encode_role { plain, query, document };

struct eval_encode {
  std::int64_t batch_size = 32;
  bool show_progress_bar = false;
  std::optional<std::int64_t> truncate_dim;
  std::optional<std::string> prompt;
  std::optional<std::string> prompt_name;
};

/// Built field by field (designated initialisers that skip fields warn under GCC 12's -Wextra).
[[nodiscard]] inline eval_encode make_encode(std::int64_t batch_size, bool show_progress_bar, std::optional<std::int64_t> truncate_dim,
                                             std::optional<std::string> prompt = {}, std::optional<std::string> prompt_name = {}) {
  eval_encode e;
  e.batch_size = batch_size;
  e.show_progress_bar = show_progress_bar;
  e.truncate_dim = truncate_dim;
  e.prompt = std::move(prompt);
  e.prompt_name = std::move(prompt_name);
  return e;
}

[[nodiscard]] inline at::Tensor encode_for_eval(models::sentence_transformer& m, std::span<const std::string> texts,
                                                const eval_encode& e, encode_role role = encode_role::plain) {
  models::encode_options o;
  o.batch_size = e.batch_size;
  o.show_progress_bar = e.show_progress_bar;
  o.truncate_dim = e.truncate_dim;
  o.prompt = e.prompt;
  o.prompt_name = e.prompt_name;
  if (role != encode_role::plain && !o.prompt && !o.prompt_name) {
    const char* key = role == encode_role::query ? "query" : "document";
    for (const auto& [k, v] : m.prompts)
      if (k == key) o.prompt_name = k;
  }
  return m.encode(texts, o).to(at::kFloat);
}

/// The similarity functions an evaluator runs: the ones asked for, else the model's own.
[[nodiscard]] inline std::vector<similarity_function> functions_or_models(const std::vector<similarity_function>& asked,
                                                                          const models::sentence_transformer& m) {
  return asked.empty() ? std::vector<similarity_function>{m.similarity_fn} : asked;
}

inline void check_same_length(std::size_t a, std::size_t b, const char* what) {
  if (a != b)
    throw error(std::string(what) + ": the columns have different lengths (" + std::to_string(a) + " and " +
                std::to_string(b) + ")");
}

}  // namespace detail
}  // namespace sbert
