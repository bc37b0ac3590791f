#include "catch.hpp"

#include <sbert/concepts.hpp>
#include <sbert/data/schema.hpp>

namespace {
struct s1 : sbert::text_column<"sentence1"> {};
struct s2 : sbert::text_column<"sentence2"> {};
struct sc : sbert::score_column<"score"> {};
struct lab : sbert::class_column<"label"> {};
struct negs : sbert::text_list_column<"negatives"> {};
struct teacher : sbert::vector_column<"teacher"> {};

using pair_score = sbert::schema<s1, s2, sc>;
using score_first = sbert::schema<sc, s1, s2>;
using pair = sbert::schema<s1, s2>;
using many_neg = sbert::schema<s1, s2, negs>;

// Test-only component declarations, standing in for real losses.
struct needs_pair_score {
  static constexpr sbert::inputs_spec inputs{.texts = sbert::exactly(2), .labels = sbert::label_kind::score};
};
struct ranking_like {
  static constexpr sbert::inputs_spec inputs{.texts = sbert::at_least(2), .labels = sbert::label_kind::none, .text_list = true};
};
struct score_or_class {
  static constexpr sbert::inputs_spec inputs{.texts = sbert::between(1, 3),
                                             .labels = sbert::label_kind::score | sbert::label_kind::class_label};
};
struct optional_score {
  static constexpr sbert::inputs_spec inputs{.texts = sbert::exactly(2),
                                             .labels = sbert::label_kind::none | sbert::label_kind::score};
};
}  // namespace

// Schema facts (compile time).
static_assert(pair_score::input_count == 2);
static_assert(pair_score::label == sbert::label_kind::score);
static_assert(score_first::input_count == 2 && score_first::input_indices[0] == 1);
static_assert(pair::label == sbert::label_kind::none);
static_assert(many_neg::has_text_list && many_neg::input_count == 3);
static_assert(pair_score::index_of<sc> == 2);
static_assert(sbert::Schema<pair_score> && !sbert::Schema<int>);
static_assert(sbert::schema<s1, teacher>::label == sbert::label_kind::vector);

// Fits and misfits.
static_assert(sbert::LossFor<needs_pair_score, pair_score>);
static_assert(sbert::LossFor<needs_pair_score, score_first>);  // label position does not matter
static_assert(!sbert::LossFor<needs_pair_score, pair>);
static_assert(!sbert::HasRequiredLabel<needs_pair_score, pair>);
static_assert(!sbert::LabelKindFits<needs_pair_score, sbert::schema<s1, s2, lab>>);
static_assert(!sbert::NotTooManyInputColumns<needs_pair_score, sbert::schema<s1, s2, sbert::columns::negative, sc>>);
static_assert(!sbert::EnoughInputColumns<needs_pair_score, sbert::schema<s1, sc>>);
static_assert(sbert::LossFor<ranking_like, many_neg>);
static_assert(!sbert::TextListAccepted<needs_pair_score, sbert::schema<s1, negs, sc>>);
static_assert(!sbert::NoUnexpectedLabel<ranking_like, pair_score>);
static_assert(sbert::LossFor<score_or_class, sbert::schema<s1, s2, lab>>);
static_assert(sbert::LossFor<score_or_class, pair_score>);
static_assert(!sbert::LossFor<score_or_class, pair>);
static_assert(sbert::LossFor<optional_score, pair> && sbert::LossFor<optional_score, pair_score>);
static_assert(!sbert::LossFor<optional_score, sbert::schema<s1, s2, lab>>);

// Role columns (the ready-made anchor, positive, negative, ...) must stand where a component
// with a role layout reads them; columns without a role are read by position only.
namespace {
struct ranking_roles {  // as multiple_negatives_ranking_loss
  static constexpr sbert::inputs_spec inputs{.texts = sbert::at_least(2), .text_list = true, .roles = sbert::roles::ranking};
};
struct labelled_pair_roles {  // as cosent_loss
  static constexpr sbert::inputs_spec inputs{.texts = sbert::exactly(2), .labels = sbert::label_kind::score,
                                             .roles = sbert::roles::labelled_pair};
};
namespace c = sbert::columns;
struct query : sbert::text_column<"query", sbert::column_role::anchor> {};  // a user column that asks for a role
struct positive2 : sbert::text_column<"positive2", sbert::column_role::positive> {};
}  // namespace
static_assert(sbert::schema<c::anchor, c::positive, c::negative>::input_roles[2] == sbert::column_role::negative);
static_assert(sbert::schema<c::score, s1, c::negatives>::input_roles[1] == sbert::column_role::negative);
static_assert(sbert::role_of<s1>() == sbert::column_role::none && sbert::role_of<c::premise>() == sbert::column_role::anchor);
static_assert(sbert::LossFor<ranking_roles, sbert::schema<c::anchor, c::positive>>);
static_assert(sbert::LossFor<ranking_roles, sbert::schema<c::anchor, c::positive, c::negative>>);
static_assert(sbert::LossFor<ranking_roles, sbert::schema<c::anchor, c::positive, c::negatives>>);
static_assert(sbert::LossFor<ranking_roles, sbert::schema<c::sentence1, c::sentence2>>);
static_assert(sbert::LossFor<ranking_roles, sbert::schema<s2, s1>>);  // no roles: order-only
static_assert(sbert::LossFor<ranking_roles, sbert::schema<c::anchor, s1, c::negative>>);
static_assert(!sbert::RoleColumnsInPlace<ranking_roles, sbert::schema<c::negative, c::positive, c::anchor>>);
static_assert(!sbert::RoleColumnsInPlace<ranking_roles, sbert::schema<c::anchor, c::negative>>);  // a negative as the positive
static_assert(!sbert::RoleColumnsInPlace<ranking_roles, sbert::schema<c::anchor, c::positive, c::negative, positive2>>,
              "a positive among the negatives");
static_assert(!sbert::RoleColumnsInPlace<ranking_roles, sbert::schema<c::positive, query>>);
static_assert(sbert::LossFor<labelled_pair_roles, sbert::schema<c::sentence1, c::sentence2, c::score>>);
static_assert(sbert::LossFor<labelled_pair_roles, sbert::schema<c::anchor, c::negative, c::score>>);
static_assert(sbert::LossFor<labelled_pair_roles, sbert::schema<c::premise, c::hypothesis, c::score>>);
static_assert(!sbert::RoleColumnsInPlace<labelled_pair_roles, sbert::schema<c::sentence2, c::sentence1, c::score>>);
static_assert(!sbert::RoleColumnsInPlace<labelled_pair_roles, sbert::schema<c::hypothesis, c::premise, c::score>>);
static_assert(sbert::LossFor<needs_pair_score, sbert::schema<c::sentence2, c::sentence1, c::score>>);  // no layout: no check

// Schema validity rules.
static_assert(!sbert::AtMostOneLabel<s1, sc, lab>);
static_assert(!sbert::DistinctColumns<s1, s1>);
static_assert(!sbert::TextListIsLastInput<negs, s1>);
static_assert(!sbert::AllColumns<s1, int>);

TEST_CASE("schema: names and input indices are available at run time") {
  CHECK(score_first::names[0] == "score");
  CHECK(score_first::names[2] == "sentence2");
  CHECK(score_first::input_indices[1] == 2);
  CHECK(sbert::to_string(pair_score::label) == "score");
  CHECK(sbert::to_string(sbert::schema<s1, lab>::label) == "class");
}
