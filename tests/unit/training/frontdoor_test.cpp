// The trainer's front door (issue 10): every way of handing it data sets and an evaluator
// deduces and runs; console logs, TensorBoard (report_to / run_name) and prompts as Python
// has them; losses own their weights in a module, named as Python names them, each tensor
// once in the optimizer however many data sets share the loss.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <unordered_set>

#include <ATen/ops/allclose.h>
#include <ATen/ops/equal.h>

#include <sbert/data/readers.hpp>
#include <sbert/evaluation/triplet.hpp>
#include <sbert/losses/multiple_negatives_ranking.hpp>
#include <sbert/losses/contrastive_tension.hpp>
#include <sbert/losses/matryoshka.hpp>
#include <sbert/losses/softmax.hpp>
#include <sbert/training/multi_dataset.hpp>
#include <sbert/training/trainer.hpp>

#undef CHECK
#include "catch.hpp"
#include "reference_json.hpp"

namespace fs = std::filesystem;
namespace {
using triplets = sbert::schema<sbert::columns::anchor, sbert::columns::positive, sbert::columns::negative>;
struct s1 : sbert::text_column<"sentence1"> {};
struct s2 : sbert::text_column<"sentence2"> {};
struct lab : sbert::class_column<"label"> {};
using pairs_class = sbert::schema<s1, s2, lab>;

std::string read(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

sbert::dataset<triplets> nli(std::size_t n, std::size_t from = 0) {
  return sbert::read_tsv<triplets>(sbert::test::shared_dir() + "/data/nli/nli_dev_triplets.tsv").select_range(from, from + n);
}

sbert::dataset<pairs_class> labelled(std::size_t n, std::size_t from = 0) {
  return nli(n, from).map<pairs_class>([](auto r) {
    return std::tuple{r.template get<sbert::columns::anchor>(), r.template get<sbert::columns::positive>(),
                      std::int64_t(r.index() % 2)};
  });
}

// tiny-bert-st without dropout (so a batch's embeddings equal encode()'s), optionally with
// Pooling's include_prompt = false.
std::shared_ptr<sbert::models::sentence_transformer> tiny(const std::string& name, bool include_prompt = true) {
  const fs::path dir = fs::temp_directory_path() / ("sbert_frontdoor_model_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::copy(sbert::test::reference_dir() + "/tiny-bert-st", dir, fs::copy_options::recursive);
  std::string cfg = read(dir / "config.json");
  cfg = std::regex_replace(cfg, std::regex("\"(hidden_dropout_prob|attention_probs_dropout_prob)\": 0\\.1"), "\"$1\": 0.0");
  std::ofstream(dir / "config.json") << cfg;
  if (!include_prompt) {
    std::string pool = read(dir / "1_Pooling" / "config.json");
    pool = std::regex_replace(pool, std::regex("\"include_prompt\": true"), "\"include_prompt\": false");
    std::ofstream(dir / "1_Pooling" / "config.json") << pool;
  }
  auto m = sbert::models::sentence_transformer::load(dir.string());
  fs::remove_all(dir);
  return m;
}

sbert::training_args quiet_args(const std::string& name) {
  sbert::training_args a;
  a.output_dir = (fs::temp_directory_path() / ("sbert_frontdoor_" + name + "_" + std::to_string(::getpid()))).string();
  fs::remove_all(a.output_dir);
  a.max_steps = 2;
  a.per_device_train_batch_size = 4;
  a.save_strategy = sbert::interval_strategy::no;
  a.logging_steps = 1;
  a.disable_progress_bar = true;
  a.report_to = {"none"};
  a.log_level = sbert::log_level::warning;
  return a;
}

// Everything written to stdout while `f` runs.
template <class F>
std::string capture_stdout(F&& f) {
  std::fflush(stdout);
  char path[] = "/tmp/sbert_stdout_XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  const int saved = ::dup(1);
  ::dup2(fd, 1);
  try {
    f();
  } catch (...) {
    std::fflush(stdout);
    ::dup2(saved, 1);
    ::close(saved);
    ::close(fd);
    throw;
  }
  std::fflush(stdout);
  ::dup2(saved, 1);
  ::close(saved);
  ::close(fd);
  std::string out = read(path);
  fs::remove(path);
  return out;
}

sbert::triplet_options dev_options() {
  sbert::triplet_options o;  // member by member: -Wextra flags designated initialisers that skip members
  o.name = "dev";
  o.write_csv = false;
  return o;
}

using metrics = std::map<std::string, double>;
metrics constant_metric(sbert::models::sentence_transformer&, const std::string&, int, int) { return {{"fixed", 1.0}}; }

// Records the embeddings the trainer computes; its value has zero gradient, so training leaves
// the model as it was.
struct probe_loss {
  static constexpr sbert::inputs_spec inputs{.texts = sbert::at_least(1), .labels = sbert::label_kind::none};
  static constexpr std::string_view name = "ProbeLoss";
  std::shared_ptr<std::vector<std::vector<at::Tensor>>> seen = std::make_shared<std::vector<std::vector<at::Tensor>>>();
  at::Tensor operator()(std::span<const at::Tensor> e, const at::Tensor&) const {
    std::vector<at::Tensor> batch;
    for (const auto& x : e) batch.push_back(x.detach().clone());
    seen->push_back(std::move(batch));
    return (e[0] * 0).sum();
  }
};

bool same_tensor(const at::Tensor& a, const at::Tensor& b) { return a.unsafeGetTensorImpl() == b.unsafeGetTensorImpl(); }

std::size_t count_named(const std::vector<sbert::named_parameter>& ps, const std::string& name) {
  return static_cast<std::size_t>(std::count_if(ps.begin(), ps.end(), [&](const auto& p) { return p.name == name; }));
}

void check_no_tensor_twice(const std::vector<sbert::named_parameter>& ps) {
  std::unordered_set<const void*> impls;
  for (const auto& p : ps) CHECK(impls.insert(p.tensor.unsafeGetTensorImpl()).second);
}
}  // namespace

TEST_CASE("trainer: every way of passing data sets and an evaluator deduces, runs, and copies nothing it need not") {
  auto model = tiny("ctad");
  const auto args = quiet_args("ctad");
  sbert::multiple_negatives_ranking_loss mnrl;

  // An lvalue: copied (the caller keeps it).
  auto train = nli(16);
  sbert::trainer a{model, args, train, mnrl};
  static_assert(std::is_same_v<decltype(a), sbert::trainer<triplets, sbert::multiple_negatives_ranking_loss>>);
  CHECK(a.train_dataset().size() == 16);
  CHECK(a.eval_dataset() == nullptr);

  // Moved in: the trainer holds the very rows (no copy), and an evaluator by value.
  auto moved_train = nli(16), moved_dev = nli(8, 100);
  const auto* train_rows = moved_train.column<sbert::columns::anchor>().data();
  const auto* dev_rows = moved_dev.column<sbert::columns::anchor>().data();
  sbert::triplet_evaluator dev_eval{nli(8, 100), dev_options()};
  sbert::trainer b{model, args, std::move(moved_train), mnrl, std::move(moved_dev), std::move(dev_eval)};
  static_assert(std::is_same_v<decltype(b), sbert::trainer<triplets, sbert::multiple_negatives_ranking_loss>>);
  CHECK(b.train_dataset().column<sbert::columns::anchor>().data() == train_rows);
  REQUIRE(b.eval_dataset() != nullptr);
  CHECK(b.eval_dataset()->column<sbert::columns::anchor>().data() == dev_rows);

  // Shared: the trainer holds the caller's object; an evaluator by shared_ptr, and by value
  // straight from a temporary.
  auto shared_train = std::make_shared<const sbert::dataset<triplets>>(nli(16));
  auto shared_dev = std::make_shared<sbert::dataset<triplets>>(nli(8, 100));
  sbert::trainer c{model, args, shared_train, mnrl, shared_dev,
                   std::make_shared<sbert::triplet_evaluator>(nli(8, 100), dev_options())};
  CHECK(&c.train_dataset() == shared_train.get());
  CHECK(c.eval_dataset() == shared_dev.get());
  sbert::trainer c2{model, args, std::make_shared<sbert::dataset<triplets>>(nli(16)), mnrl, {},
                    sbert::triplet_evaluator{nli(8, 100), dev_options()}};
  CHECK(c2.eval_dataset() == nullptr);

  // No eval set but an evaluator: `{}` or std::nullopt; a function, a lambda, a std::function.
  sbert::trainer d{model, args, train, mnrl, {}, constant_metric};
  sbert::trainer e{model, args, train, mnrl, std::nullopt,
                   [](sbert::models::sentence_transformer&, const std::string&, int, int) { return metrics{{"fixed", 2.0}}; }};
  sbert::trainer f{model, args, train, mnrl, train, sbert::evaluator_fn(constant_metric)};
  sbert::trainer g{model, args, train, mnrl, std::optional<sbert::dataset<triplets>>{}};
  CHECK(g.eval_dataset() == nullptr);

  // They all run; the evaluators' metrics arrive with the eval_ prefix.
  auto with_eval = [](sbert::training_args x) {
    x.eval_strategy = sbert::interval_strategy::steps;
    x.eval_steps = 2;
    return x;
  };
  a.train();
  for (auto* t : {&b, &c, &c2}) CHECK(t->evaluate().contains("eval_dev_cosine_accuracy"));
  CHECK(b.evaluate().contains("eval_loss"));
  CHECK(d.evaluate().at("eval_fixed") == 1.0);
  CHECK(e.evaluate().at("eval_fixed") == 2.0);
  CHECK(f.evaluate().contains("eval_loss"));
  sbert::trainer h{model, with_eval(args), nli(16), mnrl, nli(8, 100), sbert::triplet_evaluator{nli(8, 100), dev_options()}};
  std::vector<metrics> evals;
  sbert::callback record;
  record.on_evaluate = [&](auto&, const metrics& m) { evals.push_back(m); };
  h.add_callback(record);
  h.train();
  REQUIRE(evals.size() == 1);
  CHECK(evals[0].contains("eval_loss"));
  CHECK(evals[0].contains("eval_dev_cosine_accuracy"));
  fs::remove_all(args.output_dir);
}

TEST_CASE("multi_dataset_trainer: train_on takes data sets moved, shared or copied, and evaluators by value") {
  auto model = tiny("multi_ctad");
  auto args = quiet_args("multi_ctad");
  auto moved = nli(16);
  const auto* rows = moved.column<sbert::columns::anchor>().data();
  auto shared = std::make_shared<const sbert::dataset<triplets>>(nli(12, 50));
  auto entry = sbert::train_on("moved", std::move(moved), sbert::multiple_negatives_ranking_loss{}, nli(8, 100));
  CHECK(entry.train->column<sbert::columns::anchor>().data() == rows);
  sbert::multi_dataset_trainer t{model, args, std::move(entry),
                                 sbert::train_on("shared", shared, sbert::multiple_negatives_ranking_loss{}, {}),
                                 sbert::train_on("copied", labelled(8), sbert::softmax_loss({.sentence_embedding_dimension = 128, .num_labels = 2}))};
  t.set_evaluator(sbert::triplet_evaluator{nli(8, 100), dev_options()});
  const auto m = t.evaluate();
  CHECK(m.contains("eval_moved_loss"));
  CHECK(!m.contains("eval_shared_loss"));
  CHECK(m.contains("eval_dev_cosine_accuracy"));
  t.train();
  CHECK(t.state().global_step == 2);
  fs::remove_all(args.output_dir);
}

TEST_CASE("trainer: log dicts and the final summary go to stdout as Python prints them; log_level quiets them") {
  auto model = tiny("console");
  auto args = quiet_args("console");
  args.log_level = sbert::log_level::info;
  const std::string out = capture_stdout([&] {
    sbert::trainer t{model, args, nli(8), sbert::multiple_negatives_ranking_loss{}};
    t.train();
  });
  INFO(out);
  // two steps, then the summary; stderr is no terminal here, and the logs come all the same
  CHECK(std::regex_search(out, std::regex(R"(\{'loss': [0-9.e+-]+, 'grad_norm': [0-9.e+-]+, 'learning_rate': 2\.5e-05, 'epoch': 0\.5\}\n)")));
  CHECK(std::regex_search(out, std::regex(R"(\{'loss': [0-9.e+-]+, 'grad_norm': [0-9.e+-]+, 'learning_rate': 0\.0, 'epoch': 1\.0\}\n)")));
  CHECK(std::regex_search(out, std::regex(R"(\{'train_runtime': [0-9.e+-]+, 'train_samples_per_second': [0-9.e+-]+, 'train_steps_per_second': [0-9.e+-]+, 'train_loss': [0-9.e+-]+, 'epoch': 1\.0\}\n)")));
  CHECK(out.find("'step'") == std::string::npos);

  args.log_level = sbert::log_level::warning;
  const std::string quiet = capture_stdout([&] {
    sbert::trainer t{model, args, nli(8), sbert::multiple_negatives_ranking_loss{}};
    t.train();
  });
  CHECK(quiet.empty());
  CHECK(sbert::detail::console_line({{"epoch", 1.0 / 3.0}, {"x", 1e-5}, {"y", 100.0}, {"step", 3}}) ==
        "{'epoch': 0.33, 'x': 1e-05, 'y': 100.0}");
  fs::remove_all(args.output_dir);
}

TEST_CASE("trainer: report_to writes TensorBoard by default, into runs/{run_name}; \"none\" turns it off") {
  auto model = tiny("tb");
  auto args = quiet_args("tb");
  args.report_to = sbert::training_args{}.report_to;
  CHECK(args.report_to == std::vector<std::string>{"all"});
  args.run_name = "first-run";
  {
    sbert::trainer t{model, args, nli(8), sbert::multiple_negatives_ranking_loss{}};
    t.train();
    const fs::path dir = fs::path(args.output_dir) / "runs" / "first-run";
    REQUIRE(fs::is_directory(dir));
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path());
    REQUIRE(files.size() == 1);
    const auto events = sbert::tensorboard::read_event_file(files[0].string());
    std::size_t scalars = 0;
    for (const auto& r : t.state().log_history) scalars += r.size() - 1;  // all but "step"
    CHECK(events.size() == scalars + 1);                                  // + the file_version record
    CHECK(events.at(1).values.at(0).first == "train/loss");
  }
  // Without a run name: transformers' date_host folder under runs/.
  args.run_name.clear();
  fs::remove_all(args.output_dir);
  {
    sbert::trainer t{model, args, nli(8), sbert::multiple_negatives_ranking_loss{}};
    t.train();
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(fs::path(args.output_dir) / "runs")) n += e.is_directory();
    CHECK(n == 1);
  }
  // logging_dir wins.
  fs::remove_all(args.output_dir);
  args.logging_dir = (fs::path(args.output_dir) / "tb").string();
  {
    sbert::trainer t{model, args, nli(8), sbert::multiple_negatives_ranking_loss{}};
    t.train();
    CHECK(fs::is_directory(args.logging_dir));
    CHECK(!fs::exists(fs::path(args.output_dir) / "runs"));
  }
  // "none": no TensorBoard folder at all.
  fs::remove_all(args.output_dir);
  args.logging_dir.clear();
  args.report_to = {"none"};
  {
    sbert::trainer t{model, args, nli(8), sbert::multiple_negatives_ranking_loss{}};
    t.train();
    CHECK(!fs::exists(fs::path(args.output_dir) / "runs"));
  }
  args.report_to = {"mlflow"};  // an integration sbert does not have
  sbert::trainer t{model, args, nli(8), sbert::multiple_negatives_ranking_loss{}};
  CHECK_THROWS_WITH(t.train(), Catch::Contains("report_to: 'mlflow'"));
  fs::remove_all(args.output_dir);
}

