// EXPECT: the schema has fewer input \(text\) columns than this component needs
#include "common.hpp"
int main() {
#ifdef SBERT_COMPILE_FAIL
  sbert::check_inputs_fit<pair_score_component, sbert::schema<s1, score>>();
#else
  sbert::check_inputs_fit<pair_score_component, sbert::schema<s1, s2, score>>();
#endif
}
