// EXPECT: this component needs a label column, and the schema has none
// Training CoSENT (text, text, score) on (anchor, positive) pairs: the trainer refuses it at
// compile time, naming the rule and the fix.
#include <sbert/losses/cosent.hpp>
#include <sbert/losses/multiple_negatives_ranking.hpp>
#include <sbert/training/trainer.hpp>

struct anchor : sbert::text_column<"anchor"> {};
struct positive : sbert::text_column<"positive"> {};
using pairs = sbert::schema<anchor, positive>;

int main() {
  std::shared_ptr<sbert::models::sentence_transformer> model;
  sbert::dataset<pairs> train;
#ifdef SBERT_COMPILE_FAIL
  sbert::trainer t{model, sbert::training_args{}, train, sbert::cosent_loss{}};
#else
  sbert::trainer t{model, sbert::training_args{}, train, sbert::multiple_negatives_ranking_loss{}};
#endif
  return 0;
}
