// EXPECT: the group_by_label batch sampler groups rows by their class label, and the schema has no class_column
#include "common.hpp"
#include <sbert/samplers/group_by_label.hpp>
int main() {
#ifdef SBERT_COMPILE_FAIL
  sbert::dataset<sbert::schema<s1, s2, score>> d;
#else
  sbert::dataset<sbert::schema<s1, label>> d;
#endif
  // Built but never run: an empty data set would throw at run time; the check is the compile.
  if (d.size() > 0) sbert::group_by_label_batch_sampler sampler(d, 4);
}