TEST_CASE("trainer: prompts per column reach the training and eval batches, pooled without the prompt's tokens") {
  auto model = tiny("prompts", /*include_prompt=*/false);
  auto args = quiet_args("prompts");
  args.max_steps = 1;
  args.prompts = sbert::prompt_config::column_map{{"anchor", "query: "}, {"positive", "passage: "}};
  probe_loss probe;
  auto data = nli(4);
  const auto in_order = std::make_shared<sbert::fixed_batch_sampler>(sbert::batch_list{{0, 1, 2, 3}});
  sbert::trainer t{model, args, data, probe, nli(4, 100)};
  t.set_batch_sampler(in_order);
  t.train();
  REQUIRE(probe.seen->size() == 1);
  const auto& batch = probe.seen->at(0);
  auto col = [&](auto c, const sbert::dataset<triplets>& d) {
    using C = decltype(c);
    return std::vector<std::string>(d.column<C>().begin(), d.column<C>().end());
  };
  const auto anchors = col(sbert::columns::anchor{}, data), positives = col(sbert::columns::positive{}, data),
             negatives = col(sbert::columns::negative{}, data);
  const auto want_a = model->encode(anchors, {.prompt = "query: "});
  const auto want_p = model->encode(positives, {.prompt = "passage: "});
  const auto want_n = model->encode(negatives);
  CHECK(at::allclose(batch[0], want_a, 1e-5, 1e-6));
  CHECK(at::allclose(batch[1], want_p, 1e-5, 1e-6));
  CHECK(at::allclose(batch[2], want_n, 1e-5, 1e-6));
  // the prompt changed the text, and its tokens are not pooled: not the embedding of the bare text,
  // and not the one that pools the prompt too
  CHECK(!at::allclose(batch[0], model->encode(anchors), 1e-3, 1e-4));
  std::vector<std::string> prefixed;
  for (const auto& a : anchors) prefixed.push_back("query: " + a);
  CHECK(!at::allclose(batch[0], model->encode(prefixed), 1e-3, 1e-4));

  // the eval_loss batches get the prompts too
  probe.seen->clear();
  (void)t.evaluate();
  REQUIRE(probe.seen->size() == 1);
  const auto dev = nli(4, 100);
  CHECK(at::allclose(probe.seen->at(0)[0], model->encode(col(sbert::columns::anchor{}, dev), {.prompt = "query: "}), 1e-5, 1e-6));

  // one prompt for every column
  args.prompts = "query: ";
  probe.seen->clear();
  sbert::trainer all{model, args, data, probe};
  all.set_batch_sampler(in_order);
  all.train();
  CHECK(at::allclose(probe.seen->at(0)[2], model->encode(negatives, {.prompt = "query: "}), 1e-5, 1e-6));

  // prompts per data set need the multi-dataset trainer
  args.prompts = std::map<std::string, sbert::prompt_config::column_map>{{"nli", {{"anchor", "query: "}}}};
  CHECK_THROWS_WITH((sbert::trainer{model, args, data, probe}), Catch::Contains("need the multi_dataset_trainer"));
  fs::remove_all(args.output_dir);
}

