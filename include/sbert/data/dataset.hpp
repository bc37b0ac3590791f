// SPDX-License-Identifier: Apache-2.0
// dataset<Schema>: columnar, typed storage of a data set, with the operations of Hugging Face
// `datasets` that sentence-transformers users rely on. Column operations that change the
// columns return a dataset of a new schema type, so a loss check sees the result.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <numeric>
#include <random>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <sbert/data/schema.hpp>
#include <sbert/error.hpp>

namespace sbert {

template <Schema S>
class dataset;

namespace detail {
template <class From, class To, class C>
using renamed_t = std::conditional_t<std::is_same_v<C, From>, To, C>;

template <class S, class From, class To>
struct rename_in;
template <class... Cs, class From, class To>
struct rename_in<schema<Cs...>, From, To> {
  using type = schema<renamed_t<From, To, Cs>...>;
};

template <class S, class... Drop>
struct remove_from;
template <class... Cs, class... Drop>
struct remove_from<schema<Cs...>, Drop...> {
  template <class Acc, class C>
  struct step;
  template <class... As, class C>
  struct step<schema<As...>, C> {
    using type = std::conditional_t<(std::is_same_v<C, Drop> || ...), schema<As...>, schema<As..., C>>;
  };
  template <class Acc, class... Rest>
  struct fold {
    using type = Acc;
  };
  template <class Acc, class C, class... Rest>
  struct fold<Acc, C, Rest...> {
    using type = typename fold<typename step<Acc, C>::type, Rest...>::type;
  };
  using type = typename fold<schema<>, Cs...>::type;
};

template <class S, class C>
struct append_to;
template <class... Cs, class C>
struct append_to<schema<Cs...>, C> {
  using type = schema<Cs..., C>;
};

template <class S>
struct storage_of;
template <class... Cs>
struct storage_of<schema<Cs...>> {
  using type = std::tuple<std::vector<typename Cs::value_type>...>;
};
}  // namespace detail

/// The schema with column From replaced by To (same position).
template <Schema S, class From, class To>
using rename_column_t = typename detail::rename_in<S, From, To>::type;
/// The schema without the given columns.
template <Schema S, class... Drop>
using remove_columns_t = typename detail::remove_from<S, Drop...>::type;

// Column-operation rules, with messages.
template <class S, class C>
concept ColumnOf = S::template contains<C> ||
    unsatisfied<"the column is not part of this data set's schema: check the column type, or add it with add_column">();
template <class From, class To>
concept SameColumnKind = From::kind == To::kind ||
    unsatisfied<"rename_column keeps the values, so both columns must be of the same kind (text to text, score to score, ...): use map to convert values">();

/// A read-only view of one row: `row.get<sentence1>()`.
template <Schema S>
class row_ref {
 public:
  row_ref(const dataset<S>& d, std::size_t i) : d_(&d), i_(i) {}
  template <class C>
    requires ColumnOf<S, C>
  [[nodiscard]] const typename C::value_type& get() const {
    return d_->template column<C>()[i_];
  }
  [[nodiscard]] std::size_t index() const { return i_; }

 private:
  const dataset<S>* d_;
  std::size_t i_;
};

template <Schema S>
class dataset {
 public:
  using schema_type = S;
  using storage = typename detail::storage_of<S>::type;

  dataset() = default;
  explicit dataset(storage cols, std::string source = {}) : cols_(std::move(cols)), source_(std::move(source)) {
    check_lengths();
  }

  /// The `Dataset.from_dict` equivalent: one vector per column, in schema order.
  template <class... Vs>
  [[nodiscard]] static dataset from_columns(Vs&&... vs) {
    static_assert(sizeof...(Vs) == S::column_count, "from_columns takes one vector per schema column, in schema order");
    return dataset(storage(std::forward<Vs>(vs)...));
  }

  [[nodiscard]] std::size_t size() const { return std::get<0>(cols_).size(); }
  [[nodiscard]] bool empty() const { return size() == 0; }
  /// Where the rows came from (a file path), for messages and model cards.
  [[nodiscard]] const std::string& source() const { return source_; }
  void set_source(std::string s) { source_ = std::move(s); }

