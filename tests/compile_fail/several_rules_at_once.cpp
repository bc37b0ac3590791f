// EXPECT: fewer input \(text\) columns than this component needs.*needs a label column.*a role column stands
// A schema that breaks three rules of a component gets all three messages in one compile.
#include "common.hpp"
struct triplet_with_score {
  static constexpr sbert::inputs_spec inputs{.texts = sbert::exactly(3), .labels = sbert::label_kind::score,
                                             .roles = sbert::roles::triplet};
};
using sbert::columns::anchor, sbert::columns::positive, sbert::columns::negative;
int main() {
#ifdef SBERT_COMPILE_FAIL
  sbert::check_inputs_fit<triplet_with_score, sbert::schema<positive, anchor>>();
#else
  sbert::check_inputs_fit<triplet_with_score, sbert::schema<anchor, positive, negative, score>>();
#endif
}
