// EXPECT: the output of mine_hard_negatives is sbert::mined_triplets, sbert::mined_n_tuples, or a schema of three columns
#include <sbert/util/hard_negatives_schema.hpp>

#include "common.hpp"
int main() {
#ifdef SBERT_COMPILE_FAIL
  sbert::check_mining_schemas<sbert::schema<s1, s2, score>, sbert::schema<s1, s2>>();
#else
  sbert::check_mining_schemas<sbert::schema<s1, s2, negs>, sbert::schema<s1, s2>>();
#endif
}
