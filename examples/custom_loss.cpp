// A loss of your own, and how sbert picks it up: no base class and no registration, just a
// type that says which data it takes and computes a tensor.
//
//   custom_loss [reference_dir]
//
// The loss below is a cosine "hinge" on scored pairs with a learnable margin:
//   L = mean_i (cos(u_i, v_i) - y_i)^2 + mean_i relu(margin - cos(u_i, v_i)) * y_i
// It runs on the tiny reference model (shared/reference/tiny-bert-st) for a few steps.
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <ATen/ops/cosine_similarity.h>
#include <ATen/ops/full.h>
#include <ATen/ops/relu.h>
#include <ATen/ops/tensor.h>

#include <sbert/concepts.hpp>
#include <sbert/data/dataset.hpp>
#include <sbert/losses/loss.hpp>
#include <sbert/losses/matryoshka.hpp>
#include <sbert/models/sentence_transformer.hpp>
#include <sbert/training/trainer.hpp>

// 1. What a custom loss declares.
class scored_pair_hinge_loss {
 public:
  // The data it takes: exactly two text columns and a float score label. The trainer checks
  // the data set's schema against this at compile time: a misfit (a class label, three text
  // columns, no label ...) is a compile error whose note names the rule and the fix.
  static constexpr sbert::inputs_spec inputs{.texts = sbert::exactly(2), .labels = sbert::label_kind::score};
  // Its name (logs, model card) and its settings as JSON literals.
  static constexpr std::string_view name = "ScoredPairHingeLoss";
  [[nodiscard]] sbert::config_entries config() const { return {{"initial_margin", sbert::detail::json_number(initial_margin_)}}; }

  explicit scored_pair_hinge_loss(double margin = 0.5)
      : initial_margin_(margin), margin_(at::full({}, margin).set_requires_grad(true)) {}

  // 2. The computation: one [batch, dim] embedding tensor per text column (schema order) and
  // the labels ([batch] floats here). Return a scalar tensor; the trainer calls backward().
  // (Return sbert::loss_parts instead to have several named terms logged one by one.)
  [[nodiscard]] at::Tensor operator()(std::span<const at::Tensor> e, const at::Tensor& labels) const {
    const auto cos = at::cosine_similarity(e[0], e[1], 1);
    const auto y = labels.to(cos.scalar_type());
    return (cos - y).pow(2).mean() + (at::relu(margin_ - cos) * y).mean();
  }

  // 3. Optional: trainable parameters of the loss itself. The trainer adds whatever
  // parameters() returns to the optimizer (HasParameters), and calls to(device) if present.
  [[nodiscard]] std::vector<at::Tensor> parameters() const { return {margin_}; }
  void to(const at::Device& d) { margin_ = margin_.detach().to(d).set_requires_grad(true); }

 private:
  double initial_margin_;
  at::Tensor margin_;
};

// What the trainer sees: an EmbeddingLoss (the alternative is a FeatureLoss, called with the
// model and the tokenized batches, for losses that drive the model themselves) ...
static_assert(sbert::EmbeddingLoss<scored_pair_hinge_loss> && sbert::HasParameters<scored_pair_hinge_loss>);

// ... that fits a (sentence1, sentence2, score) data set and not a triplet set:
struct sentence1 : sbert::text_column<"sentence1"> {};
struct sentence2 : sbert::text_column<"sentence2"> {};
struct score : sbert::score_column<"score"> {};
struct sentence3 : sbert::text_column<"sentence3"> {};
using pairs = sbert::schema<sentence1, sentence2, score>;
static_assert(sbert::LossFor<scored_pair_hinge_loss, pairs>);
static_assert(!sbert::LossFor<scored_pair_hinge_loss, sbert::schema<sentence1, sentence2, sentence3>>);
// sbert::check_inputs_fit<scored_pair_hinge_loss, sbert::schema<sentence1, sentence2, sentence3>>();
//   ^ would not compile: "the schema's label column ..." / "needs a label column" notes.

// And it composes with the wrappers at compile time, like any built-in loss:
using matryoshka_hinge = sbert::matryoshka_loss<scored_pair_hinge_loss>;
static_assert(sbert::LossFor<matryoshka_hinge, pairs>);

int main(int argc, char** argv) try {
  const std::string ref = argc > 1 ? argv[1] : std::string(SBERT_SHARED_DIR) + "/reference";
  auto model = sbert::models::sentence_transformer::load(ref + "/tiny-bert-st");

  auto train = sbert::dataset<pairs>::from_columns(
      std::vector<std::string>{"A man is playing a guitar.", "A woman slices an onion.", "Kids play football outside.",
                               "The stock market fell today.", "A cat sleeps on the sofa.", "Two dogs run in a field.",
                               "He is reading a newspaper.", "The train is late again."},
      std::vector<std::string>{"A person plays the guitar.", "Someone is cutting vegetables.", "Children are playing soccer.",
                               "It is raining in Paris.", "A kitten naps on a couch.", "A plane takes off.",
                               "A man reads the news.", "Bananas are yellow."},
      std::vector<float>{0.95f, 0.8f, 0.9f, 0.05f, 0.9f, 0.1f, 0.85f, 0.0f});

  // Called directly on embeddings, as the trainer does for an embedding loss:
  scored_pair_hinge_loss loss(0.5);
  const std::vector<std::string> a{"A man is playing a guitar.", "The stock market fell today."};
  const std::vector<std::string> b{"A person plays the guitar.", "It is raining in Paris."};
  std::vector<at::Tensor> emb{model->encode(a), model->encode(b)};
  const auto y = at::tensor({1.0f, 0.0f});
  std::printf("loss on two encoded pairs: %.4f\n", loss(emb, y).item<double>());

  // Picked up by the trainer: it checks the schema, trains the model and the loss's margin.
  sbert::training_args args{.output_dir = "custom_loss_out", .max_steps = 4, .per_device_train_batch_size = 4,
                            .learning_rate = 1e-3, .save_strategy = sbert::interval_strategy::no, .logging_steps = 1};
  sbert::trainer trainer{model, args, train, matryoshka_hinge(loss, {.dims = {128, 64}})};
  const auto result = trainer.train();
  std::printf("trained %lld steps with %s over %s, mean loss %.4f\n", static_cast<long long>(result.global_step),
              std::string(matryoshka_hinge::name).c_str(), std::string(scored_pair_hinge_loss::name).c_str(), result.training_loss);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
