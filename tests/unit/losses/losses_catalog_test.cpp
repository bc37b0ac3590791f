// The rest of the loss catalog against the real Python library (shared/reference/losses.json,
// embedding_cases): loss within rel 1e-5 (abs 1e-6), input gradients within abs 1e-6 + rel 1e-5
// (the reference README's tolerances); hand-computed values for the losses it does not cover.
#include <algorithm>
#include <functional>
#include <stdexcept>
#include <string>

#include <ATen/ops/allclose.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/tensor.h>
#include <torch/autograd.h>

#include <sbert/losses/angle.hpp>
#include <sbert/losses/batch_triplet.hpp>
#include <sbert/losses/contrastive.hpp>
#include <sbert/losses/cosent.hpp>
#include <sbert/losses/embed_distill.hpp>
#include <sbert/losses/global_orthogonal_regularization.hpp>
#include <sbert/losses/margin_mse.hpp>
#include <sbert/losses/matryoshka.hpp>
#include <sbert/losses/mega_batch_margin.hpp>
#include <sbert/losses/multiple_negatives_ranking.hpp>
#include <sbert/losses/multiple_negatives_symmetric_ranking.hpp>
#include <sbert/losses/online_contrastive.hpp>
#include <sbert/losses/softmax.hpp>

#undef CHECK
#include "catch.hpp"
#include "loss_cases.hpp"