TEST_CASE("multi_dataset_trainer: prompts per data set (a map of column maps, or one prompt by data-set name)") {
  auto model = tiny("multi_prompts", /*include_prompt=*/false);
  auto args = quiet_args("multi_prompts");
  args.max_steps = 2;
  args.per_device_train_batch_size = 1;  // one row per data set: no shuffled order to undo
  args.multi_dataset_batch_sampler = sbert::multi_dataset_batch_sampler::round_robin;
  probe_loss pa, pb;
  const auto da = nli(1), db = nli(1, 50);
  args.prompts = std::map<std::string, sbert::prompt_config::column_map>{{"a", {{"anchor", "query: "}}}, {"b", {}}};
  {
    sbert::multi_dataset_trainer t{model, args, sbert::train_on("a", da, pa), sbert::train_on("b", db, pb)};
    t.train();
    REQUIRE(pa.seen->size() == 1);
    REQUIRE(pb.seen->size() == 1);
    const std::vector<std::string> a_anchor(da.column<sbert::columns::anchor>().begin(), da.column<sbert::columns::anchor>().end());
    const std::vector<std::string> a_pos(da.column<sbert::columns::positive>().begin(), da.column<sbert::columns::positive>().end());
    const std::vector<std::string> b_anchor(db.column<sbert::columns::anchor>().begin(), db.column<sbert::columns::anchor>().end());
    CHECK(at::allclose(pa.seen->at(0)[0], model->encode(a_anchor, {.prompt = "query: "}), 1e-5, 1e-6));
    CHECK(at::allclose(pa.seen->at(0)[1], model->encode(a_pos), 1e-5, 1e-6));
    CHECK(at::allclose(pb.seen->at(0)[0], model->encode(b_anchor), 1e-5, 1e-6));
  }
  // a flat map whose key names a data set: every column of that data set
  args.prompts = sbert::prompt_config::column_map{{"b", "doc: "}};
  pa.seen->clear();
  pb.seen->clear();
  {
    sbert::multi_dataset_trainer t{model, args, sbert::train_on("a", da, pa), sbert::train_on("b", db, pb)};
    t.train();
    const std::vector<std::string> b_neg(db.column<sbert::columns::negative>().begin(), db.column<sbert::columns::negative>().end());
    const std::vector<std::string> a_neg(da.column<sbert::columns::negative>().begin(), da.column<sbert::columns::negative>().end());
    CHECK(at::allclose(pb.seen->at(0)[2], model->encode(b_neg, {.prompt = "doc: "}), 1e-5, 1e-6));
    CHECK(at::allclose(pa.seen->at(0)[2], model->encode(a_neg), 1e-5, 1e-6));
  }
  args.prompts = std::map<std::string, sbert::prompt_config::column_map>{{"typo", {{"anchor", "query: "}}}};
  CHECK_THROWS_WITH((sbert::multi_dataset_trainer{model, args, sbert::train_on("a", da, pa)}),
                    Catch::Contains("data set 'typo', but no train_on entry has that name"));
  fs::remove_all(args.output_dir);
}

