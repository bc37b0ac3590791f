// The model card as the trainers write it: the user's metadata, the data sets' names, the
// evaluation data set, every evaluator's results under its declared Python name, no links for
// custom classes, the run name and the real libtorch release.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>

#include <unistd.h>

#include <sbert/data/readers.hpp>
#include <sbert/evaluation/embedding_similarity.hpp>
#include <sbert/evaluation/mse.hpp>
#include <sbert/evaluation/sequential.hpp>
#include <sbert/losses/cosent.hpp>
#include <sbert/losses/multiple_negatives_ranking.hpp>
#include <sbert/training/multi_dataset.hpp>
#include <sbert/training/trainer.hpp>

#undef CHECK
#include "catch.hpp"

namespace fs = std::filesystem;
namespace {
struct s1 : sbert::text_column<"sentence1"> {};
struct s2 : sbert::text_column<"sentence2"> {};
struct sc : sbert::score_column<"score"> {};
using sts = sbert::schema<s1, s2, sc>;
using pairs = sbert::schema<s1, s2>;

sbert::dataset<sts> stsb(std::size_t n, std::size_t from = 0) {
  sbert::read_options o;
  o.header = false;
  o.positions = {{"score", 4}, {"sentence1", 5}, {"sentence2", 6}};
  o.extra_fields = sbert::extra_fields::ignore;
  return sbert::read_tsv<sts>(sbert::test::shared_dir() + "/data/stsbenchmark/sts-train.csv", o)
      .select_range(from, from + n)
      .map_column<sc>([](float s) { return s / 5.f; });
}

std::shared_ptr<sbert::models::sentence_transformer> tiny() {
  return sbert::models::sentence_transformer::load(sbert::test::reference_dir() + "/tiny-bert-st");
}

sbert::training_args short_run(const fs::path& out) {
  sbert::training_args a;  // member by member: GCC 12's -Wextra flags designated initialisers that skip members
  a.output_dir = out.string();
  a.max_steps = 2;
  a.per_device_train_batch_size = 8;
  a.save_strategy = sbert::interval_strategy::no;
  a.eval_strategy = sbert::interval_strategy::steps;
  a.eval_steps = 2;
  a.logging_steps = 1;
  a.disable_progress_bar = true;
  return a;
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  return {std::istreambuf_iterator<char>(f), {}};
}

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + what.size())) ++n;
  return n;
}

/// No heading without a text, no empty `type:` / `name:` in the front matter.
void check_no_empty_headings(const std::string& card) {
  std::istringstream is(card);
  for (std::string line; std::getline(is, line);) {
    INFO(line);
    if (line.starts_with("#")) CHECK(line.find_first_not_of("# ") != std::string::npos);
    CHECK(line.find("type: ''") == std::string::npos);
    CHECK(line.find("name: ''") == std::string::npos);
  }
}

/// A loss of the user's own (not a sentence-transformers class): CoSENT under another name.
struct my_cosent_loss : sbert::cosent_loss {
  static constexpr std::string_view name = "MyCoSENTLoss";
};

/// An evaluator of the user's own that declares nothing but name() and primary_metric().
struct recall_at_k_evaluator {
  std::string name() const { return "mine"; }
  std::string primary_metric() const { return "mine_recall@1"; }
  std::map<std::string, double> operator()(sbert::models::sentence_transformer&, const std::string&, int, int) {
    return {{"mine_recall@1", 0.5}};
  }
};
}  // namespace

