// The trainer against a real sentence-transformers run (shared/reference/training.json): same
// initial weights, same batches, dropout off. Every step's loss, gradient norm and learning
// rate, the logged values, and the final embeddings must match (tolerances: section 7 of the
// reference README). Plus the loop's mechanics: accumulation, checkpoints, callbacks, errors.
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <ATen/ops/allclose.h>

#include <sbert/data/readers.hpp>
#include <sbert/evaluation/embedding_similarity.hpp>
#include <sbert/losses/cosent.hpp>
#include <sbert/losses/multiple_negatives_ranking.hpp>
#include <sbert/losses/softmax.hpp>
#include <sbert/training/trainer.hpp>

#undef CHECK
#include "catch.hpp"
#include "reference_json.hpp"

namespace fs = std::filesystem;
namespace {
using triplets = sbert::schema<sbert::columns::anchor, sbert::columns::positive, sbert::columns::negative>;

std::string read(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// tiny-bert-st with both dropout probabilities set to 0, as the reference run loaded it.
std::shared_ptr<sbert::models::sentence_transformer> tiny_model_without_dropout(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("sbert_training_" + name);
  fs::remove_all(dir);
  fs::copy(sbert::test::reference_dir() + "/tiny-bert-st", dir, fs::copy_options::recursive);
  std::string cfg = read(dir / "config.json");
  cfg = std::regex_replace(cfg, std::regex("\"(hidden_dropout_prob|attention_probs_dropout_prob)\": 0\\.1"), "\"$1\": 0.0");
  std::ofstream(dir / "config.json") << cfg;
  return sbert::models::sentence_transformer::load(dir.string());
}

struct nan_loss {
  static constexpr sbert::inputs_spec inputs{.texts = sbert::exactly(2), .labels = sbert::label_kind::score};
  static constexpr std::string_view name = "NanLoss";
  at::Tensor operator()(std::span<const at::Tensor> e, const at::Tensor&) const { return (e[0] * 0).sum() / 0.0; }
};

sbert::dataset<triplets> reference_triplets() {
  return sbert::read_tsv<triplets>(sbert::test::shared_dir() + "/data/nli/nli_dev_triplets.tsv").take(64);
}
}  // namespace

TEST_CASE("trainer: reproduces the Python trainer's run step by step (training.json)") {
  sbert::test::json_file ref(sbert::test::reference_dir() + "/training.json");
  auto data = reference_triplets();
  // the reference's dataset is the same 64 rows
  auto ref_anchor = ref.root["dataset"]["anchor"].get_array();
  REQUIRE(ref_anchor.size() == 64);
  CHECK(std::string_view(ref_anchor.at(63).get_string()) == data[63].get<sbert::columns::anchor>());

  for (auto run : ref.root["runs"].get_array()) {
    const std::string name(std::string_view(run["name"].get_string()));
    SECTION(name) {
      auto model = tiny_model_without_dropout(name);
      sbert::batch_list batches;
      for (auto st : run["steps"].get_array()) {
        std::vector<std::size_t> rows;
        for (auto r : st["batch_rows"].get_array()) rows.push_back(static_cast<std::size_t>(std::int64_t(r.get_int64())));
        batches.push_back(rows);
      }
      const auto out = fs::temp_directory_path() / ("sbert_training_out_" + name);
      fs::remove_all(out);
      sbert::training_args args{.output_dir = out.string(), .max_steps = 4, .per_device_train_batch_size = 16,
                                .learning_rate = 1e-3, .warmup_ratio = 0.25, .seed = 42,
                                .save_strategy = sbert::interval_strategy::no, .logging_steps = 1,
                                .disable_progress_bar = true};
      sbert::trainer trainer{model, args, data, sbert::multiple_negatives_ranking_loss{}};
      trainer.set_batch_sampler(std::make_shared<sbert::fixed_batch_sampler>(batches));
      std::vector<double> losses, norms, lrs;
      trainer.add_callback({.on_step_end = [&](sbert::train_state& s) {
        losses.push_back(s.step_loss);
        norms.push_back(s.step_grad_norm.value_or(-1));
        lrs.push_back(s.step_learning_rate);
      }});
      auto result = trainer.train();
      REQUIRE(losses.size() == 4);
      std::size_t k = 0;
      for (auto st : run["steps"].get_array()) {
        const double tol = k < 2 ? 1e-5 : 1e-4;  // initial weights for steps 1-2
        INFO(name << " step " << k + 1);
        CHECK(losses[k] == Approx(double(st["loss"])).epsilon(tol));
        CHECK(norms[k] == Approx(double(st["grad_norm"])).epsilon(tol));
        CHECK(lrs[k] == Approx(double(st["learning_rate_applied"])).epsilon(1e-9).margin(1e-15));
        // the log: loss rounded to 4 decimals, the lr read after the scheduler step, the epoch
        const auto& log = trainer.state().log_history.at(k);
        CHECK(sbert::find_value(log, "loss").value() == Approx(double(st["logged_loss"])).margin(1e-9));
        CHECK(sbert::find_value(log, "learning_rate").value() == Approx(double(st["logged_learning_rate"])).epsilon(1e-9).margin(1e-15));
        CHECK(sbert::find_value(log, "epoch").value() == Approx(double(st["epoch"])));
        CHECK(sbert::find_value(log, "step").value() == double(k + 1));
        ++k;
      }
      CHECK(result.training_loss == Approx(double(run["train_loss"])).epsilon(1e-4));
      // final embeddings of the probe sentences (eval mode)
      std::vector<std::string> probes;
      for (auto s : ref.root["probe_sentences"].get_array()) probes.emplace_back(std::string_view(s.get_string()));
      model->eval();
      auto emb = model->encode(probes);
      auto want = sbert::test::json_tensor(run["final_embeddings"]);
      INFO("final embeddings max |diff| " << (emb - want).abs().max().item<double>());
      CHECK(at::allclose(emb, want, 0.0, 1e-4));
      // the JSONL log file holds one line per log entry
      std::ifstream log(out / "trainer_log.jsonl");
      std::string line;
      int lines = 0;
      while (std::getline(log, line)) ++lines;
      CHECK(lines == 5);  // 4 steps + the final summary
    }
  }
}

TEST_CASE("trainer: gradient accumulation, epochs, checkpoints with rotation, eval loss, callbacks") {
  auto model = tiny_model_without_dropout("mechanics");
  struct s1 : sbert::text_column<"sentence1"> {};
  struct s2 : sbert::text_column<"sentence2"> {};
  struct sc : sbert::score_column<"score"> {};
  using sts = sbert::schema<s1, s2, sc>;
  sbert::read_options o;
  o.header = false;
  o.positions = {{"score", 4}, {"sentence1", 5}, {"sentence2", 6}};
  o.extra_fields = sbert::extra_fields::ignore;
  auto all = sbert::read_tsv<sts>(sbert::test::shared_dir() + "/data/stsbenchmark/sts-dev.csv", o);
  auto train = all.take(40).map_column<sc>([](float s) { return s / 5.f; });
  auto dev = all.select_range(100, 116).map_column<sc>([](float s) { return s / 5.f; });
  const auto out = fs::temp_directory_path() / "sbert_training_mech";
  fs::remove_all(out);
  sbert::training_args args{.output_dir = out.string(), .num_train_epochs = 2, .per_device_train_batch_size = 8,
                            .learning_rate = 1e-4, .gradient_accumulation_steps = 2,
                            .eval_strategy = sbert::interval_strategy::steps, .eval_steps = 3,
                            .save_steps = 1, .save_total_limit = 2, .logging_steps = 2, .disable_progress_bar = true};
  sbert::trainer trainer{model, args, train, sbert::cosent_loss{}, dev};
  trainer.set_evaluator(std::make_shared<sbert::embedding_similarity_evaluator>(dev, sbert::embedding_similarity_options{.name = "sts-dev"}));
  int evals = 0, saves = 0, ends = 0;
  trainer.add_callback({.on_evaluate = [&](auto&, const auto& m) {
                          ++evals;
                          CHECK(m.contains("eval_loss"));
                          CHECK(m.contains("eval_sts-dev_spearman_cosine"));
                        },
                        .on_save = [&](auto&, const std::string&) { ++saves; },
                        .on_train_end = [&](auto&) { ++ends; }});
  auto r = trainer.train();
  // 40 rows / 8 = 5 batches per epoch; max_steps = 2 epochs * floor(5 / 2) = 4 (transformers'
  // count). Within an epoch the odd last batch still ends an update, so epoch 0 makes steps
  // 1-3 and epoch 1 reaches step 4 after two batches.
  CHECK(r.global_step == 4);
  CHECK(evals == 1);  // step 3
  CHECK(ends == 1);
  CHECK(saves == 4);
  // rotation keeps the newest two (and would keep the best, checkpoint-3, in any case)
  CHECK(!fs::exists(out / "checkpoint-1"));
  CHECK(!fs::exists(out / "checkpoint-2"));
  CHECK(trainer.state().best_model_checkpoint == (out / "checkpoint-3").string());
  CHECK(trainer.state().epoch == Approx(1.4));
  CHECK(fs::exists(out / "checkpoint-3" / "modules.json"));
  CHECK(fs::exists(out / "checkpoint-4" / "model.safetensors"));
  CHECK(fs::exists(out / "checkpoint-4" / "trainer_state.json"));
  CHECK(read(out / "checkpoint-4" / "trainer_state.json").find("\"global_step\": 4") != std::string::npos);
  // each checkpoint has its model card, with the loss, the data and the log
  const auto card = read(out / "checkpoint-4" / "README.md");
  CHECK(card.find("loss:CoSENTLoss") != std::string::npos);
  CHECK(card.find("dataset_size:40") != std::string::npos);
  CHECK(card.find("training_curves.svg") != std::string::npos);
  CHECK(card.find("EmbeddingSimilarityEvaluator") != std::string::npos);  // the evaluation section
  CHECK(card.find("kexuefm-8847") != std::string::npos);                  // CoSENT's citation
  CHECK(fs::exists(out / "checkpoint-4" / "training_curves.svg"));
  trainer.save_model((out / "final").string());
  CHECK(fs::exists(out / "final" / "README.md"));
  auto ckpt = sbert::models::sentence_transformer::load((out / "checkpoint-4").string());
  CHECK(ckpt->encode(std::vector<std::string>{"a test"}).size(1) == 128);
}

TEST_CASE("trainer: a non-finite loss stops training with the step and the batch rows") {
  auto model = tiny_model_without_dropout("nan");
  struct s1 : sbert::text_column<"sentence1"> {};
  struct s2 : sbert::text_column<"sentence2"> {};
  struct sc : sbert::score_column<"score"> {};
  using sts = sbert::schema<s1, s2, sc>;
  auto d = sbert::dataset<sts>::from_columns(std::vector<std::string>{"a b", "c d", "e f", "g h"},
                                             std::vector<std::string>{"a c", "c e", "e g", "g a"},
                                             std::vector<float>{0.1f, 0.2f, 0.3f, 0.4f});
  sbert::training_args args{.output_dir = (fs::temp_directory_path() / "sbert_nan").string(), .max_steps = 2,
                            .per_device_train_batch_size = 2, .disable_progress_bar = true};
  sbert::trainer trainer{model, args, d, nan_loss{}};
  CHECK_THROWS_WITH(trainer.train(), Catch::Contains("the loss is") && Catch::Contains("at step 1") && Catch::Contains("batch rows"));
}
