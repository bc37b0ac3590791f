// EXPECT: rename_column keeps the values, so both columns must be of the same kind
#include "common.hpp"
struct other_score : sbert::score_column<"similarity"> {};
int main() {
  sbert::dataset<sbert::schema<s1, s2, score>> d;
#ifdef SBERT_COMPILE_FAIL
  auto r = d.rename_column<score, s3>();
#else
  auto r = d.rename_column<score, other_score>();
#endif
  return static_cast<int>(r.size());
}
