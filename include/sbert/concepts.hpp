// SPDX-License-Identifier: Apache-2.0
// What losses, evaluators and samplers say they need from a data set, and the concepts that
// check a schema against it. Torch-free: these compile in well under a second.
//
// A component declares
//     static constexpr sbert::inputs_spec inputs{.texts = sbert::exactly(2),
//                                                .labels = sbert::label_kind::score};
// and `LossFor<L, S>` (or EvaluatorFor / SamplerFor) checks schema S against it, one named
// concept per rule so the compiler's notes say which rule failed and how to fix it.
#pragma once
#include <array>
#include <cstddef>
#include <initializer_list>
#include <limits>

#include <sbert/data/schema.hpp>
#include <sbert/detail/unsatisfied.hpp>

namespace sbert {

/// How many input (text) columns a component takes: [min, max].
struct column_count {
  std::size_t min = 0;
  std::size_t max = std::numeric_limits<std::size_t>::max();
  [[nodiscard]] constexpr bool contains(std::size_t n) const { return n >= min && n <= max; }
};
[[nodiscard]] constexpr column_count exactly(std::size_t n) { return {n, n}; }
[[nodiscard]] constexpr column_count at_least(std::size_t n) { return {n}; }
[[nodiscard]] constexpr column_count between(std::size_t lo, std::size_t hi) { return {lo, hi}; }

/// A set of label kinds: `label_kind::score | label_kind::class_label`.
struct label_set {
  unsigned bits = 0;
  constexpr label_set() = default;
  constexpr label_set(label_kind k) : bits(static_cast<unsigned>(k)) {}  // NOLINT: implicit by design
  [[nodiscard]] constexpr bool contains(label_kind k) const { return (bits & static_cast<unsigned>(k)) != 0; }
  [[nodiscard]] constexpr bool needs_label() const { return !contains(label_kind::none); }
};
[[nodiscard]] constexpr label_set operator|(label_set a, label_set b) { label_set s; s.bits = a.bits | b.bits; return s; }
[[nodiscard]] constexpr label_set operator|(label_kind a, label_kind b) { return label_set{a} | label_set{b}; }

/// A set of column roles: `column_role::positive | column_role::negative`.
struct role_set {
  unsigned bits = 0;
  constexpr role_set() = default;
  constexpr role_set(column_role r) : bits(static_cast<unsigned>(r)) {}  // NOLINT: implicit by design
  [[nodiscard]] constexpr bool contains(column_role r) const { return (bits & static_cast<unsigned>(r)) != 0; }
};
[[nodiscard]] constexpr role_set operator|(role_set a, role_set b) { role_set s; s.bits = a.bits | b.bits; return s; }
[[nodiscard]] constexpr role_set operator|(column_role a, column_role b) { return role_set{a} | role_set{b}; }

/// Which roles each input position takes (see column_role). A position with no entry takes
/// any column; with `rest_like_last`, the positions past the list take the last entry's roles
/// (the negatives of a ranking row). An empty layout checks nothing.
struct role_layout {
  std::array<role_set, 4> at{};
  std::size_t count = 0;
  bool rest_like_last = false;

