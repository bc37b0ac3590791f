// SPDX-License-Identifier: Apache-2.0
// schema<Cols...>: the typed description of a data set. It knows at compile time its input
// columns (text and text-list columns, in order), its label column (at most one) and its kind.
#pragma once
#include <array>
#include <cstddef>
#include <string_view>
#include <tuple>
#include <type_traits>

#include <sbert/data/column.hpp>
#include <sbert/detail/unsatisfied.hpp>

namespace sbert {

namespace detail {
template <class T, class... Ts>
inline constexpr std::size_t count_of = (std::size_t{std::is_same_v<T, Ts>} + ... + 0);

template <class T, class... Ts>
constexpr std::size_t index_in() {
  constexpr std::array<bool, sizeof...(Ts)> same{std::is_same_v<T, Ts>...};
  for (std::size_t i = 0; i < same.size(); ++i)
    if (same[i]) return i;
  return sizeof...(Ts);
}

template <class... Cs>
constexpr bool names_unique() {
  constexpr std::array<std::string_view, sizeof...(Cs)> names{Cs::name...};
  for (std::size_t i = 0; i < names.size(); ++i)
    for (std::size_t j = i + 1; j < names.size(); ++j)
      if (names[i] == names[j]) return false;
  return true;
}

// A text-list column must be the last input column: the trainer flattens it into candidates
// that follow every fixed column.
template <class... Cs>
constexpr bool text_list_last() {
  constexpr std::array<column_kind, sizeof...(Cs)> kinds{Cs::kind...};
  bool seen_list = false;
  for (auto k : kinds) {
    if (k == column_kind::text_list) {
      if (seen_list) return false;
      seen_list = true;
    } else if (k == column_kind::text && seen_list) {
      return false;
    }
  }
  return true;
}
}  // namespace detail

// ---- the rules a schema itself must follow, one named concept each ----------------------
template <class... Cs>
concept AllColumns = (Column<Cs> && ...) ||
    unsatisfied<"every schema argument must be a column type: derive a struct from sbert::text_column<\"name\">, score_column, class_column, vector_column or text_list_column">();

template <class... Cs>
concept DistinctColumns = ((detail::count_of<Cs, Cs...> == 1) && ...) ||
    unsatisfied<"a column appears twice in the schema: list each column type once">();

template <class... Cs>
concept DistinctColumnNames = detail::names_unique<Cs...>() ||
    unsatisfied<"two columns of the schema have the same name: give each column a distinct name">();

template <class... Cs>
concept AtMostOneLabel = ((Cs::is_input ? 0 : 1) + ... + 0) <= 1 ||
    unsatisfied<"a schema may have at most one label column (score, class or vector): remove the others or make a second data set">();

template <class... Cs>
concept TextListIsLastInput = detail::text_list_last<Cs...>() ||
    unsatisfied<"a text-list column must be the last input column, and there can be only one: reorder the columns so it follows every text column">();

template <class... Cs>
concept ValidColumns = AllColumns<Cs...> && DistinctColumns<Cs...> && DistinctColumnNames<Cs...> &&
                       AtMostOneLabel<Cs...> && TextListIsLastInput<Cs...>;

/// The typed schema of a data set. Only AllColumns constrains the template (the other rules
/// cannot even be evaluated on non-columns); the others are separate static_asserts, so a
/// schema that breaks several rules gets every message in one compile.
template <class... Cs>
  requires AllColumns<Cs...>
struct schema {
  static_assert(DistinctColumns<Cs...>, "sbert::schema: see the note below");
  static_assert(DistinctColumnNames<Cs...>, "sbert::schema: see the note below");
  static_assert(AtMostOneLabel<Cs...>, "sbert::schema: see the note below");
  static_assert(TextListIsLastInput<Cs...>, "sbert::schema: see the note below");

  using columns = std::tuple<Cs...>;
  static constexpr std::size_t column_count = sizeof...(Cs);
  /// Model inputs: text and text-list columns, in schema order.
  static constexpr std::size_t input_count = ((Cs::is_input ? 1 : 0) + ... + 0);
  static constexpr bool has_text_list = ((Cs::kind == column_kind::text_list) || ... || false);
  static constexpr label_kind label = [] {
    label_kind k = label_kind::none;
    ((Cs::is_input ? void() : void(k = label_of<Cs>())), ...);
    return k;
  }();
  static constexpr std::array<std::string_view, sizeof...(Cs)> names{Cs::name...};

  template <class C>
  static constexpr bool contains = detail::count_of<C, Cs...> == 1;

  template <class C>
    requires(detail::count_of<C, Cs...> == 1)
  static constexpr std::size_t index_of = detail::index_in<C, Cs...>();

  /// The role of each input column, in input order (column_role::none for most columns).
  static constexpr std::array<column_role, input_count> input_roles = [] {
    std::array<column_role, input_count> out{};
    constexpr std::array<column_role, sizeof...(Cs)> roles{role_of<Cs>()...};
    constexpr std::array<bool, sizeof...(Cs)> in{Cs::is_input...};
    std::size_t j = 0;
    for (std::size_t i = 0; i < in.size(); ++i)
      if (in[i]) out[j++] = roles[i];
    return out;
  }();
  /// The index (in schema order) of each input column.
  static constexpr std::array<std::size_t, input_count> input_indices = [] {
    std::array<std::size_t, input_count> out{};
    constexpr std::array<bool, sizeof...(Cs)> in{Cs::is_input...};
    std::size_t j = 0;
    for (std::size_t i = 0; i < in.size(); ++i)
      if (in[i]) out[j++] = i;
    return out;
  }();
};

namespace detail {
template <class T>
struct is_schema : std::false_type {};
template <class... Cs>
struct is_schema<schema<Cs...>> : std::true_type {};
}  // namespace detail

/// Satisfied by sbert::schema<...>.
template <class S>
concept Schema = detail::is_schema<S>::value;

}  // namespace sbert
