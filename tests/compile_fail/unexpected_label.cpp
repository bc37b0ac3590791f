// EXPECT: this component takes no label, but the schema has a label column
#include "common.hpp"
int main() {
#ifdef SBERT_COMPILE_FAIL
  sbert::check_inputs_fit<ranking_component, sbert::schema<s1, s2, score>>();
#else
  sbert::check_inputs_fit<ranking_component, sbert::schema<s1, s2>>();
#endif
}