  template <class C>
    requires ColumnOf<S, C>
  [[nodiscard]] const std::vector<typename C::value_type>& column() const {
    return std::get<S::template index_of<C>>(cols_);
  }
  template <class C>
    requires ColumnOf<S, C>
  [[nodiscard]] std::vector<typename C::value_type>& column() {
    return std::get<S::template index_of<C>>(cols_);
  }
  [[nodiscard]] const storage& columns() const { return cols_; }

  [[nodiscard]] row_ref<S> operator[](std::size_t i) const { return row_ref<S>(*this, i); }
  [[nodiscard]] row_ref<S> at(std::size_t i) const {
    if (i >= size()) throw error("dataset row " + std::to_string(i) + " out of range (size " + std::to_string(size()) + ")");
    return (*this)[i];
  }

  /// Append one row: one value per column, in schema order.
  template <class... Vs>
  void push_back(Vs&&... vs) {
    static_assert(sizeof...(Vs) == S::column_count, "push_back takes one value per schema column, in schema order");
    push_impl(std::index_sequence_for<Vs...>{}, std::forward<Vs>(vs)...);
  }
  void reserve(std::size_t n) {
    std::apply([n](auto&... v) { (v.reserve(n), ...); }, cols_);
  }

  /// Rows at the given indices, in that order (duplicates allowed).
  [[nodiscard]] dataset select(std::span<const std::size_t> indices) const {
    dataset out;
    out.source_ = source_;
    const std::size_t n = size();
    for (auto i : indices)
      if (i >= n) throw error("select: index " + std::to_string(i) + " out of range (size " + std::to_string(n) + ")");
    std::apply(
        [&](auto&... dst) {
          std::apply([&](const auto&... src) {
            ((dst.reserve(indices.size()), [&] { for (auto i : indices) dst.push_back(src[i]); }()), ...);
          }, cols_);
        },
        out.cols_);
    return out;
  }
  [[nodiscard]] dataset select(std::initializer_list<std::size_t> indices) const {
    return select(std::span<const std::size_t>(indices.begin(), indices.size()));
  }
  /// Rows [begin, end).
  [[nodiscard]] dataset select_range(std::size_t begin, std::size_t end) const {
    end = std::min(end, size());
    begin = std::min(begin, end);
    std::vector<std::size_t> idx(end - begin);
    std::iota(idx.begin(), idx.end(), begin);
    return select(idx);
  }
  [[nodiscard]] dataset take(std::size_t n) const { return select_range(0, n); }

  /// A seeded permutation of the rows (std::mt19937_64, so it is the same on every platform).
  [[nodiscard]] dataset shuffle(std::uint64_t seed) const { return select(permutation(size(), seed)); }

  struct split_result {
    dataset train;
    dataset test;
  };
  /// Split off a test part: `test_size` in (0, 1) is a fraction, >= 1 a row count.
  [[nodiscard]] split_result train_test_split(double test_size, std::uint64_t seed = 42, bool shuffle_rows = true) const {
    const std::size_t n = size();
    std::size_t n_test = test_size < 1.0 ? static_cast<std::size_t>(std::ceil(test_size * static_cast<double>(n)))
                                          : static_cast<std::size_t>(test_size);
    if (test_size <= 0.0 || n_test == 0 || n_test >= n)
      throw error("train_test_split: test_size " + std::to_string(test_size) + " leaves an empty split of " +
                  std::to_string(n) + " rows");
    std::vector<std::size_t> idx = shuffle_rows ? permutation(n, seed) : iota(n);
    std::span<const std::size_t> all(idx);
    return {select(all.subspan(0, n - n_test)), select(all.subspan(n - n_test))};
  }

  /// Rows for which pred(row_ref) is true.
  template <class Pred>
  [[nodiscard]] dataset filter(Pred&& pred) const {
    std::vector<std::size_t> keep;
    for (std::size_t i = 0; i < size(); ++i)
      if (std::invoke(pred, (*this)[i])) keep.push_back(i);
    return select(keep);
  }

  /// A new data set of schema S2: f(row_ref) returns a std::tuple of S2's values.
  template <Schema S2, class F>
  [[nodiscard]] dataset<S2> map(F&& f) const {
    dataset<S2> out;
    out.reserve(size());
    for (std::size_t i = 0; i < size(); ++i)
      std::apply([&](auto&&... v) { out.push_back(std::forward<decltype(v)>(v)...); }, std::invoke(f, (*this)[i]));
    out.set_source(source_);
    return out;
  }
  /// Transform one column's values in place (same type): f(value) -> value.
  template <class C, class F>
    requires ColumnOf<S, C>
  [[nodiscard]] dataset map_column(F&& f) const {
    dataset out = *this;
    for (auto& v : out.template column<C>()) v = std::invoke(f, std::as_const(v));
    return out;
  }

