// EXPECT: mine_hard_negatives reads \(anchor, positive\) pairs: the data set needs exactly two text columns
#include <sbert/util/hard_negatives_schema.hpp>

#include "common.hpp"
int main() {
#ifdef SBERT_COMPILE_FAIL
  sbert::check_mining_schemas<sbert::mined_triplets, sbert::schema<s1, negs>>();
#else
  sbert::check_mining_schemas<sbert::mined_triplets, sbert::schema<s1, s2>>();
#endif
}
