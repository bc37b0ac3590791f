// The logging callbacks and the model card driven by the real trainer on the tiny model.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <sbert/data/readers.hpp>
#include <sbert/losses/cosent.hpp>
#include <sbert/training/early_stopping.hpp>
#include <sbert/training/log_files.hpp>
#include <sbert/training/model_card.hpp>
#include <sbert/training/tensorboard.hpp>
#include <sbert/training/trainer.hpp>

#undef CHECK
#include "catch.hpp"

namespace fs = std::filesystem;
namespace {
struct s1 : sbert::text_column<"sentence1"> {};
struct s2 : sbert::text_column<"sentence2"> {};
struct sc : sbert::score_column<"score"> {};
using sts = sbert::schema<s1, s2, sc>;

sbert::dataset<sts> stsb(std::size_t n, std::size_t from = 0) {
  sbert::read_options o;
  o.header = false;
  o.positions = {{"score", 4}, {"sentence1", 5}, {"sentence2", 6}};
  o.extra_fields = sbert::extra_fields::ignore;
  return sbert::read_tsv<sts>(sbert::test::shared_dir() + "/data/stsbenchmark/sts-train.csv", o)
      .select_range(from, from + n)
      .map_column<sc>([](float s) { return s / 5.f; });
}

std::size_t lines(const fs::path& p) {
  std::ifstream f(p);
  std::size_t n = 0;
  for (std::string l; std::getline(f, l);) ++n;
  return n;
}
}  // namespace

TEST_CASE("trainer with TensorBoard, CSV, JSONL and early stopping; the card from its log") {
  const auto out = fs::temp_directory_path() / ("sbert_logging_trainer_" + std::to_string(::getpid()));
  fs::remove_all(out);
  auto model = sbert::models::sentence_transformer::load(sbert::test::reference_dir() + "/tiny-bert-st");
  sbert::training_args args;  // set member by member: -Wextra flags designated initialisers that skip members
  args.output_dir = out.string();
  args.max_steps = 20;
  args.per_device_train_batch_size = 8;
  args.learning_rate = 1e-3;
  args.eval_strategy = sbert::interval_strategy::steps;
  args.eval_steps = 2;
  args.save_strategy = sbert::interval_strategy::no;
  args.logging_steps = 1;
  args.disable_progress_bar = true;
  sbert::trainer t{model, args, stsb(96), sbert::cosent_loss{}, stsb(16, 200)};
  const std::string tb_dir = sbert::tensorboard::default_log_dir(out.string());
  t.add_callback(sbert::tensorboard_callback(tb_dir));
  t.add_callback(sbert::csv_logger_callback((out / "log.csv").string()));
  t.add_callback(sbert::jsonl_logger_callback((out / "log.jsonl").string()));
  // An impossible threshold: no evaluation after the first counts as an improvement, so with
  // patience 2 the run stops at the third evaluation (step 6), whatever the losses are.
  auto es = std::make_shared<sbert::early_stopping_state>();
  t.add_callback(sbert::early_stopping_callback(args, {.patience = 2, .threshold = 1e9}, es));
  t.train();

  CHECK(es->stopped);
  CHECK(es->metric == "eval_loss");
  CHECK(t.state().global_step == 6);
  const auto& hist = t.state().log_history;
  // 6 train logs, 3 eval logs, 1 final summary
  REQUIRE(hist.size() == 10);

  // JSONL and CSV: one line per record (+ the CSV header)
  CHECK(lines(out / "log.jsonl") == hist.size());
  CHECK(lines(out / "log.csv") == hist.size() + 1);

  // TensorBoard: every scalar of every record, at the record's step, as float
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(tb_dir)) files.push_back(e.path());
  REQUIRE(files.size() == 1);
  const auto events = sbert::tensorboard::read_event_file(files[0].string());
  std::size_t expected = 1;
  for (const auto& r : hist) expected += r.size() - 1;  // all keys but "step"
  REQUIRE(events.size() == expected);
  std::size_t i = 1;
  for (const auto& r : hist)
    for (const auto& [k, v] : r) {
      if (k == "step") continue;
      CHECK(events[i].values.at(0).first == sbert::tensorboard::tag_for(k));
      CHECK(events[i].values.at(0).second == static_cast<float>(v));
      CHECK(events[i].step == static_cast<std::int64_t>(*sbert::find_value(r, "step")));
      ++i;
    }

  // The card's Training Logs from the same history: 6 steps, eval losses at 2, 4, 6
  sbert::model_card_data card;
  card.max_seq_length = 128;
  card.output_dimensionality = 128;
  card.log_history = hist;
  card.hyperparameters = sbert::card_hyperparameters(args);
  card.default_hyperparameters = sbert::card_hyperparameters(sbert::training_args{});
  const auto logs = sbert::training_logs(card);
  CHECK(logs.columns == std::vector<std::string>{"Epoch", "Step", "Training Loss", "Validation Loss"});
  REQUIRE(logs.rows.size() == 6);
  CHECK(logs.rows[1].at("Validation Loss") == *sbert::find_value(hist[2], "eval_loss"));
  CHECK(logs.rows[0].count("Validation Loss") == 0);
  sbert::write_model_card((out / "model").string(), card);
  std::ifstream readme(out / "model" / "README.md");
  std::stringstream ss;
  ss << readme.rdbuf();
  CHECK(ss.str().find("- `eval_strategy`: steps\n") != std::string::npos);
  CHECK(fs::exists(out / "model" / "training_curves.svg"));
}