TEST_CASE("the trainer's card: user metadata, data set names, eval data set, evaluator names, run name") {
  const auto out = fs::temp_directory_path() / ("sbert_trainer_card_" + std::to_string(::getpid()));
  fs::remove_all(out);
  auto model = tiny();
  auto args = short_run(out);
  args.run_name = "tiny-stsb-cosent";
  // The evaluator: Python's MSEEvaluator (the model as its own teacher) and an
  // EmbeddingSimilarityEvaluator, run in sequence; the card lists the two, not the sequence.
  sbert::mse_options mo;
  mo.name = "distill-dev";
  sbert::embedding_similarity_options eo;
  eo.name = "sts-dev";
  eo.write_csv = false;
  auto mse = std::make_shared<sbert::mse_evaluator>(stsb(8, 300).remove_columns<sc>(), *model, mo);
  auto sim = std::make_shared<sbert::embedding_similarity_evaluator>(stsb(16, 300), eo);
  auto seq = std::make_shared<sbert::sequential_evaluator>(std::vector<std::shared_ptr<sbert::evaluator>>{mse, sim});

  sbert::trainer t{model, args, stsb(32), sbert::cosent_loss{}, stsb(16, 200)};
  t.set_evaluator(seq);
  sbert::model_card_info info;
  info.language = {"en"};
  info.license = "apache-2.0";
  info.model_name = "Tiny BERT trained on STSb";
  info.model_id = "sbert-tests/tiny-stsb";
  info.train_datasets = {{"stsb", "sentence-transformers/stsb", ""}};
  info.eval_datasets = {{"stsb-dev", "", ""}};
  t.set_model_card_info(info);
  t.train();
  t.save_model((out / "final").string());
  const std::string card = slurp(out / "final" / "README.md");
  INFO(card);
  check_no_empty_headings(card);

  // the user's metadata
  CHECK(card.starts_with("---\nlanguage:\n- en\nlicense: apache-2.0\n"));
  CHECK(card.find("\n# Tiny BERT trained on STSb\n") != std::string::npos);
  CHECK(card.find("model = SentenceTransformer(\"sbert-tests/tiny-stsb\")") != std::string::npos);
  CHECK(card.find("datasets:\n- sentence-transformers/stsb\n") != std::string::npos);
  // the data sets by the user's names, the eval one in its own section
  CHECK(card.find("trained on the [stsb](https://huggingface.co/datasets/sentence-transformers/stsb) dataset.") != std::string::npos);
  CHECK(card.find("### Training Dataset\n\n#### stsb\n\n* Dataset: [stsb](https://huggingface.co/datasets/sentence-transformers/stsb)\n"
                  "* Size: 32 training samples\n") != std::string::npos);
  CHECK(card.find("### Evaluation Dataset\n\n#### stsb-dev\n\n* Dataset: stsb-dev\n* Size: 16 evaluation samples\n") != std::string::npos);
  CHECK(count(card, "* Loss: [<code>CoSENTLoss</code>](https://sbert.net/docs/package_reference/sentence_transformer/losses.html#cosentloss)") == 2);
  CHECK(card.find("#### train\n") == std::string::npos);
  // both evaluators, by their Python names and descriptions, in the body and the model-index
  CHECK(card.find("#### Knowledge Distillation\n\n* Dataset: `distill-dev`\n* Evaluated with [<code>MSEEvaluator</code>]"
                  "(https://sbert.net/docs/package_reference/sentence_transformer/evaluation.html#sentence_transformers.evaluation.MSEEvaluator)") !=
        std::string::npos);
  CHECK(card.find("#### Semantic Similarity\n\n* Dataset: `sts-dev`\n* Evaluated with [<code>EmbeddingSimilarityEvaluator</code>]") !=
        std::string::npos);
  CHECK(card.find("  - task:\n      type: knowledge-distillation\n      name: Knowledge Distillation\n") != std::string::npos);
  CHECK(card.find("  - task:\n      type: semantic-similarity\n      name: Semantic Similarity\n") != std::string::npos);
  CHECK(card.find("MseEvaluator") == std::string::npos);
  CHECK(card.find("SequentialEvaluator") == std::string::npos);
  CHECK(card.find("**negative_mse**") != std::string::npos);
  // the Training Logs carry both primary metrics
  CHECK(card.find("| distill-dev_negative_mse | sts-dev_spearman_cosine |") != std::string::npos);
  CHECK(card.find("## Training Details\n\n- **Run name:** tiny-stsb-cosent\n") != std::string::npos);

  // a test evaluation after training joins the card, as Python's test_evaluator(model) does
  sbert::embedding_similarity_options to;
  to.name = "sts-test";
  to.write_csv = false;
  sbert::embedding_similarity_evaluator test_eval(stsb(16, 400), to);
  t.record_evaluation(test_eval, test_eval(*model));
  t.save_model((out / "final").string());
  const std::string card2 = slurp(out / "final" / "README.md");
  CHECK(card2.find("* Datasets: `sts-dev` and `sts-test`") != std::string::npos);

  // data set lists that do not match the trainer's are rejected at once
  info.eval_datasets.clear();
  info.train_datasets.push_back({"other", "", ""});
  CHECK_THROWS_WITH(t.set_model_card_info(info), Catch::Contains("2 train_datasets given, but the trainer has 1 training data set"));
  fs::remove_all(out);
}

