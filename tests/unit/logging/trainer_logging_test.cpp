// The logging callbacks and the model card driven by the real trainer on the tiny model.
#include <atomic>
#include <filesystem>
#include <iterator>
#include <fstream>
#include <map>
#include <sstream>

#include <sbert/data/readers.hpp>
#include <sbert/losses/adaptive_layer.hpp>
#include <sbert/losses/batch_triplet.hpp>
#include <sbert/losses/cached.hpp>
#include <sbert/losses/contrastive.hpp>
#include <sbert/losses/cosent.hpp>
#include <sbert/losses/matryoshka.hpp>
#include <sbert/losses/online_contrastive.hpp>
#include <sbert/losses/softmax.hpp>
#include <sbert/training/early_stopping.hpp>
#include <sbert/training/log_files.hpp>
#include <sbert/training/model_card.hpp>
#include <sbert/training/tensorboard.hpp>
#include <sbert/training/trainer.hpp>
#include <sbert/training/wandb.hpp>

#undef CHECK
#include "catch.hpp"
#include "reference_json.hpp"

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

/// The reference's tiny model folder, and the sizes its files give (never assumed).
std::string tiny_dir() { return sbert::test::reference_dir() + "/tiny-bert-st"; }
std::int64_t tiny_hidden_size() {
  sbert::test::json_file cfg(tiny_dir() + "/config.json");
  return std::int64_t(cfg.root["hidden_size"]);
}
std::int64_t tiny_max_seq_length() {
  sbert::test::json_file cfg(tiny_dir() + "/sentence_bert_config.json");
  return std::int64_t(cfg.root["max_seq_length"]);
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
  auto model = sbert::models::sentence_transformer::load(tiny_dir());
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
  args.run_name = "logging-test";  // report_to's default ("all"): TensorBoard in runs/{run_name}
  sbert::trainer t{model, args, stsb(96), sbert::cosent_loss{}, stsb(16, 200)};
  const std::string tb_dir = (out / "runs" / "logging-test").string();
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
  card.max_seq_length = model->max_seq_length();
  card.output_dimensionality = model->embedding_dimension();
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

namespace {
std::size_t occurrences(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + what.size())) ++n;
  return n;
}
}  // namespace

