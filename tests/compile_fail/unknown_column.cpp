// EXPECT: the column is not part of this data set.s schema
#include "common.hpp"
int main() {
  sbert::dataset<sbert::schema<s1, s2>> d;
#ifdef SBERT_COMPILE_FAIL
  return static_cast<int>(d.column<s3>().size());
#else
  return static_cast<int>(d.column<s2>().size());
#endif
}
