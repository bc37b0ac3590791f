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
template <fixed_string Name, column_kind Kind, class Value>
struct column_base {
  static constexpr std::string_view name = Name.view();
  static constexpr column_kind kind = Kind;
  using value_type = Value;
  static constexpr bool is_input = Kind == column_kind::text || Kind == column_kind::text_list;
};
}  // namespace detail

template <fixed_string Name>
struct text_column : detail::column_base<Name, column_kind::text, std::string> {};
template <fixed_string Name>
struct text_list_column : detail::column_base<Name, column_kind::text_list, std::vector<std::string>> {};
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

template <Column C>
[[nodiscard]] constexpr label_kind label_of() {
  switch (C::kind) {
    case column_kind::score: return label_kind::score;
    case column_kind::class_label: return label_kind::class_label;
    case column_kind::vector: return label_kind::vector;
    default: return label_kind::none;
  }
}

/// Ready-made columns with the names the Python library's docs use.
namespace columns {
struct anchor : text_column<"anchor"> {};
struct positive : text_column<"positive"> {};
struct negative : text_column<"negative"> {};
struct negatives : text_list_column<"negatives"> {};
struct sentence1 : text_column<"sentence1"> {};
struct sentence2 : text_column<"sentence2"> {};
struct premise : text_column<"premise"> {};
struct hypothesis : text_column<"hypothesis"> {};
struct text : text_column<"text"> {};
struct score : score_column<"score"> {};
struct label : class_column<"label"> {};
struct teacher_embedding : vector_column<"label"> {};
}  // namespace columns

}  // namespace sbert
