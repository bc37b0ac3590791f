// sbert::fit (Python's legacy SentenceTransformer.fit): the arguments it maps, the same weights
// as the trainer built by hand, output_path saving (final model, or the best by the
// evaluator), the epoch-end evaluation and callback, and checkpoints.
#include <filesystem>

#include <sbert/data/readers.hpp>
#include <sbert/losses/cosent.hpp>
#include <sbert/losses/multiple_negatives_ranking.hpp>
#include <sbert/training/fit.hpp>
#include <sbert/training/trainer.hpp>

#undef CHECK
#include "catch.hpp"
#include "reference_json.hpp"

namespace fs = std::filesystem;
namespace {
struct s1 : sbert::text_column<"sentence1"> {};
struct s2 : sbert::text_column<"sentence2"> {};
struct sc : sbert::score_column<"score"> {};
using sts = sbert::schema<s1, s2, sc>;
using triplets = sbert::schema<sbert::columns::anchor, sbert::columns::positive, sbert::columns::negative>;

sbert::dataset<sts> stsb(std::size_t n) {
  sbert::read_options o;
  o.header = false;
  o.positions = {{"score", 4}, {"sentence1", 5}, {"sentence2", 6}};
  o.extra_fields = sbert::extra_fields::ignore;
  return sbert::read_tsv<sts>(sbert::test::shared_dir() + "/data/stsbenchmark/sts-train.csv", o)
      .take(n)
      .map_column<sc>([](float s) { return s / 5.f; });
}
sbert::dataset<triplets> nli(std::size_t n) {
  return sbert::read_tsv<triplets>(sbert::test::shared_dir() + "/data/nli/nli_dev_triplets.tsv").take(n);
}

// The tiny model with config.json's dropout on: both runs must draw the same masks.
std::shared_ptr<sbert::models::sentence_transformer> tiny() {
  return sbert::models::sentence_transformer::load(sbert::test::reference_dir() + "/tiny-bert-st");
}
std::vector<at::Tensor> params(sbert::models::sentence_transformer& m) {
  std::vector<at::Tensor> out;
  for (auto& p : m.named_parameters(true)) out.push_back(p.value().detach().clone());
  return out;
}
double max_diff(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
  REQUIRE(a.size() == b.size());
  double d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, (a[i] - b[i]).abs().max().item<double>());
  return d;
}
fs::path fresh(const std::string& name) {
  const auto p = fs::temp_directory_path() / name;
  fs::remove_all(p);
  return p;
}

// An evaluator that scores from a script and remembers the weights it saw at each call.
struct scripted_evaluator : sbert::evaluator {
  std::vector<double> scores;
  std::vector<std::vector<at::Tensor>> seen;
  std::vector<int> steps;
  explicit scripted_evaluator(std::vector<double> s) : sbert::evaluator("dev"), scores(std::move(s)) { primary_ = "score"; }
  sbert::metric_map operator()(sbert::models::sentence_transformer& m, const std::string&, int, int st) override {
    REQUIRE(seen.size() < scores.size());
    seen.push_back(params(m));
    steps.push_back(st);
    return {{prefixed("score"), scores[seen.size() - 1]}};
  }
};

// fit's settings for these tests. Without a checkpoint_path fit writes its trainer folder to
// checkpoints/model under the working directory, as Python does: a fresh temporary one.
sbert::fit_options quiet(const std::string& name) {
  const auto cwd = fresh(name);
  fs::create_directories(cwd);
  fs::current_path(cwd);
  return {.warmup_steps = 2, .optimizer_params = {.lr = 1e-3}, .show_progress_bar = false, .report_to = {"none"},
          .log_level = sbert::log_level::error};
}
/// The trainer settings fit's should amount to, written out by hand.
sbert::training_args by_hand(const std::string& name) {
  sbert::training_args a;
  a.output_dir = fresh(name).string();
  a.num_train_epochs = 1;
  a.per_device_train_batch_size = 8;
  a.learning_rate = 1e-3;
  a.weight_decay = 0.01;
  a.warmup_steps = 2;
  a.save_strategy = sbert::interval_strategy::no;
  a.report_to = {"none"};
  a.log_level = sbert::log_level::error;
  a.disable_progress_bar = true;
  return a;
}
}  // namespace

TEST_CASE("fit: Python's defaults and argument mapping") {
  const auto a = sbert::fit_training_args({.checkpoint_path = "ck"});
  CHECK(a.learning_rate == 2e-5);
  CHECK(a.weight_decay == 0.01);
  CHECK(a.warmup_steps == 10000);
  CHECK(a.num_train_epochs == 1);
  CHECK(a.max_steps == -1);
  CHECK(a.per_device_train_batch_size == 8);
  CHECK(a.lr_scheduler_type == sbert::lr_scheduler_type::linear);
  CHECK(a.multi_dataset_batch_sampler == sbert::multi_dataset_batch_sampler::round_robin);
  CHECK(a.eval_strategy == sbert::interval_strategy::no);
  CHECK(a.save_strategy == sbert::interval_strategy::steps);
  CHECK(a.save_steps == 500);
  CHECK(!a.save_total_limit);  // Python's 0: keep all
  CHECK(a.output_dir == "ck");
  const auto b = sbert::fit_training_args({.epochs = 1, .steps_per_epoch = 7, .scheduler = "warmupCosine", .evaluation_steps = 3,
                                           .checkpoint_save_total_limit = 2, .batch_size = 16, .log_level = sbert::log_level::error});
  CHECK(b.max_steps == 7);
  CHECK(b.lr_scheduler_type == sbert::lr_scheduler_type::cosine);
  CHECK(b.eval_strategy == sbert::interval_strategy::steps);
  CHECK(b.eval_steps == 3.0);
  CHECK(b.save_strategy == sbert::interval_strategy::no);  // no checkpoint_path
  CHECK(b.save_total_limit == 2);
  CHECK(b.per_device_eval_batch_size == 16);
  CHECK(sbert::fit_training_args({.epochs = 2, .steps_per_epoch = 7, .log_level = sbert::log_level::error}).max_steps == -1);
  CHECK(sbert::fit_training_args({.scheduler = "ConstantLR"}).lr_scheduler_type == sbert::lr_scheduler_type::constant);
  CHECK_THROWS_WITH(sbert::fit_training_args({.scheduler = "WarmupCosineWithHardRestarts"}), Catch::Contains("not available"));
  CHECK_THROWS_WITH(sbert::fit_training_args({.scheduler = "step"}), Catch::Contains("unknown scheduler"));
}

