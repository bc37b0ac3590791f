// EXPECT: a column appears twice in the schema.*a schema may have at most one label column
// A schema that breaks two of its own rules gets both messages in one compile.
#include "common.hpp"
#ifdef SBERT_COMPILE_FAIL
using bad = sbert::schema<s1, s1, score, label>;
#else
using bad = sbert::schema<s1, s2, score>;
#endif
int main() { return static_cast<int>(bad::input_count) - 2; }