TEST_CASE("losses own their weights: SoftmaxLoss's classifier under Python's names, the bias undecayed") {
  auto model = tiny("softmax_names");
  auto args = quiet_args("softmax_names");
  args.weight_decay = 0.01;
  sbert::softmax_loss loss({.sentence_embedding_dimension = model->embedding_dimension(), .num_labels = 2});
  auto mod = loss.module()->named_parameters(true);
  REQUIRE(mod.size() == 2);
  CHECK(mod.keys() == std::vector<std::string>{"classifier.weight", "classifier.bias"});
  static_assert(sbert::HasModule<sbert::softmax_loss>);

  sbert::trainer t{model, args, labelled(8), loss};
  const auto ps = t.optimizer_parameters();
  check_no_tensor_twice(ps);
  REQUIRE(ps.size() >= 2);
  CHECK(ps[ps.size() - 2].name == "classifier.weight");
  CHECK(ps.back().name == "classifier.bias");
  CHECK(sbert::decays("classifier.weight"));
  CHECK(!sbert::decays("classifier.bias"));  // was "loss.1", and decayed
  // the trainer's copy of the loss shares the caller's weights
  CHECK(same_tensor(ps.back().tensor, loss.bias()));
  const auto before = loss.weight().detach().clone();
  t.train();
  CHECK(!at::equal(loss.weight().detach(), before));

  // the checkpoint keys the classifier by those names
  args.save_strategy = sbert::interval_strategy::steps;
  args.save_steps = 2;
  fs::remove_all(args.output_dir);
  sbert::trainer t2{model, args, labelled(8), loss};
  t2.train();
  const auto ckpt = fs::path(args.output_dir) / "checkpoint-2";
  auto saved = sbert::safetensors::load_file((ckpt / "loss_parameters.safetensors").string());
  std::vector<std::string> names;
  for (const auto& [n, x] : saved) names.push_back(n);
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"classifier.bias", "classifier.weight"});
  const auto opt = read(ckpt / "optimizer.safetensors");
  CHECK(opt.find("exp_avg.classifier.bias") != std::string::npos);
  fs::remove_all(args.output_dir);
}

