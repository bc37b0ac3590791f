// Columns and test-only component declarations shared by the compile-fail tests.
#pragma once
#include <sbert/concepts.hpp>
#include <sbert/data/dataset.hpp>

struct s1 : sbert::text_column<"sentence1"> {};
struct s2 : sbert::text_column<"sentence2"> {};
struct s3 : sbert::text_column<"sentence3"> {};
struct score : sbert::score_column<"score"> {};
struct label : sbert::class_column<"label"> {};
struct negs : sbert::text_list_column<"negatives"> {};

struct pair_score_component {  // like cosent_loss: (text, text) + score
  static constexpr sbert::inputs_spec inputs{.texts = sbert::exactly(2), .labels = sbert::label_kind::score};
};
struct ranking_component {  // like multiple_negatives_ranking_loss: 2+ texts, no label, text lists
  static constexpr sbert::inputs_spec inputs{.texts = sbert::at_least(2), .text_list = true};
};
