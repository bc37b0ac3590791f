// CSV and JSONL logger callbacks, and early stopping with transformers' semantics.
#include "catch.hpp"
#include "temp_files.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <sbert/training/early_stopping.hpp>
#include <sbert/training/log_files.hpp>

namespace fs = std::filesystem;

namespace {
using sbert::test::fresh_dir;
using sbert::test::slurp;
}  // namespace

TEST_CASE("jsonl logger writes one JSON object per record, steps as integers", "[loggers]") {
  const auto dir = fresh_dir("jsonl");
  const auto path = (dir / "sub" / "log.jsonl").string();
  auto cb = sbert::jsonl_logger_callback(path);
  sbert::train_state st;
  cb.on_log(st, {{"loss", 0.6931}, {"learning_rate", 5e-05}, {"epoch", 0.25}, {"step", 5}});
  cb.on_log(st, {{"eval_loss", 0.5}, {"eval_a\"b", 1.0}, {"epoch", 0.5}, {"step", 10}});
  CHECK(slurp(path) ==
        "{\"loss\": 0.6931, \"learning_rate\": 5e-05, \"epoch\": 0.25, \"step\": 5}\n"
        "{\"eval_loss\": 0.5, \"eval_a\\\"b\": 1.0, \"epoch\": 0.5, \"step\": 10}\n");
  // A new callback on the same path starts a fresh file.
  auto again = sbert::jsonl_logger_callback(path);
  CHECK(slurp(path).empty());
}

TEST_CASE("csv logger widens its header when a record brings new keys", "[loggers]") {
  const auto dir = fresh_dir("csv");
  const auto path = (dir / "log.csv").string();
  auto cb = sbert::csv_logger_callback(path);
  sbert::train_state st;
  cb.on_log(st, {{"loss", 0.5}, {"learning_rate", 4e-05}, {"epoch", 0.5}, {"step", 1}});
  CHECK(slurp(path) == "loss,learning_rate,epoch,step\n0.5,4e-05,0.5,1\n");
  cb.on_log(st, {{"loss", 0.25}, {"learning_rate", 3e-05}, {"epoch", 1.0}, {"step", 2}});
  cb.on_log(st, {{"eval_loss", 0.125}, {"eval_x,y", 0.75}, {"epoch", 1.0}, {"step", 2}});
  CHECK(slurp(path) ==
        "loss,learning_rate,epoch,step,eval_loss,\"eval_x,y\"\n"
        "0.5,4e-05,0.5,1,,\n"
        "0.25,3e-05,1.0,2,,\n"
        ",,1.0,2,0.125,0.75\n");
  cb.on_log(st, {{"loss", 0.2}, {"epoch", 1.5}, {"step", 3}});  // appended, no rewrite
  CHECK(slurp(path).ends_with("\n0.2,,1.5,3,,\n"));
  CHECK(!fs::exists(path + ".tmp"));
}

namespace {
// Runs the callback's on_evaluate over a sequence of metric values; returns the evaluation index
// (1-based) at which it asked to stop, or 0.
int stop_at(sbert::callback& cb, const std::string& key, const std::vector<double>& values, bool higher,
            sbert::train_state& st) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    cb.on_evaluate(st, {{key, values[i]}, {"eval_runtime", 1.0}});
    // as the trainer does after on_evaluate: track best_metric
    if (!st.best_metric || (higher ? values[i] > *st.best_metric : values[i] < *st.best_metric)) st.best_metric = values[i];
    if (st.should_stop) return static_cast<int>(i + 1);
  }
  return 0;
}
}  // namespace

TEST_CASE("early stopping counts evaluations without improvement", "[early_stopping]") {
  sbert::training_args args;  // metric_for_best_model unset: eval_loss, lower is better
  args.eval_strategy = sbert::interval_strategy::steps;
  {
    sbert::train_state st;
    auto cb = sbert::early_stopping_callback(args, {.patience = 2});
    // 0.9 best, 0.8 best, 0.85 worse (1), 0.79 best (0), 0.8 (1), 0.81 (2) -> stop at the 6th
    CHECK(stop_at(cb, "eval_loss", {0.9, 0.8, 0.85, 0.79, 0.8, 0.81, 0.1}, false, st) == 6);
  }
  {
    sbert::train_state st;
    auto state = std::make_shared<sbert::early_stopping_state>();
    auto cb = sbert::early_stopping_callback(args, {.patience = 2, .threshold = 0.05}, state);
    // 1.0 best; 0.97 improves by < threshold (1); 0.90 improves by 0.07 vs best 0.97 (0);
    // 0.89 (1); 0.86 by 0.04 (2) -> stop at the 5th
    CHECK(stop_at(cb, "eval_loss", {1.0, 0.97, 0.90, 0.89, 0.86}, false, st) == 5);
    CHECK(state->stopped);
    CHECK(state->metric == "eval_loss");
    CHECK(state->best == Approx(0.86));
    CHECK(state->patience_counter == 2);
  }
  {
    sbert::training_args a2;
    a2.eval_strategy = sbert::interval_strategy::epoch;
    a2.metric_for_best_model = "sts-dev_spearman_cosine";  // higher is better
    sbert::train_state st;
    auto cb = sbert::early_stopping_callback(a2, {.patience = 1});
    CHECK(stop_at(cb, "eval_sts-dev_spearman_cosine", {0.5, 0.6, 0.7, 0.7}, true, st) == 4);  // equal is no improvement
  }
  {
    // An explicit metric different from the trainer's; lower is better because it ends in "loss".
    sbert::train_state st;
    auto cb = sbert::early_stopping_callback(args, {.patience = 1, .metric = "nli_loss"});
    CHECK(stop_at(cb, "eval_nli_loss", {2.0, 1.0, 1.5}, false, st) == 3);
  }
}

TEST_CASE("early stopping resumes from the trainer's best metric", "[early_stopping]") {
  sbert::training_args args;
  args.eval_strategy = sbert::interval_strategy::steps;
  sbert::train_state st;
  st.best_metric = 0.5;  // restored from a checkpoint
  auto cb = sbert::early_stopping_callback(args, {.patience = 1});
  cb.on_evaluate(st, {{"eval_loss", 0.6}});
  CHECK(st.should_stop);
}

TEST_CASE("early stopping rejects a missing metric and bad options", "[early_stopping]") {
  sbert::training_args args;
  CHECK_THROWS_WITH(sbert::early_stopping_callback(args), Catch::Contains("eval_strategy"));
  args.eval_strategy = sbert::interval_strategy::steps;
  auto cb = sbert::early_stopping_callback(args, {.metric = "accuracy"});
  sbert::train_state st;
  CHECK_THROWS_WITH(cb.on_evaluate(st, {{"eval_loss", 0.1}}), Catch::Contains("eval_accuracy") && Catch::Contains("eval_loss"));
  CHECK_THROWS_AS(sbert::early_stopping_callback(args, {.patience = 0}), sbert::error);
  CHECK_THROWS_AS(sbert::early_stopping_callback(args, {.threshold = -1}), sbert::error);
}
