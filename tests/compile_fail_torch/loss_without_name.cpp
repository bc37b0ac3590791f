// EXPECT: a loss needs a name: add `static constexpr std::string_view name
// A user-written loss without `name`: the trainers' check (sbert::check_loss) says what to add
// rather than failing deep inside the model card code.
#include <sbert/losses/loss.hpp>

struct my_loss {
  static constexpr sbert::inputs_spec inputs{.texts = sbert::exactly(2), .labels = sbert::label_kind::score};
#ifndef SBERT_COMPILE_FAIL
  static constexpr std::string_view name = "MyLoss";
#endif
  at::Tensor operator()(std::span<const at::Tensor> e, const at::Tensor&) const { return e[0]; }
};

int main() {
  sbert::check_loss<my_loss>();
  return 0;
}