  /// The rows of this data set followed by those of `other`.
  [[nodiscard]] dataset concatenate(const dataset& other) const {
    dataset out = *this;
    std::apply([&](auto&... dst) {
      std::apply([&](const auto&... src) { (dst.insert(dst.end(), src.begin(), src.end()), ...); }, other.cols_);
    }, out.cols_);
    return out;
  }

  /// Keep these columns, in this order (also how to reorder).
  template <class... Keep>
    requires(ColumnOf<S, Keep> && ...)
  [[nodiscard]] dataset<schema<Keep...>> select_columns() const {
    return dataset<schema<Keep...>>(std::tuple<std::vector<typename Keep::value_type>...>(column<Keep>()...), source_);
  }
  template <class... Drop>
    requires(ColumnOf<S, Drop> && ...)
  [[nodiscard]] auto remove_columns() const {
    return project<remove_columns_t<S, Drop...>>();
  }
  template <class From, class To>
    requires ColumnOf<S, From> && SameColumnKind<From, To>
  [[nodiscard]] dataset<rename_column_t<S, From, To>> rename_column() const {
    using S2 = rename_column_t<S, From, To>;
    return dataset<S2>(rename_storage<From, To>(std::make_index_sequence<S::column_count>{}), source_);
  }
  /// A new last column C with the given values (one per row).
  template <Column C>
  [[nodiscard]] auto add_column(std::vector<typename C::value_type> values) const {
    using S2 = typename detail::append_to<S, C>::type;
    if (values.size() != size())
      throw error("add_column '" + std::string(C::name) + "': " + std::to_string(values.size()) +
                  " values for " + std::to_string(size()) + " rows");
    return dataset<S2>(std::tuple_cat(cols_, std::tuple<std::vector<typename C::value_type>>(std::move(values))), source_);
  }

  static std::vector<std::size_t> permutation(std::size_t n, std::uint64_t seed) {
    std::vector<std::size_t> idx = iota(n);
    std::mt19937_64 rng(seed);
    // Fisher-Yates with our own bounded draw: std::shuffle's algorithm differs between
    // standard libraries, and a seed must give the same order everywhere.
    for (std::size_t i = n; i > 1; --i) {
      const std::size_t j = static_cast<std::size_t>(rng() % i);
      std::swap(idx[i - 1], idx[j]);
    }
    return idx;
  }

 private:
  template <Schema>
  friend class dataset;

  static std::vector<std::size_t> iota(std::size_t n) {
    std::vector<std::size_t> v(n);
    std::iota(v.begin(), v.end(), std::size_t{0});
    return v;
  }

  void check_lengths() const {
    const std::size_t n = std::get<0>(cols_).size();
    std::size_t k = 0;
    std::apply([&](const auto&... v) {
      ((v.size() == n ? void(++k)
                      : throw error("column '" + std::string(S::names[k]) + "' has " + std::to_string(v.size()) +
                                    " rows, but column '" + std::string(S::names[0]) + "' has " + std::to_string(n))),
       ...);
    }, cols_);
  }

  template <std::size_t... I, class... Vs>
  void push_impl(std::index_sequence<I...>, Vs&&... vs) {
    (std::get<I>(cols_).push_back(std::forward<Vs>(vs)), ...);
  }

  template <class S2>
  dataset<S2> project() const {
    return project_impl<S2>(static_cast<typename S2::columns*>(nullptr));
  }
  template <class S2, class... Keep>
  dataset<S2> project_impl(std::tuple<Keep...>*) const {
    return dataset<S2>(typename dataset<S2>::storage(column<Keep>()...), source_);
  }

  template <class From, class To, std::size_t... I>
  auto rename_storage(std::index_sequence<I...>) const {
    return typename dataset<rename_column_t<S, From, To>>::storage(std::get<I>(cols_)...);
  }

  storage cols_{};
  std::string source_;
};

template <Schema S>
[[nodiscard]] dataset<S> concatenate(const dataset<S>& a, const dataset<S>& b) {
  return a.concatenate(b);
}

}  // namespace sbert
