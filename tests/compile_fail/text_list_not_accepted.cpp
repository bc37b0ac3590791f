// EXPECT: the schema has a text-list column \(many texts per row\), which this component does not take
#include "common.hpp"
int main() {
#ifdef SBERT_COMPILE_FAIL
  sbert::check_inputs_fit<pair_score_component, sbert::schema<s1, negs, score>>();
#else
  sbert::check_inputs_fit<ranking_component, sbert::schema<s1, negs>>();
#endif
}
