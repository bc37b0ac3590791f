// EXPECT: a role column stands where this component reads another role
// MultipleNegativesRankingLoss reads (anchor, positive, negatives...): the ready-made role
// columns given in another order are a compile error, not a silent misread.
#include <sbert/losses/multiple_negatives_ranking.hpp>

using sbert::columns::anchor, sbert::columns::positive, sbert::columns::negative;

int main() {
#ifdef SBERT_COMPILE_FAIL
  sbert::check_inputs_fit<sbert::multiple_negatives_ranking_loss, sbert::schema<negative, positive, anchor>>();
#else
  sbert::check_inputs_fit<sbert::multiple_negatives_ranking_loss, sbert::schema<anchor, positive, negative>>();
#endif
  return 0;
}
