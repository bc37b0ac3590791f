// EXPECT: a column appears twice in the schema
#include "common.hpp"
#ifdef SBERT_COMPILE_FAIL
using bad = sbert::schema<s1, s1>;
#else
using bad = sbert::schema<s1, s2>;
#endif
int main() { return static_cast<int>(bad::input_count) - 2; }