TEST_CASE("without user names, data sets are named after their files; custom classes are not linked") {
  const auto out = fs::temp_directory_path() / ("sbert_trainer_card_plain_" + std::to_string(::getpid()));
  fs::remove_all(out);
  auto model = tiny();
  auto args = short_run(out);
  auto ev = std::make_shared<recall_at_k_evaluator>();
  sbert::trainer t{model, args, stsb(32), my_cosent_loss{}, stsb(16, 200)};
  t.set_evaluator(ev);
  t.train();
  t.save_model((out / "final").string());
  const std::string card = slurp(out / "final" / "README.md");
  INFO(card);
  check_no_empty_headings(card);
  CHECK(card.find("### Training Dataset\n\n#### sts-train\n\n* Dataset: sts-train\n") != std::string::npos);
  CHECK(card.find("### Evaluation Dataset\n\n#### sts-train\n") != std::string::npos);
  CHECK(card.find("* Loss: <code>MyCoSENTLoss</code> with these parameters:") != std::string::npos);
  CHECK(card.find("losses.html#mycosentloss") == std::string::npos);
  CHECK(card.find("#### Recall At K\n\n* Dataset: `mine`\n* Evaluated with <code>recall_at_k_evaluator</code>\n") != std::string::npos);
  CHECK(card.find("  - task:\n      type: recall-at-k\n      name: Recall At K\n") != std::string::npos);
  CHECK(card.find("**recall@1**") != std::string::npos);
  CHECK(card.find("Run name") == std::string::npos);
  fs::remove_all(out);
}

TEST_CASE("the multi-dataset trainer's card: every data set by name, eval splits, the evaluator's results") {
  const auto out = fs::temp_directory_path() / ("sbert_multi_card_" + std::to_string(::getpid()));
  fs::remove_all(out);
  auto model = tiny();
  auto args = short_run(out);
  sbert::multi_dataset_trainer t{model, args, sbert::train_on("stsb", stsb(32), sbert::cosent_loss{}, stsb(8, 200)),
                                 sbert::train_on("pairs", stsb(32, 100).remove_columns<sc>(), sbert::multiple_negatives_ranking_loss{})};
  sbert::embedding_similarity_options eo;
  eo.name = "sts-dev";
  eo.write_csv = false;
  t.set_evaluator(std::make_shared<sbert::embedding_similarity_evaluator>(stsb(16, 300), eo));
  sbert::model_card_info info;
  info.train_datasets = {{"", "sentence-transformers/stsb", ""}, {}};  // the second keeps its train_on name
  t.set_model_card_info(info);
  t.train();
  t.save_model((out / "final").string());
  const std::string card = slurp(out / "final" / "README.md");
  INFO(card);
  check_no_empty_headings(card);
  CHECK(card.find("### Training Datasets\n\n#### sentence-transformers/stsb\n") != std::string::npos);
  CHECK(card.find("\n#### pairs\n\n* Dataset: pairs\n* Size: 32 training samples\n") != std::string::npos);
  CHECK(card.find("### Evaluation Dataset\n\n#### stsb\n\n* Dataset: stsb\n* Size: 8 evaluation samples\n") != std::string::npos);
  CHECK(card.find("#### Semantic Similarity\n\n* Dataset: `sts-dev`\n* Evaluated with [<code>EmbeddingSimilarityEvaluator</code>]") !=
        std::string::npos);
  CHECK(card.find("- sts-dev_spearman_cosine") == std::string::npos);  // metrics listed without the prefix
  CHECK(card.find("- spearman_cosine\n") != std::string::npos);
  info.train_datasets.pop_back();
  CHECK_THROWS_WITH(t.set_model_card_info(info), Catch::Contains("1 train_datasets given, but the trainer has 2 training data sets"));
  fs::remove_all(out);
}

TEST_CASE("the card names the libtorch release that is installed, not the one Debian's headers state") {
  const std::string v = sbert::detail::libtorch_version();
  CHECK(v.starts_with(std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "."));
  // Where dpkg owns libtorch, its packaged upstream version is the truth (1.13.1+dfsg-4 -> 1.13.1).
  if (FILE* p = ::popen("dpkg-query -W -f='${Version}' libtorch-dev 2>/dev/null", "r")) {
    char buf[128] = {};
    const std::size_t n = std::fread(buf, 1, sizeof buf - 1, p);
    ::pclose(p);
    std::string deb(buf, n);
    if (const auto colon = deb.find(':'); colon != std::string::npos && colon < deb.find('.')) deb = deb.substr(colon + 1);
    const std::string upstream = deb.substr(0, deb.find_first_not_of("0123456789."));
    INFO("dpkg says " << deb);
    if (!upstream.empty()) CHECK(v == upstream);
  }
  auto model = tiny();
  const auto card = sbert::render_model_card(sbert::detail::card_base(*model, sbert::training_args{}, sbert::train_state{}, {}));
  CHECK(card.find("- libtorch: " + v + "\n") != std::string::npos);
}