TEST_CASE("the card cites every loss that has an upstream citation; a shared citation once", "[reference]") {
  const auto out = fs::temp_directory_path() / ("sbert_logging_citations_" + std::to_string(::getpid()));
  fs::remove_all(out);
  auto model = sbert::models::sentence_transformer::load(tiny_dir());
  const auto dim = tiny_hidden_size();
  sbert::training_args args;
  args.output_dir = out.string();
  auto card = sbert::detail::card_base(*model, args, sbert::train_state{}, {});
  const auto data = stsb(8);
  sbert::softmax_loss::options so;  // member by member, as above
  so.sentence_embedding_dimension = dim;
  so.num_labels = 3;
  sbert::matryoshka_loss<sbert::cosent_loss>::options mo;
  mo.dims = {dim, std::max<std::int64_t>(1, dim / 2)};
  sbert::detail::card_add(card, *model, "softmax", data, sbert::softmax_loss(so));
  sbert::detail::card_add(card, *model, "contrastive", data, sbert::contrastive_loss{});
  sbert::detail::card_add(card, *model, "matryoshka", data, sbert::matryoshka_loss<sbert::cosent_loss>(sbert::cosent_loss{}, mo));
  sbert::detail::card_add(card, *model, "cmnrl", data, sbert::cached_multiple_negatives_ranking_loss{});
  sbert::detail::card_add(card, *model, "batch-hard", data, sbert::batch_hard_triplet_loss{});
  sbert::detail::card_add(card, *model, "batch-all", data, sbert::batch_all_triplet_loss{});
  // two without a citation upstream
  sbert::detail::card_add(card, *model, "online", data, sbert::online_contrastive_loss{});
  sbert::detail::card_add(card, *model, "cmnsrl", data, sbert::cached_multiple_negatives_symmetric_ranking_loss{});
  sbert::write_model_card((out / "model").string(), card);
  std::ifstream readme(out / "model" / "README.md");
  std::stringstream ss;
  ss << readme.rdbuf();
  const std::string md = ss.str();
  INFO(md.substr(md.find("## Citation")));

  // SoftmaxLoss cites the SBERT paper, which is Sentence Transformers' own entry: merged, as in Python
  CHECK(md.find("#### Sentence Transformers and SoftmaxLoss\n```bibtex\n@inproceedings{reimers-2019-sentence-bert,") != std::string::npos);
  CHECK(occurrences(md, "@inproceedings{reimers-2019-sentence-bert,") == 1);
  CHECK(md.find("#### ContrastiveLoss\n```bibtex\n@inproceedings{hadsell2006dimensionality,") != std::string::npos);
  CHECK(md.find("#### MatryoshkaLoss\n```bibtex\n@misc{kusupati2024matryoshka,") != std::string::npos);
  CHECK(md.find("#### CachedMultipleNegativesRankingLoss\n```bibtex\n@misc{gao2021scaling,") != std::string::npos);
  // two losses sharing a citation: one entry naming both
  CHECK(md.find("#### BatchHardTripletLoss and BatchAllTripletLoss\n```bibtex\n@misc{hermans2017defense,") != std::string::npos);
  CHECK(occurrences(md, "hermans2017defense") == 1);
  // no citation upstream: tagged, not cited
  CHECK(md.find("- loss:OnlineContrastiveLoss\n") != std::string::npos);
  CHECK(md.find("- loss:CachedMultipleNegativesSymmetricRankingLoss\n") != std::string::npos);
  CHECK(md.find("#### OnlineContrastiveLoss") == std::string::npos);
  CHECK(md.find("#### CachedMultipleNegativesSymmetricRankingLoss") == std::string::npos);
  CHECK(occurrences(md, "```bibtex") == 5);

  // wrappers: Matryoshka2dLoss carries AdaptiveLayerLoss's 2DMSE entry; a cached core keeps its own
  // (MatryoshkaLoss computed with GradCache); CachedGISTEmbedLoss has none, GISTEmbedLoss has one
  using m2d = sbert::matryoshka_2d_loss<sbert::cosent_loss>;
  CHECK(m2d::citation.starts_with("@misc{li20242d,"));
  CHECK(m2d::citation == sbert::adaptive_layer_loss<sbert::cosent_loss>::citation);
  CHECK(sbert::grad_cache_loss<sbert::matryoshka_loss<sbert::multiple_negatives_ranking_loss>>::citation ==
        sbert::matryoshka_loss<sbert::cosent_loss>::citation);
  CHECK(sbert::cached_gist_embed_loss::citation.empty());
  CHECK(sbert::gist_embed_loss::citation.starts_with("@misc{solatorio2024gistembed,"));
  fs::remove_all(out);
}

namespace {
/// Counts every tokenization, to see what the card costs at each checkpoint.
struct counting_tokenizer : sbert::models::tokenizer {
  std::shared_ptr<const sbert::models::tokenizer> inner;
  mutable std::atomic<long> calls{0};
  explicit counting_tokenizer(std::shared_ptr<const sbert::models::tokenizer> t) : inner(std::move(t)) {}
  sbert::models::encoding encode(std::string_view text, std::optional<std::string_view> pair,
                                 std::size_t max_length) const override {
    ++calls;
    return inner->encode(text, pair, max_length);
  }
  void encode_into(sbert::models::encoding& out, std::string_view text, std::optional<std::string_view> pair,
                   std::size_t max_length, bool with_tokens) const override {
    ++calls;
    inner->encode_into(out, text, pair, max_length, with_tokens);
  }
  std::int64_t pad_id() const override { return inner->pad_id(); }
  std::size_t vocab_size() const override { return inner->vocab_size(); }
  void save(const std::string& dir) const override { inner->save(dir); }
};

/// Tokenizer calls of a 12-step run that saves a checkpoint every `save_steps` steps.
long tokenizations(std::size_t save_steps, const fs::path& out, std::string* card = nullptr) {
  const auto ref = tiny_dir();
  auto tok = std::make_shared<counting_tokenizer>(sbert::models::load_tokenizer(ref));
  auto model = sbert::models::sentence_transformer::from_parts(std::make_shared<sbert::models::transformer>(
      sbert::models::load_encoder(ref), tok, sbert::models::transformer_options{.max_seq_length = tiny_max_seq_length()}));
  fs::remove_all(out);
  sbert::training_args args;
  args.output_dir = out.string();
  args.max_steps = 12;
  args.per_device_train_batch_size = 8;
  args.save_strategy = sbert::interval_strategy::steps;
  args.save_steps = save_steps;
  args.save_total_limit = 1;
  args.disable_progress_bar = true;
  sbert::trainer t{model, args, stsb(96), sbert::cosent_loss{}};
  t.train();
  if (card) {
    std::ifstream f(out / ("checkpoint-12") / "README.md");
    *card = std::string(std::istreambuf_iterator<char>(f), {});
  }
  fs::remove_all(out);
  return tok->calls.load();
}
}  // namespace