TEST_CASE("fit: one objective trains the same weights as the trainer built by hand") {
  auto a = tiny(), b = tiny();
  const auto before = params(*a);
  auto r = sbert::fit(a, sbert::objective(stsb(24), sbert::cosent_loss{}), quiet("sbert_fit_one"));
  CHECK(r.global_step == 3);
  CHECK(fs::exists("checkpoints/model/trainer_log.jsonl"));  // Python's default trainer folder
  CHECK(!fs::exists("checkpoints/model/checkpoint-3"));      // no checkpoint_path: no checkpoints
  // that folder is taken now: the next fit uses checkpoints/model_1
  CHECK(sbert::fit_training_args({}).output_dir == "checkpoints/model_1");

  sbert::trainer t{b, by_hand("sbert_fit_one_ref"), stsb(24), sbert::cosent_loss{}};
  t.train();
  CHECK(max_diff(params(*a), before) > 1e-4);  // it trained
  CHECK(max_diff(params(*a), params(*b)) <= 1e-6);
}

TEST_CASE("fit: two objectives, round robin, the same weights as the multi-dataset trainer") {
  auto a = tiny(), b = tiny();
  auto r = sbert::fit(a, sbert::objectives(sbert::objective(nli(16), sbert::multiple_negatives_ranking_loss{}),
                                           sbert::objective(stsb(24), sbert::cosent_loss{})),
                      quiet("sbert_fit_two"));
  CHECK(r.global_step == 4);  // round robin: 2 x min(2, 3)

  auto args = by_hand("sbert_fit_two_ref");
  args.multi_dataset_batch_sampler = sbert::multi_dataset_batch_sampler::round_robin;
  sbert::multi_dataset_trainer t{b, args, sbert::train_on("nli", nli(16), sbert::multiple_negatives_ranking_loss{}),
                                 sbert::train_on("sts", stsb(24), sbert::cosent_loss{})};
  CHECK(t.train().global_step == 4);
  CHECK(max_diff(params(*a), params(*b)) <= 1e-6);
}

TEST_CASE("fit: output_path without an evaluator holds the final model and its card") {
  auto m = tiny();
  auto o = quiet("sbert_fit_out");
  o.output_path = "out";
  sbert::fit(m, sbert::objective(stsb(16), sbert::cosent_loss{}), o);
  REQUIRE(fs::exists("out/README.md"));
  auto saved = sbert::models::sentence_transformer::load("out");
  CHECK(max_diff(params(*saved), params(*m)) == 0.0);
}

TEST_CASE("fit: evaluator every evaluation_steps and at the epoch end, save_best_model, callback, checkpoints") {
  auto m = tiny();
  // steps 1, 2, 3 from the trainer, then step 3 again at the epoch's end (Python's EvaluatorCallback)
  auto ev = std::make_shared<scripted_evaluator>(std::vector<double>{0.5, 0.9, 0.7, 0.6});
  std::vector<std::pair<double, std::int64_t>> calls;
  auto o = quiet("sbert_fit_best");
  o.evaluator = ev;
  o.evaluation_steps = 1;
  o.output_path = "out";
  o.checkpoint_path = "ck";
  o.checkpoint_save_steps = 1;
  o.checkpoint_save_total_limit = 2;
  o.callback = [&](double score, double, std::int64_t step) { calls.emplace_back(score, step); };
  sbert::fit(m, sbert::objective(stsb(24), sbert::cosent_loss{}), o);

  REQUIRE(ev->seen.size() == 4);
  CHECK(ev->steps == std::vector<int>{1, 2, 3, 3});
  REQUIRE(calls.size() == 4);
  CHECK(calls[1] == std::pair<double, std::int64_t>{0.9, 2});
  CHECK(calls[3] == std::pair<double, std::int64_t>{0.6, 3});
  // the best score (0.9, step 2) is what output_path holds; the later, worse ones did not replace it
  auto saved = sbert::models::sentence_transformer::load("out");
  CHECK(max_diff(params(*saved), ev->seen[1]) == 0.0);
  CHECK(max_diff(ev->seen[1], ev->seen[2]) > 0.0);
  CHECK(max_diff(params(*saved), params(*m)) > 0.0);
  CHECK(fs::exists("out/eval"));  // the epoch-end evaluation's output folder
  // checkpoints every step into checkpoint_path, the newest 2 kept
  CHECK(!fs::exists("ck/checkpoint-1"));
  CHECK(fs::exists("ck/checkpoint-2"));
  CHECK(fs::exists("ck/checkpoint-3"));
}

TEST_CASE("fit: evaluation_steps without an evaluator is refused, as the trainer refuses it") {
  auto o = quiet("sbert_fit_bad");
  o.evaluation_steps = 2;
  CHECK_THROWS_WITH(sbert::fit(tiny(), sbert::objective(stsb(8), sbert::cosent_loss{}), o), Catch::Contains("eval_strategy"));
}