TEST_CASE("multi_dataset_trainer: one loss on several data sets is one set of weights, one optimizer slot each") {
  auto model = tiny("shared_loss");
  auto args = quiet_args("shared_loss");
  args.max_steps = 4;
  args.multi_dataset_batch_sampler = sbert::multi_dataset_batch_sampler::round_robin;
  sbert::softmax_loss shared({.sentence_embedding_dimension = 128, .num_labels = 2});
  sbert::softmax_loss own({.sentence_embedding_dimension = 128, .num_labels = 2});
  shared.to(at::Device(at::kCPU));  // moving keeps the tensors (Module::to works in place)
  sbert::multi_dataset_trainer t{model, args, sbert::train_on("a", labelled(8), shared), sbert::train_on("b", labelled(8, 20), shared),
                                 sbert::train_on("c", labelled(8, 40), own)};
  const auto ps = t.optimizer_parameters();
  check_no_tensor_twice(ps);
  CHECK(count_named(ps, "a.classifier.weight") == 1);
  CHECK(count_named(ps, "a.classifier.bias") == 1);
  CHECK(count_named(ps, "b.classifier.weight") == 0);  // the same tensors as a's
  CHECK(count_named(ps, "c.classifier.weight") == 1);  // another loss, its own
  std::size_t model_params = 0;
  for (const auto& p : model->named_parameters(true)) model_params += p.value().requires_grad();
  CHECK(ps.size() == model_params + 4);
  for (const auto& p : ps) {
    if (p.name == "a.classifier.weight") CHECK(same_tensor(p.tensor, shared.weight()));
    if (p.name == "c.classifier.weight") CHECK(same_tensor(p.tensor, own.weight()));
  }
  const auto before = shared.weight().detach().clone();
  t.train();  // a, b, c, a: both of the shared loss's data sets train the one classifier
  CHECK(!at::equal(shared.weight().detach(), before));
  fs::remove_all(args.output_dir);
}

