// EXPECT: a text-list column must be the last input column
#include "common.hpp"
#ifdef SBERT_COMPILE_FAIL
using bad = sbert::schema<negs, s1>;
#else
using bad = sbert::schema<s1, negs>;
#endif
int main() { return static_cast<int>(bad::input_count) - 2; }
