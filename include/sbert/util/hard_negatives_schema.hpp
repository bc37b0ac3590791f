// SPDX-License-Identifier: Apache-2.0
// The schemas mine_hard_negatives reads and writes, and the named concepts that check them.
// Torch-free, so the diagnostics are pinned by cheap compile-fail tests.
#pragma once
#include <cstddef>
#include <tuple>
#include <type_traits>

#include <sbert/data/column.hpp>
#include <sbert/data/schema.hpp>
#include <sbert/detail/unsatisfied.hpp>

namespace sbert {

/// Output tags: `mine_hard_negatives<sbert::mined_triplets>` (the default) gives (anchor,
/// positive, columns::negative) rows; `mine_hard_negatives<sbert::mined_n_tuples>` gives
/// (anchor, positive, columns::negatives) rows with num_negatives texts in the list. A schema
/// of the same shape, with columns of your own, may be named instead.
struct mined_triplets {};
struct mined_n_tuples {};

// ---- what the input and output schemas must be, one rule per concept --------------------
template <class S>
concept MinesTextPairs = (Schema<S> && S::input_count == 2 && !S::has_text_list) ||
    unsatisfied<"mine_hard_negatives reads (anchor, positive) pairs: the data set needs exactly two text columns (no text list); pick them with dataset.select_columns<anchor, positive>()">();

template <class S>
concept MinesUnlabelledPairs = (Schema<S> && S::label == label_kind::none) ||
    unsatisfied<"mine_hard_negatives treats every row as a positive pair, but the data set has a label column: keep the positive rows with filter() and drop the label with remove_columns<...>()">();

namespace detail {
template <class S, std::size_t I>
using column_at = std::tuple_element_t<I, typename S::columns>;

template <class S>
constexpr bool mined_shape() {
  if constexpr (!Schema<S>) {
    return false;
  } else if constexpr (S::column_count != 3) {
    return false;
  } else {
    return column_at<S, 0>::kind == column_kind::text && column_at<S, 1>::kind == column_kind::text &&
           (column_at<S, 2>::kind == column_kind::text || column_at<S, 2>::kind == column_kind::text_list);
  }
}
}  // namespace detail

template <class Out>
concept MinedOutputSchema = std::is_same_v<Out, mined_triplets> || std::is_same_v<Out, mined_n_tuples> ||
                            detail::mined_shape<Out>() ||
    unsatisfied<"the output of mine_hard_negatives is sbert::mined_triplets, sbert::mined_n_tuples, or a schema of three columns: two text columns (anchor, positive), then a text column (one negative per row) or a text_list_column (num_negatives per row)">();

namespace detail {
template <class Out, class In>
struct mined_schema {
  using type = Out;
};
template <class In>
struct mined_schema<mined_triplets, In> {
  using type = schema<column_at<In, In::input_indices[0]>, column_at<In, In::input_indices[1]>, columns::negative>;
};
template <class In>
struct mined_schema<mined_n_tuples, In> {
  using type = schema<column_at<In, In::input_indices[0]>, column_at<In, In::input_indices[1]>, columns::negatives>;
};
}  // namespace detail

/// The schema mine_hard_negatives<Out> returns for a data set of schema In.
template <class Out, class In>
using mined_schema_t = typename detail::mined_schema<Out, In>::type;

template <class Out, class In>
concept MiningSchemasFit = MinesTextPairs<In> && MinesUnlabelledPairs<In> && MinedOutputSchema<Out>;

/// One static_assert per rule, so every broken rule gets its message in one compile.
template <class Out, class In>
constexpr void check_mining_schemas() {
  static_assert(MinesTextPairs<In>, "mine_hard_negatives: the data set's schema does not fit: see the note below");
  static_assert(MinesUnlabelledPairs<In>, "mine_hard_negatives: the data set's schema does not fit: see the note below");
  static_assert(MinedOutputSchema<Out>, "mine_hard_negatives: the output schema does not fit: see the note below");
}

}  // namespace sbert