namespace {
using sbert::test::json_tensor;
using sbert::test::loss_params;
using sbert::test::not_mirrored;
using loss_fn = std::function<at::Tensor(std::span<const at::Tensor>, const at::Tensor&)>;

template <class Options>
Options siamese_options(const loss_params& p) {
  Options o{};
  o.margin = p.number("margin", o.margin);
  if (const auto m = p.name("distance_metric"); m == "COSINE_DISTANCE") o.metric = sbert::siamese_distance::cosine_distance;
  else if (m == "EUCLIDEAN") o.metric = sbert::siamese_distance::euclidean;
  else if (m == "MANHATTAN") o.metric = sbert::siamese_distance::manhattan;
  else if (!m.empty()) throw std::runtime_error(p.cls + ": distance_metric " + m + " has no sbert counterpart");
  return o;
}

sbert::batch_distance batch_metric(const loss_params& p) {
  // Python spells it "eucledian_distance".
  if (const auto m = p.name("distance_metric"); m == "eucledian_distance" || m == "euclidean_distance" || m.empty())
    return sbert::batch_distance::euclidean;
  else if (m == "cosine_distance") return sbert::batch_distance::cosine;
  else throw std::runtime_error(p.cls + ": distance_metric " + m + " has no sbert counterpart");
}
template <class Options>
Options batch_options(const loss_params& p) {
  Options o{};
  o.metric = batch_metric(p);
  if constexpr (requires { o.margin; }) o.margin = p.number("margin", o.margin);
  return o;
}

template <class Options>
Options similarity_options(const loss_params& p) {
  Options o{};
  if (const auto s = p.name("similarity_fct"); !s.empty()) o.similarity = sbert::test::similarity_of(s);
  if constexpr (requires { o.temperature; }) o.temperature = p.number("temperature", o.temperature);
  return o;
}

template <class Base>
loss_fn matryoshka_over(Base base, const loss_params& p) {
  typename sbert::matryoshka_loss<Base>::options o;
  o.dims = p.integers("matryoshka_dims");
  o.weights = p.numbers("matryoshka_weights");  // null: all 1
  o.n_dims_per_step = p.integer<int>("n_dims_per_step", o.n_dims_per_step);
  if (o.n_dims_per_step > 0 && static_cast<std::size_t>(o.n_dims_per_step) < o.dims.size())
    throw not_mirrored(p.cls + ": n_dims_per_step " + std::to_string(o.n_dims_per_step) + " samples dims with Python's RNG");
  return sbert::matryoshka_loss<Base>(std::move(base), std::move(o));
}

// The sbert loss for a reference case, configured from the case.
loss_fn catalog_loss(const sbert::test::embedding_case& c, simdjson::dom::element root) {
  using namespace sbert;
  const auto& p = c.params;
  const auto& cls = c.cls;
  if (cls == "MultipleNegativesSymmetricRankingLoss")
    return multiple_negatives_symmetric_ranking_loss{sbert::test::scaled_similarity_options<multiple_negatives_symmetric_ranking_loss::options>(p)};
  if (cls == "AnglELoss") {
    if (const auto s = p.name("similarity_fct"); !s.empty() && s != "pairwise_angle_sim") throw std::runtime_error("AnglELoss: similarity " + s);
    angle_loss::options o;
    o.scale = p.number("scale", o.scale);
    return angle_loss{o};
  }
  if (cls == "ContrastiveLoss") {
    auto o = siamese_options<contrastive_loss::options>(p);
    o.size_average = p.boolean("size_average", o.size_average);
    return contrastive_loss{o};
  }
  if (cls == "OnlineContrastiveLoss") return online_contrastive_loss{siamese_options<online_contrastive_loss::options>(p)};
  if (cls == "BatchAllTripletLoss") return batch_all_triplet_loss{batch_options<batch_all_triplet_loss::options>(p)};
  if (cls == "BatchHardTripletLoss") return batch_hard_triplet_loss{batch_options<batch_hard_triplet_loss::options>(p)};
  if (cls == "BatchHardSoftMarginTripletLoss") return batch_hard_soft_margin_triplet_loss{batch_options<batch_hard_soft_margin_triplet_loss::options>(p)};
  if (cls == "BatchSemiHardTripletLoss") return batch_semi_hard_triplet_loss{batch_options<batch_semi_hard_triplet_loss::options>(p)};
  if (cls == "MSELoss") return mse_loss{};
  if (cls == "MarginMSELoss") return margin_mse_loss{similarity_options<margin_mse_loss::options>(p)};
  if (cls == "DistillKLDivLoss") return distill_kl_div_loss{similarity_options<distill_kl_div_loss::options>(p)};
  if (cls == "MegaBatchMarginLoss") {
    // The mini-batched version re-embeds through the model; with preset embeddings only the
    // plain version is meaningful (the feature-loss test covers the other).
    if (p.boolean("use_mini_batched_version", false)) throw not_mirrored("MegaBatchMarginLoss: use_mini_batched_version on preset embeddings");
    mega_batch_margin_loss::options o;
    o.positive_margin = p.number("positive_margin", o.positive_margin);
    o.negative_margin = p.number("negative_margin", o.negative_margin);
    return mega_batch_margin_loss{o};
  }
  if (cls == "MatryoshkaLoss") {
    const auto inner = p.inner(root);
    if (inner.cls == "MultipleNegativesRankingLoss")
      return matryoshka_over(multiple_negatives_ranking_loss{sbert::test::scaled_similarity_options<multiple_negatives_ranking_loss::options>(inner)}, p);
    if (inner.cls == "CoSENTLoss") return matryoshka_over(cosent_loss{sbert::test::scaled_similarity_options<cosent_loss::options>(inner)}, p);
    if (inner.cls == "MultipleNegativesSymmetricRankingLoss")
      return matryoshka_over(
          multiple_negatives_symmetric_ranking_loss{sbert::test::scaled_similarity_options<multiple_negatives_symmetric_ranking_loss::options>(inner)}, p);
    throw std::runtime_error("MatryoshkaLoss over " + inner.cls + ": not wired in this test");
  }
  throw std::runtime_error("no sbert loss for class " + cls);
}

bool in(const auto& list, const std::string& cls) { return std::find(list.begin(), list.end(), cls) != list.end(); }

void check_close(const at::Tensor& got, const at::Tensor& want, const std::string& what) {
  INFO(what << ": max |diff| = " << (got - want).abs().max().item<double>());
  CHECK(at::allclose(got, want, 1e-5, 1e-6));
}
double value_of(const at::Tensor& t) { return t.item<double>(); }
template <class L>
concept MovableLoss = requires(L& l, const at::Device& d) { l.to(d); };
}  // namespace

TEST_CASE("loss catalog: values and input gradients match sentence-transformers (embedding cases)", "[reference]") {
  sbert::test::json_file f(sbert::test::reference_dir() + "/losses.json");
  auto cases = sbert::test::embedding_cases(f);
  int covered = 0;
  for (auto& c : cases) {
    if (!in(sbert::test::catalog_classes, c.cls)) continue;
    ++covered;
    SECTION(c.id) {
      loss_fn loss;
      try {
        loss = catalog_loss(c, f.root);
      } catch (const not_mirrored& e) {
        WARN(c.id << ": not mirrored: " << e.what());
      }
      if (loss) {
      auto value = loss(c.inputs, c.labels);
      INFO(c.id << ": sbert " << value.item<double>() << " vs python " << c.loss);
      CHECK(std::abs(value.item<double>() - c.loss) <= 1e-6 + 1e-5 * std::abs(c.loss));
      auto grads = torch::autograd::grad({value}, c.inputs, {}, false, false, true);
      REQUIRE(grads.size() == c.grads.size());
      for (std::size_t i = 0; i < grads.size(); ++i) {
        const auto g = grads[i].defined() ? grads[i] : at::zeros_like(c.grads[i]);
        check_close(g, c.grads[i], c.id + " grad " + std::to_string(i));
      }
      }
    }
  }
  CHECK(covered > 0);
}

