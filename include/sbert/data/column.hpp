// SPDX-License-Identifier: Apache-2.0
// Columns are named types. Declare each column of a data set as a struct deriving from one of
// the column templates below, so that diagnostics print its name on every compiler:
//
//   struct sentence1 : sbert::text_column<"sentence1"> {};
//   struct score     : sbert::score_column<"score"> {};
#pragma once
#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <sbert/data/fixed_string.hpp>

namespace sbert {

/// What a column holds. Text and text-list columns are model inputs; the others are labels.
enum class column_kind {
  text,         ///< one text per row
  text_list,    ///< a variable number of texts per row (e.g. many hard negatives)
  score,        ///< a float label (similarity score, margin)
  class_label,  ///< an integer class label
  vector,       ///< a float-vector label (teacher embeddings)
};

/// The place a predefined column takes in a pair, triplet or ranking row. Components that read
/// their inputs as (anchor, positive, negatives...) check that such columns stand there; a
/// column without a role (every user-defined column, unless it asks for one) is read by
/// position only. sentence1 and premise take the anchor's place, sentence2 and hypothesis the
/// positive's. Bit values, so that a component can accept several roles at one position.
enum class column_role : unsigned { none = 0, anchor = 1, positive = 2, negative = 4 };

[[nodiscard]] constexpr std::string_view to_string(column_role r) {
  switch (r) {
    case column_role::none: return "none";
    case column_role::anchor: return "anchor";
    case column_role::positive: return "positive";
    case column_role::negative: return "negative";
  }
  return "?";
}

/// The kind of label a schema carries (none when it has no label column).
enum class label_kind : unsigned { none = 1, score = 2, class_label = 4, vector = 8 };

[[nodiscard]] constexpr std::string_view to_string(label_kind k) {
  switch (k) {
    case label_kind::none: return "none";
    case label_kind::score: return "score";
    case label_kind::class_label: return "class";
    case label_kind::vector: return "vector";
  }
  return "?";
}

namespace detail {
template <fixed_string Name, column_kind Kind, class Value, column_role Role = column_role::none>
struct column_base {
  static constexpr std::string_view name = Name.view();
  static constexpr column_kind kind = Kind;
  static constexpr column_role role = Role;
  using value_type = Value;
  static constexpr bool is_input = Kind == column_kind::text || Kind == column_kind::text_list;
};
}  // namespace detail

/// `Role` opts a column into the role check (see column_role); the default reads it by position.
template <fixed_string Name, column_role Role = column_role::none>
struct text_column : detail::column_base<Name, column_kind::text, std::string, Role> {};
template <fixed_string Name, column_role Role = column_role::none>
struct text_list_column : detail::column_base<Name, column_kind::text_list, std::vector<std::string>, Role> {};
template <fixed_string Name>
struct score_column : detail::column_base<Name, column_kind::score, float> {};
template <fixed_string Name>
struct class_column : detail::column_base<Name, column_kind::class_label, std::int64_t> {};
template <fixed_string Name>
struct vector_column : detail::column_base<Name, column_kind::vector, std::vector<float>> {};

/// Satisfied by a type derived from one of the column templates.
template <class C>
concept Column = requires {
  { C::name } -> std::convertible_to<std::string_view>;
  { C::kind } -> std::convertible_to<column_kind>;
  typename C::value_type;
};

/// A column's role (none for a column type that does not declare one).
template <Column C>
[[nodiscard]] constexpr column_role role_of() {
  if constexpr (requires { { C::role } -> std::convertible_to<column_role>; }) return C::role;
  else return column_role::none;
}

template <Column C>
[[nodiscard]] constexpr label_kind label_of() {
  switch (C::kind) {
    case column_kind::score: return label_kind::score;
    case column_kind::class_label: return label_kind::class_label;
    case column_kind::vector: return label_kind::vector;
    default: return label_kind::none;
  }
}

/// Ready-made columns with the names the Python library's docs use. The text columns carry
/// their role, so a component that reads (anchor, positive, negatives...) rejects them out of
/// place: schema<negative, positive, anchor> does not train MultipleNegativesRankingLoss.
namespace columns {
struct anchor : text_column<"anchor", column_role::anchor> {};
struct positive : text_column<"positive", column_role::positive> {};
struct negative : text_column<"negative", column_role::negative> {};
struct negatives : text_list_column<"negatives", column_role::negative> {};
struct sentence1 : text_column<"sentence1", column_role::anchor> {};
struct sentence2 : text_column<"sentence2", column_role::positive> {};
struct premise : text_column<"premise", column_role::anchor> {};
struct hypothesis : text_column<"hypothesis", column_role::positive> {};
struct text : text_column<"text"> {};
struct score : score_column<"score"> {};
struct label : class_column<"label"> {};
struct teacher_embedding : vector_column<"label"> {};
}  // namespace columns

}  // namespace sbert