TEST_CASE("sentence_transformer::from_parts picks load()'s default device") {
  const auto ref = sbert::test::reference_dir() + "/tiny-bert-st";
  auto t = std::make_shared<sbert::models::transformer>(sbert::models::load_encoder(ref), sbert::models::load_tokenizer(ref),
                                                        sbert::models::transformer_options{.max_seq_length = 32});
  auto m = sbert::models::sentence_transformer::from_parts(t);
  CHECK(m->device() == sbert::models::default_device());
  auto cpu = sbert::models::sentence_transformer::from_parts(
      std::make_shared<sbert::models::transformer>(sbert::models::load_encoder(ref), sbert::models::load_tokenizer(ref),
                                                   sbert::models::transformer_options{.max_seq_length = 32}),
      "mean", false, at::Device(at::kCPU));
  CHECK(cpu->device() == at::Device(at::kCPU));
}

TEST_CASE("trainer: batch_sampler group_by_label on a schema without a class label fails at construction") {
  auto model = tiny("groupby");
  auto args = quiet_args("groupby");
  args.batch_sampler = sbert::batch_sampler::group_by_label;
  CHECK_THROWS_WITH((sbert::trainer{model, args, nli(8), sbert::multiple_negatives_ranking_loss{}}),
                    Catch::Contains("no class label") && Catch::Contains("no_duplicates"));
  args.batch_sampler = sbert::batch_sampler::no_duplicates;
  CHECK_NOTHROW(sbert::trainer{model, args, nli(8), sbert::multiple_negatives_ranking_loss{}});
  fs::remove_all(args.output_dir);
}

