// The trainer against a real sentence-transformers run (shared/reference/training.json): same
// initial weights, same batches, dropout off. Every step's loss, gradient norm and learning
// rate, the logged values, and the final embeddings must match (tolerances: section 7 of the
// reference README). The data, the model folder, the hyperparameters, the optimizer's
// settings, the loss and the probe sentences are all read from training.json, and every run it
// holds is reproduced (a set may hold only `sequential`), so the test holds for any reference
// set the Python generator writes. Plus the loop's mechanics: accumulation, checkpoints,
// callbacks, errors.
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

using simdjson::dom::element;
std::string str(element e) { return std::string(std::string_view(e.get_string())); }
std::vector<std::string> strings(element e) {
  std::vector<std::string> out;
  for (auto x : e.get_array()) out.push_back(str(x));
  return out;
}
std::int64_t integer(element e) { return e.is_int64() ? std::int64_t(e) : static_cast<std::int64_t>(double(e)); }

sbert::test::json_file& training_json() {
  static sbert::test::json_file f(sbert::test::reference_dir() + "/training.json");
  return f;
}
/// The model folder the reference run trained (training.json `model_dir`).
fs::path reference_model_dir() { return fs::path(sbert::test::reference_dir()) / str(training_json().root["model_dir"]); }
/// Its hidden size (config.json), which is also the sentence embedding size of its mean pooling.
std::int64_t reference_hidden_size() {
  sbert::test::json_file cfg((reference_model_dir() / "config.json").string());
  return integer(cfg.root["hidden_size"]);
}

// The reference model with both dropout probabilities set to 0, as the reference run loaded it.
std::shared_ptr<sbert::models::sentence_transformer> tiny_model_without_dropout(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("sbert_training_" + name);
  fs::remove_all(dir);
  fs::copy(reference_model_dir(), dir, fs::copy_options::recursive);
  for (auto& p : fs::recursive_directory_iterator(dir)) fs::permissions(p.path(), fs::perms::owner_write, fs::perm_options::add);
  std::string cfg = read(dir / "config.json");
  const std::regex dropout("\"(hidden_dropout_prob|attention_probs_dropout_prob)\": *[-+0-9.eE]+");
  REQUIRE(std::distance(std::sregex_iterator(cfg.begin(), cfg.end(), dropout), std::sregex_iterator()) == 2);
  cfg = std::regex_replace(cfg, dropout, "\"$1\": 0.0");
  std::ofstream(dir / "config.json") << cfg;
  return sbert::models::sentence_transformer::load(dir.string());
}

struct nan_loss {
  static constexpr sbert::inputs_spec inputs{.texts = sbert::exactly(2), .labels = sbert::label_kind::score};
  static constexpr std::string_view name = "NanLoss";
  at::Tensor operator()(std::span<const at::Tensor> e, const at::Tensor&) const { return (e[0] * 0).sum() / 0.0; }
};

sbert::lr_scheduler_type scheduler(const std::string& name) {
  using t = sbert::lr_scheduler_type;
  const std::pair<std::string_view, t> names[] = {{"linear", t::linear}, {"cosine", t::cosine}, {"constant", t::constant},
                                                  {"constant_with_warmup", t::constant_with_warmup}, {"polynomial", t::polynomial}};
  for (const auto& [n, v] : names)
    if (name == n) return v;
  FAIL("lr_scheduler_type " << name << " has no sbert counterpart");
  return t::linear;
}

/// The reference run's dataset: the `dataset` columns of training.json, row i = element i.
sbert::dataset<triplets> reference_triplets(element ref) {
  const auto d = ref["dataset"];
  std::vector<std::string> names;
  for (auto [k, v] : d.get_object()) names.emplace_back(k);
  REQUIRE(names == std::vector<std::string>{"anchor", "positive", "negative"});
  return sbert::dataset<triplets>::from_columns(strings(d["anchor"]), strings(d["positive"]), strings(d["negative"]));
}
}  // namespace

