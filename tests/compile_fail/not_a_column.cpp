// EXPECT: every schema argument must be a column type
#include "common.hpp"
#ifdef SBERT_COMPILE_FAIL
using bad = sbert::schema<s1, int>;
#else
using bad = sbert::schema<s1>;
#endif
int main() { return static_cast<int>(bad::input_count) - 1; }
