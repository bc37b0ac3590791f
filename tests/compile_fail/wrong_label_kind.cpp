// EXPECT: the schema.s label column has the wrong kind for this component
#include "common.hpp"
int main() {
#ifdef SBERT_COMPILE_FAIL
  sbert::check_inputs_fit<pair_score_component, sbert::schema<s1, s2, label>>();
#else
  sbert::check_inputs_fit<pair_score_component, sbert::schema<s1, s2, score>>();
#endif
}
