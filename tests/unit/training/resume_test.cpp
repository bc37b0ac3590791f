// Checkpoints and resume, crash safety, non-finite policies, load_best_model_at_end and
// multi-dataset training (issue 6 of the trainer).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include <ATen/ops/equal.h>

#include <sbert/data/readers.hpp>
#include <sbert/losses/cosent.hpp>
#include <sbert/losses/multiple_negatives_ranking.hpp>
#include <sbert/losses/softmax.hpp>
#include <sbert/training/multi_dataset.hpp>
#include <sbert/training/trainer.hpp>

#undef CHECK
#include "catch.hpp"
#include "reference_json.hpp"

namespace fs = std::filesystem;
namespace {
struct s1 : sbert::text_column<"sentence1"> {};
struct s2 : sbert::text_column<"sentence2"> {};
struct sc : sbert::score_column<"score"> {};
struct lab : sbert::class_column<"label"> {};
using sts = sbert::schema<s1, s2, sc>;
using nli = sbert::schema<s1, s2, lab>;
using triplets = sbert::schema<sbert::columns::anchor, sbert::columns::positive, sbert::columns::negative>;

sbert::dataset<sts> stsb(std::size_t n, std::size_t from = 0) {
  sbert::read_options o;
  o.header = false;
  o.positions = {{"score", 4}, {"sentence1", 5}, {"sentence2", 6}};
  o.extra_fields = sbert::extra_fields::ignore;
  return sbert::read_tsv<sts>(sbert::test::shared_dir() + "/data/stsbenchmark/sts-train.csv", o)
      .select_range(from, from + n)
      .map_column<sc>([](float s) { return s / 5.f; });
}

// The tiny reference model with its dropout (config.json's) left on: resuming must replay the RNG.
std::shared_ptr<sbert::models::sentence_transformer> tiny() {
  return sbert::models::sentence_transformer::load(sbert::test::reference_dir() + "/tiny-bert-st");
}
/// Its hidden size (config.json), the size of its mean-pooled sentence embeddings.
std::int64_t tiny_hidden_size() {
  sbert::test::json_file cfg(sbert::test::reference_dir() + "/tiny-bert-st/config.json");
  return std::int64_t(cfg.root["hidden_size"]);
}

std::vector<at::Tensor> params(sbert::models::sentence_transformer& m) {
  std::vector<at::Tensor> out;
  for (auto& p : m.named_parameters(true)) out.push_back(p.value().detach().clone());
  return out;
}

sbert::training_args resume_args(const fs::path& out) {
  return {.output_dir = out.string(), .max_steps = 6, .per_device_train_batch_size = 8, .learning_rate = 1e-3,
          .warmup_ratio = 0.2, .seed = 7, .save_steps = 3, .logging_steps = 2, .disable_progress_bar = true};
}

/// Trains 6 steps in one go, and 3 + 3 steps stopped at a checkpoint and resumed in a fresh
/// trainer: the weights must be equal and the logs the same.
void check_resume(const std::string& name, const std::function<void(sbert::training_args&)>& adjust) {
  const auto data = stsb(40);
  const auto out_a = fs::temp_directory_path() / ("sbert_resume_a" + name), out_b = fs::temp_directory_path() / ("sbert_resume_b" + name);
  fs::remove_all(out_a);
  fs::remove_all(out_b);
  auto args = [&](const fs::path& out) {
    auto a = resume_args(out);
    adjust(a);
    return a;
  };
  // uninterrupted
  auto ma = tiny();
  sbert::trainer ta{ma, args(out_a), data, sbert::cosent_loss{}};
  ta.train();
  const auto want = params(*ma);
  auto want_log = ta.state().log_history;
  want_log.pop_back();  // the run summary (runtimes) differs by nature
  // stopped after step 3 (its checkpoint is written), then resumed in a fresh trainer
  {
    auto mb = tiny();
    sbert::trainer tb{mb, args(out_b), data, sbert::cosent_loss{}};
    tb.add_callback({.on_step_end = [](sbert::train_state& s) { s.should_stop = s.global_step == 3; }});
    tb.train();
    REQUIRE(fs::exists(out_b / "checkpoint-3" / "optimizer.safetensors"));
    REQUIRE(fs::exists(out_b / "checkpoint-3" / "rng_state.safetensors"));
  }
  auto mc = tiny();  // the initial weights again: resume must restore everything itself
  sbert::trainer tc{mc, args(out_b), data, sbert::cosent_loss{}};
  auto r = tc.train("latest");
  CHECK(r.global_step == 6);
  const auto got = params(*mc);
  REQUIRE(got.size() == want.size());
  double max_diff = 0;
  for (std::size_t i = 0; i < got.size(); ++i) max_diff = std::max(max_diff, (got[i] - want[i]).abs().max().item<double>());
  INFO("max |weight diff| " << max_diff);
  CHECK(max_diff == 0.0);
  auto got_log = tc.state().log_history;
  got_log.pop_back();
  CHECK(got_log == want_log);
  CHECK_THROWS_WITH(tc.train((out_b / "checkpoint-99").string()), Catch::Contains("no trainer_state.json"));
}
}  // namespace

