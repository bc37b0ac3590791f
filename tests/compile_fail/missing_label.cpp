// EXPECT: this component needs a label column, and the schema has none
#include "common.hpp"
int main() {
#ifdef SBERT_COMPILE_FAIL
  sbert::check_inputs_fit<pair_score_component, sbert::schema<s1, s2>>();
#else
  sbert::check_inputs_fit<pair_score_component, sbert::schema<s1, s2, score>>();
#endif
}
