// EXPECT: Base must be an embedding loss
// The wrappers compose at compile time with embedding losses only: Matryoshka over a GradCache
// loss is written the other way round (grad_cache_loss<matryoshka_loss<Core>>), and the
// static_assert says so.
#include <sbert/losses/cached.hpp>
#include <sbert/losses/matryoshka.hpp>
#include <sbert/losses/multiple_negatives_ranking.hpp>

int main() {
#ifdef SBERT_COMPILE_FAIL
  using wrong = sbert::matryoshka_loss<sbert::cached_multiple_negatives_ranking_loss>;
  return static_cast<int>(sizeof(wrong)) == 0;
#else
  using right = sbert::grad_cache_loss<sbert::matryoshka_loss<sbert::multiple_negatives_ranking_loss>>;
  static_assert(sbert::FeatureLoss<right>);
  return static_cast<int>(sizeof(right)) == 0;
#endif
}
