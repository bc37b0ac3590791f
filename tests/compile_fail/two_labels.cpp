// EXPECT: a schema may have at most one label column
#include "common.hpp"
#ifdef SBERT_COMPILE_FAIL
using bad = sbert::schema<s1, score, label>;
#else
using bad = sbert::schema<s1, score>;
#endif
int main() { return static_cast<int>(bad::input_count) - 1; }