TEST_CASE("resume: a run stopped at a checkpoint and resumed ends with the same weights and log") {
  check_resume("", [](sbert::training_args&) {});
}

TEST_CASE("resume: group_by_length batches (with no_duplicates, padded to multiples of 8) replay exactly") {
  check_resume("_by_length", [](sbert::training_args& a) {
    a.group_by_length = true;
    a.batch_sampler = sbert::batch_sampler::no_duplicates;
    a.pad_to_multiple_of = 8;
  });
}

TEST_CASE("resume: SoftmaxLoss's own classifier is checkpointed and restored") {
  auto d = stsb(24).map<nli>([](auto r) { return std::tuple{r.template get<s1>(), r.template get<s2>(), std::int64_t(r.template get<sc>() > 0.5f)}; });
  const auto out = fs::temp_directory_path() / "sbert_resume_softmax";
  fs::remove_all(out);
  auto m = tiny();
  const auto dim = tiny_hidden_size();
  sbert::trainer t{m, resume_args(out), d, sbert::softmax_loss{{.sentence_embedding_dimension = dim, .num_labels = 2}}};
  t.train();
  const auto w = t.loss().weight().detach().clone();
  auto m2 = tiny();
  sbert::trainer t2{m2, resume_args(out), d, sbert::softmax_loss{{.sentence_embedding_dimension = dim, .num_labels = 2}}};
  t2.train((out / "checkpoint-6").string());  // already at max_steps: restores and stops
  CHECK(at::equal(t2.loss().weight().detach(), w));

  // A checkpoint whose loss weights go by other names (as sbert wrote them before losses named
  // their weights: loss.0, loss.1) is refused, not resumed with an untrained classifier.
  const auto ckpt = out / "checkpoint-6";
  const auto file = (ckpt / "loss_parameters.safetensors").string();
  auto saved = sbert::safetensors::load_file(file);
  std::vector<std::pair<std::string, at::Tensor>> renamed;
  for (auto& [name, x] : saved) renamed.emplace_back(name == "classifier.weight" ? "loss.0" : "loss.1", x);
  sbert::safetensors::save_file(file, renamed);
  auto m3 = tiny();
  sbert::trainer t3{m3, resume_args(out), d, sbert::softmax_loss{{.sentence_embedding_dimension = dim, .num_labels = 2}}};
  CHECK_THROWS_WITH(t3.train(ckpt.string()), Catch::Contains("missing: classifier.") &&
                                                 Catch::Contains("not in the loss: loss.") && Catch::Contains("loss.1"));
  fs::remove(file);
  CHECK_THROWS_WITH(t3.train(ckpt.string()), Catch::Contains("does not exist"));
  fs::remove_all(out);
}

