// EXPECT: a role column stands where this component reads another role
// The ready-made role columns in the wrong order: a ranking loss would take the negative for
// the anchor and train silently on the misread, so the schema is rejected.
#include "common.hpp"
struct ranking_with_roles {  // declared as multiple_negatives_ranking_loss is
  static constexpr sbert::inputs_spec inputs{.texts = sbert::at_least(2), .text_list = true, .roles = sbert::roles::ranking};
};
using sbert::columns::anchor, sbert::columns::positive, sbert::columns::negative;
int main() {
#ifdef SBERT_COMPILE_FAIL
  sbert::check_inputs_fit<ranking_with_roles, sbert::schema<negative, positive, anchor>>();
#else
  sbert::check_inputs_fit<ranking_with_roles, sbert::schema<anchor, positive, negative>>();
#endif
}
