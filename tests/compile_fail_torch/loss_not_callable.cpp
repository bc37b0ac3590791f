// EXPECT: the loss type is not a loss: it needs `static constexpr sbert::inputs_spec inputs` and an operator\(\)
// A loss whose call operator takes the wrong arguments: the trainers' check (sbert::check_loss)
// says which forms a loss may have.
#include <sbert/losses/loss.hpp>

struct my_loss {
  static constexpr sbert::inputs_spec inputs{.texts = sbert::exactly(2), .labels = sbert::label_kind::score};
  static constexpr std::string_view name = "MyLoss";
#ifdef SBERT_COMPILE_FAIL
  at::Tensor operator()(const at::Tensor& a, const at::Tensor&) const { return a; }
#else
  at::Tensor operator()(std::span<const at::Tensor> e, const at::Tensor&) const { return e[0]; }
#endif
};

int main() {
  sbert::check_loss<my_loss>();
  return 0;
}