TEST_CASE("the card's data-set statistics are computed once per run, not at every checkpoint") {
  const auto out = fs::temp_directory_path() / ("sbert_card_cache_" + std::to_string(::getpid()));
  std::string card;
  const long one_save = tokenizations(12, out, &card);
  const long six_saves = tokenizations(2, out);
  // Training tokenizes 12 batches of 8 pairs either way; the statistics (96 rows x 2 columns)
  // are tokenized once in both runs, so five more checkpoints cost no tokenization at all.
  CHECK(one_save >= 12 * 8 * 2 + 96 * 2);
  CHECK(six_saves == one_save);
  // And the card still has the statistics.
  CHECK(card.find("sentence1") != std::string::npos);
  CHECK(card.find(" tokens") != std::string::npos);
}

TEST_CASE("report_to wandb: an offline run with one history row per log record") {
  const auto out = fs::temp_directory_path() / ("sbert_wandb_trainer_" + std::to_string(::getpid()));
  fs::remove_all(out);
  for (const char* v : {"WANDB_DIR", "WANDB_RUN_ID", "WANDB_PROJECT", "WANDB_ENTITY", "WANDB_MODE"}) ::unsetenv(v);
  auto model = sbert::models::sentence_transformer::load(tiny_dir());
  sbert::training_args args;
  args.output_dir = out.string();
  args.max_steps = 4;
  args.per_device_train_batch_size = 8;
  args.eval_strategy = sbert::interval_strategy::steps;
  args.eval_steps = 2;
  args.save_strategy = sbert::interval_strategy::no;
  args.logging_steps = 1;
  args.disable_progress_bar = true;
  args.log_level = sbert::log_level::error;
  args.run_name = "wandb-test";
  args.report_to = {"wandb"};
  sbert::trainer t{model, args, stsb(32), sbert::cosent_loss{}, stsb(8, 200)};
  t.train();
  CHECK(!fs::exists(out / "runs"));  // only W&B: no TensorBoard folder
  std::vector<fs::path> runs;
  for (const auto& e : fs::directory_iterator(out / "wandb"))
    if (e.path().filename().string().starts_with("offline-run-")) runs.push_back(e.path());
  REQUIRE(runs.size() == 1);
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(runs[0]))
    if (e.path().extension() == ".wandb") files.push_back(e.path());
  REQUIRE(files.size() == 1);
  const auto recs = sbert::wandb::read_run_file(files[0].string());
  const auto& hist = t.state().log_history;
  REQUIRE(hist.size() == 7);  // 4 train logs, 2 eval logs, the final summary
  REQUIRE(recs.at(0).kind == sbert::wandb::record_kind::run);
  CHECK(recs[0].display_name == "wandb-test");
  CHECK(recs[0].project == "huggingface");
  auto config = [&](const std::string& k) {
    for (const auto& it : recs[0].config)
      if (it.key == k) return it.value_json;
    return std::string("<missing>");
  };
  CHECK(config("loss") == "\"CoSENTLoss\"");
  CHECK(config("max_steps") == "4");
  CHECK(config("model").find("Transformer") != std::string::npos);
  CHECK(std::stoll(config("model/num_parameters")) > 0);
  std::size_t row = 0;
  for (const auto& r : recs) {
    if (r.kind != sbert::wandb::record_kind::history) continue;
    REQUIRE(row < hist.size());
    const auto& h = hist[row];
    std::map<std::string, std::string> items;
    for (const auto& it : r.items) items[it.key] = it.value_json;
    CHECK(items.at("_step") == std::to_string(row));
    CHECK(items.at("train/global_step") == std::to_string(static_cast<long long>(*sbert::find_value(h, "step"))));
    for (const auto& [k, v] : h) {
      if (k == "step" || sbert::wandb::single_value_scalar(k)) continue;
      CHECK(items.at(sbert::wandb::rewrite_key(k)) == sbert::json::python_float(v));
    }
    ++row;
  }
  CHECK(row == hist.size());
  CHECK(recs[recs.size() - 2].kind == sbert::wandb::record_kind::exit);
  CHECK(recs[recs.size() - 2].exit_code == 0);
  CHECK(fs::exists(runs[0] / "files" / "config.yaml"));
  fs::remove_all(out);
}