TEST_CASE("losses own their weights: wrappers pass their base's names through; TSDAE and contrastive tension name theirs") {
  auto model = tiny("wrapped_names");
  const auto dim = model->embedding_dimension();
  auto names = [](const auto& loss) {
    std::vector<sbert::named_parameter> out;
    sbert::detail::add_loss_parameters(out, loss, "");
    check_no_tensor_twice(out);
    std::vector<std::string> n;
    for (const auto& p : out) n.push_back(p.name);
    return n;
  };
  sbert::softmax_loss soft({.sentence_embedding_dimension = dim, .num_labels = 2});
  sbert::matryoshka_loss wrapped(soft, {.dims = {dim, dim / 2}});
  static_assert(sbert::HasModule<decltype(wrapped)>);
  CHECK(names(wrapped) == std::vector<std::string>{"classifier.weight", "classifier.bias"});
  static_assert(!sbert::HasModule<sbert::matryoshka_loss<sbert::multiple_negatives_ranking_loss>>);

  // ContrastiveTensionLossInBatchNegatives: logit_scale and model1.* as Python names them; the
  // biases and LayerNorm weights of model1 are then undecayed, as in Python.
  auto copy = tiny("wrapped_names_copy");
  sbert::contrastive_tension_loss_in_batch_negatives ct(copy);
  const auto n = names(ct);
  REQUIRE(n.size() == ct.parameters().size());
  CHECK(n.front() == "logit_scale");
  CHECK(std::all_of(n.begin() + 1, n.end(), [](const std::string& x) { return x.rfind("model1.", 0) == 0; }));
  CHECK(std::any_of(n.begin(), n.end(), [](const std::string& x) { return !sbert::decays(x); }));
  // to() moves in place: the tensor the loss computes with is still the module's parameter
  const auto* impl = ct.logit_scale().unsafeGetTensorImpl();
  ct.to(at::Device(at::kCPU));
  CHECK(ct.logit_scale().unsafeGetTensorImpl() == impl);
  CHECK(ct.module()->named_parameters(false)["logit_scale"].unsafeGetTensorImpl() == impl);

  sbert::contrastive_tension_loss ctl(copy);
  CHECK(names(ctl).size() == ctl.parameters().size());
  CHECK(names(ctl).front().rfind("model1.", 0) == 0);
}