  [[nodiscard]] static constexpr role_layout of(std::initializer_list<role_set> roles, bool rest_like_last = false) {
    role_layout l;
    for (role_set r : roles) l.at[l.count++] = r;
    l.rest_like_last = rest_like_last;
    return l;
  }
  /// The roles position i takes; an empty set means any column.
  [[nodiscard]] constexpr role_set expected(std::size_t i) const {
    if (i < count) return at[i];
    return rest_like_last && count ? at[count - 1] : role_set{};
  }
};

/// The layouts of the catalogue.
namespace roles {
/// (anchor, positive): an in-batch-negatives pair (MegaBatchMarginLoss, ContrastiveTension).
inline constexpr role_layout positive_pair = role_layout::of({column_role::anchor, column_role::positive});
/// (anchor, positive or negative) + label: a labelled pair (CoSENT, ContrastiveLoss, ...).
inline constexpr role_layout labelled_pair =
    role_layout::of({column_role::anchor, column_role::positive | column_role::negative});
/// (anchor, positive, negative): a triplet (TripletLoss, TripletEvaluator).
inline constexpr role_layout triplet = role_layout::of({column_role::anchor, column_role::positive, column_role::negative});
/// (anchor, positive, negatives...): a ranking row (MultipleNegativesRankingLoss and friends).
inline constexpr role_layout ranking =
    role_layout::of({column_role::anchor, column_role::positive, column_role::negative}, true);
}  // namespace roles

/// The data-set shape a loss, evaluator or sampler accepts.
struct inputs_spec {
  column_count texts = at_least(1);
  label_set labels = label_kind::none;
  /// Whether a variable-length text-list column (many negatives per row) is accepted.
  bool text_list = false;
  /// Where role columns (columns::anchor, positive, negative, ...) must stand; see role_layout.
  role_layout roles{};
};

/// Satisfied by a type with `static constexpr inputs_spec inputs`.
template <class T>
concept DeclaresInputs = requires {
  { T::inputs } -> std::convertible_to<inputs_spec>;
};

// ---- one rule, one concept, one message ----------------------------------------------------
template <class T, class S>
concept EnoughInputColumns = (S::input_count >= T::inputs.texts.min) ||
    unsatisfied<"the schema has fewer input (text) columns than this component needs: add the missing text columns, or choose a component for fewer columns">();

template <class T, class S>
concept NotTooManyInputColumns = (S::input_count <= T::inputs.texts.max) ||
    unsatisfied<"the schema has more input (text) columns than this component accepts: drop or reorder them with dataset.select_columns<...>() / remove_columns<...>()">();

template <class T, class S>
concept HasRequiredLabel = !(T::inputs.labels.needs_label() && S::label == label_kind::none) ||
    unsatisfied<"this component needs a label column, and the schema has none: add a score_column, class_column or vector_column of the kind it takes">();

template <class T, class S>
concept NoUnexpectedLabel = !(S::label != label_kind::none && !T::inputs.labels.needs_label() &&
                              !T::inputs.labels.contains(S::label)) ||
    unsatisfied<"this component takes no label, but the schema has a label column: remove it with dataset.remove_columns<...>()">();

template <class T, class S>
concept LabelKindFits = S::label == label_kind::none || !T::inputs.labels.needs_label() ||
                        T::inputs.labels.contains(S::label) ||
    unsatisfied<"the schema's label column has the wrong kind for this component (for example a class label where a float score is needed): convert it with dataset.map, or choose a component for that label">();

template <class T, class S>
concept TextListAccepted = !S::has_text_list || T::inputs.text_list ||
    unsatisfied<"the schema has a text-list column (many texts per row), which this component does not take: use multiple_negatives_ranking_loss, or split the list into fixed columns">();

namespace detail {
template <class T, class S>
constexpr bool roles_in_place() {
  for (std::size_t i = 0; i < S::input_count; ++i) {
    const role_set want = T::inputs.roles.expected(i);
    const column_role have = S::input_roles[i];
    if (have != column_role::none && want.bits != 0 && !want.contains(have)) return false;
  }
  return true;
}
}  // namespace detail

// User-defined columns have no role and are never rejected here; only the ready-made role
// columns (and columns that ask for a role) are, which is where a misread is certain.
template <class T, class S>
concept RoleColumnsInPlace = detail::roles_in_place<T, S>() ||
    unsatisfied<"a role column stands where this component reads another role: it reads anchor, sentence1 or premise first, then positive, sentence2 or hypothesis, then the negatives; reorder the columns with dataset.select_columns<anchor, positive, negative>() (or declare the schema in that order)">();

/// The whole check: schema S fits what T declares.
template <class T, class S>
concept InputsFit = Schema<S> && DeclaresInputs<T> && EnoughInputColumns<T, S> &&
                    NotTooManyInputColumns<T, S> && HasRequiredLabel<T, S> &&
                    NoUnexpectedLabel<T, S> && LabelKindFits<T, S> && TextListAccepted<T, S> &&
                    RoleColumnsInPlace<T, S>;

/// A loss that can train on data of schema S.
template <class L, class S>
concept LossFor = InputsFit<L, S>;
/// An evaluator that can score a data set of schema S.
template <class E, class S>
concept EvaluatorFor = InputsFit<E, S>;
/// A batch sampler that can draw batches from a data set of schema S.
template <class B, class S>
concept SamplerFor = InputsFit<B, S>;

}  // namespace sbert

namespace sbert {
/// The single user-facing check (the trainer and evaluators call it). One static_assert per
/// rule, not one on InputsFit: a conjunction stops at its first failure, and a schema that
/// breaks three rules should get three messages in one compile, not one per round.
template <class T, class S>
constexpr void check_inputs_fit() {
  static_assert(Schema<S>, "check_inputs_fit<T, S>: S must be an sbert::schema<...>");
  static_assert(DeclaresInputs<T>, "this component declares no `static constexpr sbert::inputs_spec inputs`, so no schema can be checked against it");
  if constexpr (Schema<S> && DeclaresInputs<T>) {
    static_assert(EnoughInputColumns<T, S>, "the data set's schema does not fit this component: see the note below");
    static_assert(NotTooManyInputColumns<T, S>, "the data set's schema does not fit this component: see the note below");
    static_assert(HasRequiredLabel<T, S>, "the data set's schema does not fit this component: see the note below");
    static_assert(NoUnexpectedLabel<T, S>, "the data set's schema does not fit this component: see the note below");
    static_assert(LabelKindFits<T, S>, "the data set's schema does not fit this component: see the note below");
    static_assert(TextListAccepted<T, S>, "the data set's schema does not fit this component: see the note below");
    static_assert(RoleColumnsInPlace<T, S>, "the data set's schema does not fit this component: see the note below");
  }
}
}  // namespace sbert