TEST_CASE("trainer: reproduces the Python trainer's run step by step (training.json)", "[reference]") {
  const auto ref = training_json().root;
  const auto hp = ref["hyperparameters"];
  auto data = reference_triplets(ref);
  REQUIRE(data.size() > 0);
  // The rows are the first data rows of the file the reference names (when it is in shared/).
  const std::string source = str(ref["data_source"]);
  const std::string file = source.substr(0, source.find(','));
  if (file.starts_with("shared/") && fs::exists(sbert::test::shared_dir() + file.substr(6))) {
    const auto tsv = sbert::read_tsv<triplets>(sbert::test::shared_dir() + file.substr(6));
    REQUIRE(tsv.size() >= data.size());
    for (std::size_t i = 0; i < data.size(); ++i) {
      INFO(file << " data row " << i + 1);
      CHECK(tsv[i].get<sbert::columns::anchor>() == data[i].get<sbert::columns::anchor>());
      CHECK(tsv[i].get<sbert::columns::positive>() == data[i].get<sbert::columns::positive>());
      CHECK(tsv[i].get<sbert::columns::negative>() == data[i].get<sbert::columns::negative>());
    }
  }
  // The loss of the run.
  const auto loss_ref = ref["loss"];
  REQUIRE(str(loss_ref["class"]) == "MultipleNegativesRankingLoss");
  const auto sim = sbert::parse_similarity_function(str(loss_ref["similarity_fct"]));
  REQUIRE(sim.has_value());
  const sbert::multiple_negatives_ranking_loss loss{{.scale = double(loss_ref["scale"]), .similarity = *sim}};
  std::vector<std::string> probes = strings(ref["probe_sentences"]);
  REQUIRE(!probes.empty());
  const std::int64_t logging_steps = integer(hp["logging_steps"]);
  REQUIRE(logging_steps >= 1);

  for (auto run : ref["runs"].get_array()) {
    const std::string name = str(run["name"]);
    SECTION(name) {
      auto model = tiny_model_without_dropout(name);
      // the probe sentences before training: the initial weights in eval mode (README section
      // 7: plain embeddings, abs 1e-5)
      model->eval();
      {
        auto emb = model->encode(probes);
        auto want = sbert::test::json_tensor(run["initial_embeddings"]);
        INFO("initial embeddings max |diff| " << (emb - want).abs().max().item<double>());
        REQUIRE(emb.sizes() == want.sizes());
        CHECK(at::allclose(emb, want, 0.0, 1e-5));
      }
      sbert::batch_list batches;
      for (auto st : run["steps"].get_array()) {
        std::vector<std::size_t> rows;
        for (auto r : st["batch_rows"].get_array()) rows.push_back(static_cast<std::size_t>(std::int64_t(r.get_int64())));
        batches.push_back(rows);
      }
      const auto out = fs::temp_directory_path() / ("sbert_training_out_" + name);
      fs::remove_all(out);
      // the run's hyperparameters and its optimizer's (AdamW: betas and eps from its defaults,
      // weight decay from its first, decayed, parameter group; the second has none)
      const auto opt = run["optimizer"];
      REQUIRE(str(opt["class"]) == "AdamW");
      const auto groups = opt["param_groups"].get_array();
      REQUIRE(groups.size() == 2);
      CHECK(double(groups.at(1)["weight_decay"]) == 0.0);
      sbert::training_args args{.output_dir = out.string(),
                                .max_steps = integer(hp["max_steps"]),
                                .per_device_train_batch_size = integer(hp["per_device_train_batch_size"]),
                                .learning_rate = double(hp["learning_rate"]),
                                .weight_decay = double(groups.at(0)["weight_decay"]),
                                .adam_beta1 = double(opt["defaults"]["betas"].at(0)),
                                .adam_beta2 = double(opt["defaults"]["betas"].at(1)),
                                .adam_epsilon = double(opt["defaults"]["eps"]),
                                .warmup_ratio = double(hp["warmup_ratio"]),
                                .lr_scheduler_type = scheduler(str(hp["lr_scheduler_type"])),
                                .max_grad_norm = double(hp["max_grad_norm"]),
                                .gradient_accumulation_steps = integer(hp["gradient_accumulation_steps"]),
                                .seed = static_cast<std::uint64_t>(integer(hp["seed"])),
                                .fp16 = bool(hp["fp16"]),
                                .bf16 = bool(hp["bf16"]),
                                .save_strategy = sbert::interval_strategy::no,
                                .logging_steps = static_cast<double>(logging_steps),
                                .dataloader_drop_last = bool(hp["dataloader_drop_last"]),
                                .disable_progress_bar = true};
      sbert::trainer trainer{model, args, data, loss};
      trainer.set_batch_sampler(std::make_shared<sbert::fixed_batch_sampler>(batches));
      std::vector<double> losses, norms, lrs;
      trainer.add_callback({.on_step_end = [&](sbert::train_state& s) {
        losses.push_back(s.step_loss);
        norms.push_back(s.step_grad_norm.value_or(-1));
        lrs.push_back(s.step_learning_rate);
      }});
      auto result = trainer.train();
      CHECK(batches.size() == static_cast<std::size_t>(args.max_steps));
      REQUIRE(losses.size() == batches.size());
      const auto& history = trainer.state().log_history;
      std::size_t k = 0, logged = 0;
      bool initial_weights = true;  // until a step applies a non-zero learning rate
      for (auto st : run["steps"].get_array()) {
        const double tol = initial_weights ? 1e-5 : 1e-4;  // README section 7
        const auto step = integer(st["step"]);
        INFO(name << " step " << step);
        CHECK(step == static_cast<std::int64_t>(k + 1));
        CHECK(losses[k] == Approx(double(st["loss"])).epsilon(tol));
        CHECK(norms[k] == Approx(double(st["grad_norm"])).epsilon(tol));
        CHECK(lrs[k] == Approx(double(st["learning_rate_applied"])).epsilon(1e-9).margin(1e-15));
        initial_weights = initial_weights && double(st["learning_rate_applied"]) == 0.0;
        // the log: loss rounded to 4 decimals, the lr read after the scheduler step, the epoch
        const sbert::log_record* log = nullptr;
        for (const auto& r : history)
          if (sbert::find_value(r, "step") == static_cast<double>(step) && sbert::find_value(r, "loss")) log = &r;
        CHECK((log != nullptr) == (step % logging_steps == 0));
        if (log) {
          ++logged;
          CHECK(sbert::find_value(*log, "loss").value() == Approx(double(st["logged_loss"])).margin(1e-9));
          CHECK(sbert::find_value(*log, "learning_rate").value() == Approx(double(st["logged_learning_rate"])).epsilon(1e-9).margin(1e-15));
          CHECK(sbert::find_value(*log, "epoch").value() == Approx(double(st["epoch"])));
        }
        ++k;
      }
      CHECK(result.training_loss == Approx(double(run["train_loss"])).epsilon(1e-4));
      // final embeddings of the probe sentences (eval mode)
      model->eval();
      auto emb = model->encode(probes);
      auto want = sbert::test::json_tensor(run["final_embeddings"]);
      INFO("final embeddings max |diff| " << (emb - want).abs().max().item<double>());
      REQUIRE(emb.sizes() == want.sizes());
      CHECK(at::allclose(emb, want, 0.0, 1e-4));
      // the JSONL log file holds one line per log entry: the logged steps + the final summary
      std::ifstream log(out / "trainer_log.jsonl");
      std::string line;
      std::size_t lines = 0;
      while (std::getline(log, line)) ++lines;
      CHECK(lines == logged + 1);
      CHECK(history.size() == logged + 1);
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
  CHECK(ckpt->encode(std::vector<std::string>{"a test"}).size(1) == reference_hidden_size());
}

TEST_CASE("trainer: a non-finite loss stops training with the step and the batch rows", "[reference]") {
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