TEST_CASE("loss catalog: every embedding case of the reference is checked by one of the loss test files", "[reference]") {
  sbert::test::json_file f(sbert::test::reference_dir() + "/losses.json");
  for (auto c : f.root["embedding_cases"]["cases"].get_array()) {
    const std::string cls(std::string_view(c["class"].get_string()));
    INFO(std::string_view(c["id"].get_string()) << " (class " << cls << ")");
    CHECK((in(sbert::test::core_classes, cls) || in(sbert::test::catalog_classes, cls)));
  }
}

TEST_CASE("loss catalog: batch triplet losses refuse a batch without a positive pair, naming group_by_label") {
  auto e = at::randn({4, 8});
  auto y = at::tensor({0, 1, 2, 3}, at::kLong);
  std::vector<at::Tensor> in{e};
  auto msg = Catch::Matchers::Contains("group_by_label");
  CHECK_THROWS_WITH(sbert::batch_semi_hard_triplet_loss{}(in, y), msg);
  CHECK_THROWS_WITH(sbert::batch_hard_triplet_loss{}(in, y), msg);
  CHECK_THROWS_WITH(sbert::batch_hard_soft_margin_triplet_loss{}(in, y), msg);
  CHECK_THROWS_WITH(sbert::batch_all_triplet_loss{}(in, y), msg);
  CHECK_NOTHROW(sbert::batch_semi_hard_triplet_loss{}(in, at::tensor({0, 1, 0, 3}, at::kLong)));
}

TEST_CASE("loss catalog: ContrastiveLoss manhattan and size_average=false, by hand") {
  auto x = at::tensor({1.0f, 2.0f, 0.0f, 0.0f}).reshape({2, 2});
  auto z = at::tensor({1.0f, 0.0f, 0.0f, 0.5f}).reshape({2, 2});
  std::vector<at::Tensor> in{x, z};
  auto y = at::tensor({1, 0}, at::kLong);
  // d = |x - z + 1e-6|_1: row 0: 2 + 2e-6 (the eps is added to each component: |0+1e-6|+|2+1e-6|),
  // row 1: |1e-6| + |-0.5 + 1e-6|.
  const double d0 = 1e-6 + 2.0 + 1e-6, d1 = 1e-6 + 0.5 - 1e-6;
  sbert::contrastive_loss l({.metric = sbert::siamese_distance::manhattan, .margin = 1.0, .size_average = false});
  const double want = 0.5 * d0 * d0 + 0.5 * (1.0 - d1) * (1.0 - d1);
  CHECK(value_of(l(in, y)) == Approx(want).epsilon(1e-5));
}

TEST_CASE("loss catalog: EmbedDistillLoss metrics, broadcast and per-column labels, projection parameters") {
  auto s1 = at::tensor({3.0f, 4.0f, 1.0f, 0.0f}).reshape({2, 2});
  auto s2 = at::tensor({0.0f, 1.0f, 1.0f, 1.0f}).reshape({2, 2});
  auto t = at::tensor({3.0f, 0.0f, 0.0f, 2.0f}).reshape({2, 2});
  std::vector<at::Tensor> one{s1}, two{s1, s2};
  using m = sbert::embed_distill_loss::metric;
  // cosine: rows (3,4)·(3,0) -> 9/15 = 0.6; (1,0)·(0,2) -> 0 => mean(1 - cos) = (0.4 + 1) / 2
  CHECK(value_of(sbert::embed_distill_loss{}(one, t)) == Approx(0.7));
  // l2: ||(0,4)|| = 4, ||(1,-2)|| = sqrt 5
  CHECK(value_of(sbert::embed_distill_loss{{.distance = m::l2}}(one, t)) == Approx((4 + std::sqrt(5.0)) / 2));
  // mse on column 2 with per-column labels [B, 2, D]: s2 - t2 with t2 = s2 gives 0, so the mean
  // over the two columns is half of column 1's mse = (0 + 16 + 1 + 4) / 4 / 2.
  auto per_col = at::stack({t, s2}, 1);
  CHECK(value_of(sbert::embed_distill_loss{{.distance = m::mse}}(two, per_col)) == Approx(21.0 / 4 / 2));
  CHECK_THROWS_AS(sbert::embed_distill_loss{}(one, per_col), sbert::error);  // 2 teacher columns, 1 text column
  sbert::embed_distill_loss proj({.distance = m::cosine, .projection_dim = 3, .student_dim = 2});
  REQUIRE(proj.parameters().size() == 2);
  CHECK(proj.parameters()[0].sizes() == at::IntArrayRef({3, 2}));
  auto t3 = at::randn({2, 3});
  auto v = proj(one, t3);
  auto g = torch::autograd::grad({v}, {proj.weight()});
  CHECK(g[0].abs().sum().item<double>() > 0);
}