TEST_CASE("checkpoints: a process killed while saving leaves every finished checkpoint loadable", "[crash]") {
  const auto out = fs::temp_directory_path() / "sbert_crash";
  for (int round = 0; round < 3; ++round) {
    fs::remove_all(out);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {  // child: exec this test binary's hidden child case
      setenv("SBERT_CRASH_OUT", out.c_str(), 1);
      execl("/proc/self/exe", "child", "[.crash-child]", static_cast<char*>(nullptr));
      _exit(127);
    }
    // let it write a few checkpoints, then kill it at an arbitrary moment of a save
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    auto count = [&] {
      int n = 0;
      if (fs::exists(out))
        for (auto& e : fs::directory_iterator(out)) n += e.path().filename().string().starts_with("checkpoint-");
      return n;
    };
    while (count() < 2 + round && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::this_thread::sleep_for(std::chrono::milliseconds(7 * round + 3));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    REQUIRE(count() >= 2);
    int complete = 0;
    for (auto& e : fs::directory_iterator(out)) {
      const auto name = e.path().filename().string();
      if (!name.starts_with("checkpoint-") || name.ends_with(".tmp")) continue;
      ++complete;
      INFO(name);
      CHECK(fs::exists(e.path() / "trainer_state.json"));
      CHECK_NOTHROW(sbert::models::sentence_transformer::load(e.path().string()));
    }
    CHECK(complete >= 1);
    // and training resumes from the newest complete one
    auto m = tiny();
    auto args = resume_args(out);
    args.max_steps = 1000;
    args.save_strategy = sbert::interval_strategy::no;
    sbert::trainer t{m, args, stsb(16), sbert::cosent_loss{}};
    t.add_callback({.on_step_end = [](sbert::train_state& s) { s.should_stop = true; }});
    CHECK_NOTHROW(t.train("latest"));
  }
}

TEST_CASE("checkpoints: the child that saves until it is killed", "[.crash-child]") {
  const char* out = std::getenv("SBERT_CRASH_OUT");
  REQUIRE(out);
  auto m = tiny();
  sbert::training_args args{.output_dir = out, .max_steps = 1000, .per_device_train_batch_size = 4,
                            .save_steps = 1, .logging_steps = 1, .disable_progress_bar = true};
  sbert::trainer t{m, args, stsb(16), sbert::cosent_loss{}};
  t.train();
}

namespace {
struct sometimes_nan_loss {
  static constexpr sbert::inputs_spec inputs{.texts = sbert::exactly(2), .labels = sbert::label_kind::score};
  static constexpr std::string_view name = "SometimesNaN";
  mutable int calls = 0;
  at::Tensor operator()(std::span<const at::Tensor> e, const at::Tensor& y) const {
    auto l = sbert::cosent_loss{}(e, y);
    return ++calls == 2 ? l / 0.0 * 0.0 : l;  // NaN in the second batch
  }
};
}  // namespace

TEST_CASE("non-finite policy: skip_step drops the update, counts it, and training goes on") {
  auto m = tiny();
  auto args = resume_args(fs::temp_directory_path() / "sbert_skip");
  args.save_strategy = sbert::interval_strategy::no;
  args.on_non_finite = sbert::non_finite_policy::skip_step;
  sbert::trainer t{m, args, stsb(48), sometimes_nan_loss{}};
  auto r = t.train();
  CHECK(r.global_step == 6);
  CHECK(t.state().skipped_steps == 1);
  args.on_non_finite = sbert::non_finite_policy::stop;
  sbert::trainer t2{tiny(), args, stsb(48), sometimes_nan_loss{}};
  CHECK_THROWS_WITH(t2.train(), Catch::Contains("at step 2") && Catch::Contains("skip_step"));
}

TEST_CASE("load_best_model_at_end restores the best checkpoint's weights") {
  const auto out = fs::temp_directory_path() / "sbert_best";
  fs::remove_all(out);
  auto m = tiny();
  sbert::training_args args{.output_dir = out.string(), .max_steps = 6, .per_device_train_batch_size = 8,
                            .learning_rate = 5e-3, .eval_strategy = sbert::interval_strategy::steps, .eval_steps = 2,
                            .save_steps = 2, .save_total_limit = 1, .logging_steps = 2, .load_best_model_at_end = true,
                            .disable_progress_bar = true};
  sbert::trainer t{m, args, stsb(48), sbert::cosent_loss{}, stsb(16, 100)};
  t.train();
  const auto best = t.state().best_model_checkpoint;
  REQUIRE(!best.empty());
  CHECK(fs::exists(best));  // rotation (limit 1) never deletes the best checkpoint
  auto b = sbert::models::sentence_transformer::load(best);
  auto pb = params(*b), pm = params(*m);
  double d = 0;
  for (std::size_t i = 0; i < pb.size(); ++i) d = std::max(d, (pb[i] - pm[i]).abs().max().item<double>());
  CHECK(d == 0.0);
}

TEST_CASE("multi-dataset: each batch from one data set, per-dataset losses logged, round robin and proportional") {
  auto sts_train = stsb(32);
  auto trip = sbert::read_tsv<triplets>(sbert::test::shared_dir() + "/data/nli/nli_dev_triplets.tsv").take(48);
  for (auto kind : {sbert::multi_dataset_batch_sampler::proportional, sbert::multi_dataset_batch_sampler::round_robin}) {
    const auto out = fs::temp_directory_path() / "sbert_multi";
    fs::remove_all(out);
    sbert::training_args args{.output_dir = out.string(), .num_train_epochs = 1, .per_device_train_batch_size = 8,
                              .multi_dataset_batch_sampler = kind, .eval_strategy = sbert::interval_strategy::steps,
                              .eval_steps = 4, .save_strategy = sbert::interval_strategy::no, .logging_steps = 2,
                              .disable_progress_bar = true};
    sbert::multi_dataset_trainer t{tiny(), args,
                                   sbert::train_on("nli", trip, sbert::multiple_negatives_ranking_loss{}),
                                   sbert::train_on("stsb", sts_train, sbert::cosent_loss{}, stsb(16, 200))};
    auto r = t.train();
    // proportional: every batch once (6 + 4); round robin: 2 x min(6, 4)
    CHECK(r.global_step == (kind == sbert::multi_dataset_batch_sampler::proportional ? 10 : 8));
    bool saw_nli = false, saw_sts = false, saw_eval = false;
    for (const auto& rec : t.state().log_history) {
      saw_nli |= sbert::find_value(rec, "nli_loss").has_value();
      saw_sts |= sbert::find_value(rec, "stsb_loss").has_value();
      saw_eval |= sbert::find_value(rec, "eval_stsb_loss").has_value();
    }
    CHECK(saw_nli);
    CHECK(saw_sts);
    CHECK(saw_eval);
  }
}

TEST_CASE("multi-dataset samplers: offsets, one dataset per batch, Python's counts") {
  auto a = std::make_shared<sbert::sequential_batch_sampler>(25, 4, true);
  auto b = std::make_shared<sbert::sequential_batch_sampler>(50, 4, true);
  sbert::round_robin_batch_sampler rr({a, b}, {0, 25});
  auto batches = rr.batches(0);
  CHECK(batches.size() == 12);  // Python's test: 25 and 50 rows, bs 4, drop_last -> 12, alternating
  CHECK(rr.size() == 12);
  for (std::size_t i = 0; i < batches.size(); ++i) {
    const bool from_b = batches[i][0] >= 25;
    CHECK(from_b == (i % 2 == 1));
    for (auto r : batches[i]) CHECK((r >= 25) == from_b);
  }
  sbert::proportional_batch_sampler pr({a, b}, {0, 25}, 3);
  auto p = pr.batches(0);
  CHECK(p.size() == 6 + 12);
  CHECK(pr.size() == 18);
  CHECK(pr.batches(1) != p);
}
