// EXPECT: two columns of the schema have the same name
#include "common.hpp"
struct other_s1 : sbert::text_column<"sentence1"> {};
#ifdef SBERT_COMPILE_FAIL
using bad = sbert::schema<s1, other_s1>;
#else
using bad = sbert::schema<s1, s2>;
#endif
int main() { return static_cast<int>(bad::input_count) - 2; }