TEST_CASE("loss catalog: GlobalOrthogonalRegularizationLoss by hand, and combined with MNRL as named parts") {
  // Orthogonal unit rows: every off-diagonal cosine is 0, so both terms are 0.
  auto eye = at::eye(3);
  std::vector<at::Tensor> orth{eye};
  auto p = sbert::global_orthogonal_regularization_loss{}(orth, {});
  REQUIRE(p.parts.size() == 2);
  CHECK(p.parts[0].first == "gor_mean");
  CHECK(value_of(p.total()) == Approx(0.0).margin(1e-12));
  // Two identical rows in 2-d: off-diagonal cos = 1 twice: M1 = 1, M2 = 1 -> 1 + relu(1 - 1/2).
  auto same = at::tensor({1.0f, 1.0f, 1.0f, 1.0f}).reshape({2, 2});
  auto cols = std::vector<at::Tensor>{same, eye.narrow(0, 0, 2).narrow(1, 0, 2)};
  auto q = sbert::global_orthogonal_regularization_loss{}(cols, {});
  // column 2 (orthogonal) gives 0 and 0; mean over columns halves column 1's terms.
  CHECK(value_of(q.parts[0].second) == Approx(0.5));
  CHECK(value_of(q.parts[1].second) == Approx(0.25));
  auto s = sbert::global_orthogonal_regularization_loss{{.second_moment_weight = 0, .sum_over_columns = true}}(cols, {});
  REQUIRE(s.parts.size() == 1);
  CHECK(value_of(s.parts[0].second) == Approx(1.0));
  CHECK_THROWS_AS(sbert::global_orthogonal_regularization_loss({.mean_weight = 0, .second_moment_weight = 0}), sbert::error);

  auto a = at::randn({4, 8}), b = at::randn({4, 8});
  std::vector<at::Tensor> ab{a, b};
  sbert::combined_loss both(sbert::multiple_negatives_ranking_loss{}, sbert::global_orthogonal_regularization_loss{}, "mnrl");
  auto parts = both(ab, {});
  REQUIRE(parts.parts.size() == 3);
  CHECK(parts.parts[0].first == "mnrl");
  CHECK(parts.parts[2].first == "gor_second_moment");
  const double want = value_of(sbert::multiple_negatives_ranking_loss{}(ab, {})) +
                      value_of(sbert::global_orthogonal_regularization_loss{}(ab, {}).total());
  CHECK(value_of(parts.total()) == Approx(want).epsilon(1e-6));
  static_assert(sbert::EmbeddingLoss<decltype(both)>);
}

TEST_CASE("loss catalog: MatryoshkaLoss validation, vector-label truncation and n_dims_per_step") {
  using M = sbert::matryoshka_loss<sbert::mse_loss>;
  CHECK_THROWS_AS(M({}, {.dims = {}}), sbert::error);
  CHECK_THROWS_AS(M({}, {.dims = {8, 0}}), sbert::error);
  CHECK_THROWS_AS(M({}, {.dims = {8, 4}, .weights = {1.0}}), sbert::error);
  M m({}, {.dims = {2, 4}, .weights = {0.5, 1.0}});
  CHECK(m.opts().dims == std::vector<std::int64_t>{4, 2});
  CHECK(m.opts().weights == std::vector<double>{1.0, 0.5});
  auto e = at::randn({3, 4});
  auto t = at::randn({3, 4});
  std::vector<at::Tensor> in{e};
  // The label is truncated to d but not normalised; the embedding is truncated and normalised.
  auto want = sbert::mse_loss{}(std::vector<at::Tensor>{sbert::detail::unit_rows(e)}, t) +
              0.5 * sbert::mse_loss{}(std::vector<at::Tensor>{sbert::detail::unit_rows(e.narrow(1, 0, 2))}, t.narrow(1, 0, 2));
  CHECK(value_of(m(in, t)) == Approx(value_of(want)).epsilon(1e-6));
  M too_big({}, {.dims = {8}});
  CHECK_THROWS_AS(too_big(in, t), sbert::error);
  // One dim per step: the value is one of the two weighted terms.
  M one({}, {.dims = {4, 2}, .n_dims_per_step = 1});
  const double v = value_of(one(in, t));
  const double full = value_of(sbert::mse_loss{}(std::vector<at::Tensor>{sbert::detail::unit_rows(e)}, t));
  const double half = value_of(sbert::mse_loss{}(std::vector<at::Tensor>{sbert::detail::unit_rows(e.narrow(1, 0, 2))}, t.narrow(1, 0, 2)));
  CHECK((v == Approx(full) || v == Approx(half)));
}

TEST_CASE("loss catalog: each declares the schema it fits") {
  struct s1 : sbert::text_column<"s1"> {};
  struct s2 : sbert::text_column<"s2"> {};
  struct s3 : sbert::text_column<"s3"> {};
  struct sc : sbert::score_column<"score"> {};
  struct lab : sbert::class_column<"label"> {};
  struct vec : sbert::vector_column<"teacher"> {};
  using namespace sbert;
  static_assert(LossFor<batch_semi_hard_triplet_loss, schema<s1, lab>>);
  static_assert(!LossFor<batch_semi_hard_triplet_loss, schema<s1, s2, lab>>);
  static_assert(!LossFor<batch_all_triplet_loss, schema<s1, sc>>);
  static_assert(LossFor<contrastive_loss, schema<s1, s2, lab>> && LossFor<contrastive_loss, schema<s1, s2, sc>>);
  static_assert(LossFor<online_contrastive_loss, schema<s1, s2, lab>>);
  static_assert(LossFor<angle_loss, schema<s1, s2, sc>> && !LossFor<angle_loss, schema<s1, s2, lab>>);
  static_assert(LossFor<mse_loss, schema<s1, vec>> && LossFor<mse_loss, schema<s1, s2, vec>> && !LossFor<mse_loss, schema<s1, sc>>);
  static_assert(LossFor<embed_distill_loss, schema<s1, s2, vec>>);
  static_assert(LossFor<margin_mse_loss, schema<s1, s2, s3, sc>> && LossFor<margin_mse_loss, schema<s1, s2, s3, vec>>);
  static_assert(!LossFor<margin_mse_loss, schema<s1, s2, sc>>);
  static_assert(LossFor<distill_kl_div_loss, schema<s1, s2, s3, vec>> && !LossFor<distill_kl_div_loss, schema<s1, s2, s3, sc>>);
  static_assert(LossFor<mega_batch_margin_loss, schema<s1, s2>> && !LossFor<mega_batch_margin_loss, schema<s1, s2, s3>>);
  static_assert(LossFor<multiple_negatives_symmetric_ranking_loss, schema<s1, s2, s3>>);
  static_assert(LossFor<global_orthogonal_regularization_loss, schema<s1>> && !LossFor<global_orthogonal_regularization_loss, schema<s1, sc>>);
  static_assert(LossFor<matryoshka_loss<cosent_loss>, schema<s1, s2, sc>> && !LossFor<matryoshka_loss<cosent_loss>, schema<s1, s2>>);
  static_assert(EmbeddingLoss<matryoshka_loss<multiple_negatives_ranking_loss>>);
  static_assert(HasParameters<embed_distill_loss>);
  // Wrappers forward to(device) exactly when the base loss has weights to move.
  static_assert(MovableLoss<matryoshka_loss<softmax_loss>> && !MovableLoss<matryoshka_loss<cosent_loss>>);
  static_assert(MovableLoss<combined_loss<softmax_loss, global_orthogonal_regularization_loss>>);
  static_assert(HasParameters<matryoshka_loss<softmax_loss>>);
  matryoshka_loss<softmax_loss> ms(softmax_loss({.sentence_embedding_dimension = 4, .num_labels = 2}), {.dims = {4, 2}});
  CHECK(ms.parameters().size() == 2);
  SUCCEED();
}
