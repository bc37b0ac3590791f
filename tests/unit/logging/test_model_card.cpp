// The model card: YAML front matter keys in the Python library's order, the body sections,
// numbers (column statistics, log table, eval tables), and the SVG plot's well-formedness.
#include "catch.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <sbert/training/model_card.hpp>

namespace fs = std::filesystem;

namespace {
std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A small XML well-formedness check: every start tag is closed in order, attributes are quoted,
// text holds no bare '<' or '&' outside entities. Returns "" when fine, else what is wrong.
std::string xml_problem(const std::string& s) {
  std::vector<std::string> stack;
  std::size_t i = 0;
  if (s.starts_with("<?xml")) i = s.find("?>") + 2;
  int roots = 0;
  while (i < s.size()) {
    if (s[i] == '<') {
      const auto end = s.find('>', i);
      if (end == std::string::npos) return "unterminated tag";
      std::string tag = s.substr(i + 1, end - i - 1);
      i = end + 1;
      if (tag.starts_with("/")) {
        if (stack.empty() || stack.back() != tag.substr(1)) return "mismatched </" + tag.substr(1) + ">";
        stack.pop_back();
        continue;
      }
      const bool self = tag.ends_with("/");
      if (self) tag.pop_back();
      const auto sp = tag.find_first_of(" \n");
      const std::string name = tag.substr(0, sp);
      if (name.empty() || !std::isalpha(static_cast<unsigned char>(name[0]))) return "bad tag name '" + name + "'";
      // attributes: name="value" pairs
      static const std::regex attr(R"(\s+[A-Za-z_:][-A-Za-z0-9_:.]*="[^"<]*")");
      std::string rest = sp == std::string::npos ? "" : tag.substr(sp);
      rest = std::regex_replace(rest, attr, "");
      if (rest.find_first_not_of(" \n") != std::string::npos) return "bad attributes in <" + name + ">: " + rest;
      if (stack.empty()) ++roots;
      if (!self) stack.push_back(name);
    } else {
      if (s[i] == '&') {
        const auto semi = s.find(';', i);
        const std::string ent = s.substr(i, semi - i + 1);
        if (ent != "&amp;" && ent != "&lt;" && ent != "&gt;" && ent != "&quot;" && ent != "&apos;") return "bad entity " + ent;
      }
      if (stack.empty() && !std::isspace(static_cast<unsigned char>(s[i]))) return "text outside the root";
      ++i;
    }
  }
  if (!stack.empty()) return "unclosed <" + stack.back() + ">";
  if (roots != 1) return "expected one root element";
  return "";
}

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t p = 0; (p = s.find(what, p)) != std::string::npos; p += what.size()) ++n;
  return n;
}

sbert::model_card_data sample_card() {
  sbert::model_card_data d;
  d.base_model = "sentence-transformers/all-MiniLM-L6-v2";
  d.max_seq_length = 256;
  d.output_dimensionality = 384;
  d.similarity_fn_name = "cosine";
  d.architecture = "SentenceTransformer(\n  (0): Transformer({'max_seq_length': 256, 'do_lower_case': False})\n  (1): Pooling({'word_embedding_dimension': 384})\n  (2): Normalize()\n)";
  d.language = {"en"};

  sbert::dataset_info nli;
  nli.name = "all-nli";
  nli.id = "sentence-transformers/all-nli";
  nli.size = 12345;
  nli.columns = {"anchor", "positive", "negative"};
  const std::vector<std::string> a{"A man is eating.", "Two dogs run | fast", "Kids\nplay"};
  const std::vector<std::string> p{"Someone eats.", "Dogs run.", "Children play."};
  const std::vector<std::string> n{"A woman sleeps.", "Cats sit.", "Adults work."};
  auto words = [](const std::string& s) {  // a stand-in tokenizer: whitespace words + [CLS]/[SEP]
    std::istringstream is(s);
    std::string w;
    std::size_t k = 2;
    while (is >> w) ++k;
    return k;
  };
  nli.stats = {sbert::string_column_stats(a, words), sbert::string_column_stats(p, words), sbert::string_column_stats(n)};
  nli.samples = {{a[0], p[0], n[0]}, {a[1], p[1], n[1]}, {a[2], p[2], n[2]}};
  nli.loss = "MultipleNegativesRankingLoss";

  sbert::dataset_info sts;
  sts.name = "stsb";
  sts.size = 5749;
  sts.columns = {"sentence1", "sentence2", "score"};
  sts.stats = {sbert::string_column_stats({"a b", "c"}), sbert::string_column_stats({"d"}), sbert::float_column_stats({0.0, 0.25, 1.0})};
  sts.samples = {{"a b", "d", "0.0"}};
  sts.loss = "CoSENTLoss";
  d.train_datasets = {nli, sts};

  d.losses = {{"MultipleNegativesRankingLoss", {{"scale", "20.0"}, {"similarity_fct", "\"cos_sim\""}}, "@misc{henderson2017efficient,\n    title={Efficient Natural Language Response Suggestion for Smart Reply},\n}\n"},
              {"CoSENTLoss", {{"scale", "20.0"}, {"similarity_fct", "\"pairwise_cos_sim\""}}, "@online{kexuefm-8847,\n    title={CoSENT},\n}"}};

  sbert::evaluation_info ev;
  ev.class_name = "EmbeddingSimilarityEvaluator";
  ev.description = "Semantic Similarity";
  ev.name = "sts-dev";
  ev.primary_metric = "sts-dev_spearman_cosine";
  ev.metrics = {{"sts-dev_pearson_cosine", 0.8712345}, {"sts-dev_spearman_cosine", 0.87654321}};
  d.evaluations = {ev};
  d.primary_metrics = {"sts-dev_spearman_cosine"};

  sbert::training_args args;
  args.eval_strategy = sbert::interval_strategy::steps;
  args.per_device_train_batch_size = 16;
  args.batch_sampler = sbert::batch_sampler::no_duplicates;
  args.learning_rate = 2e-5;
  d.hyperparameters = sbert::card_hyperparameters(args);
  d.default_hyperparameters = sbert::card_hyperparameters(sbert::training_args{});

  d.log_history = {
      {{"loss", 1.5}, {"grad_norm", 3.0}, {"learning_rate", 2e-5}, {"epoch", 0.5}, {"step", 10}},
      {{"eval_loss", 1.25}, {"eval_sts-dev_pearson_cosine", 0.8}, {"eval_sts-dev_spearman_cosine", 0.81234567}, {"eval_runtime", 0.5}, {"epoch", 0.5}, {"step", 10}},
      {{"loss", 0.75}, {"grad_norm", 2.0}, {"learning_rate", 1e-5}, {"epoch", 1.0}, {"step", 20}},
      {{"eval_loss", 1.0}, {"eval_sts-dev_pearson_cosine", 0.85}, {"eval_sts-dev_spearman_cosine", 0.87654321}, {"eval_runtime", 0.5}, {"epoch", 1.0}, {"step", 20}},
      {{"loss", 0.6}, {"epoch", 1.3333333333}, {"step", 27}},
      {{"train_runtime", 12.5}, {"train_loss", 0.9}, {"epoch", 1.3333333333}, {"step", 27}},
  };
  d.best_model_step = 20;
  d.versions = {{"sbert", "0.1.0"}, {"libtorch", "1.13.1"}};
  return d;
}
}  // namespace

TEST_CASE("column statistics as the Python card computes them", "[model_card]") {
  auto s = sbert::string_column_stats({"abc", "abcdef", "héllo"});  // characters are code points
  CHECK(s.dtype == "string");
  CHECK(s.data == std::vector<std::pair<std::string, std::string>>{{"min", "3 characters"}, {"mean", "4.67 characters"}, {"max", "6 characters"}});
  auto t = sbert::string_column_stats({"a", "b"}, [](const std::string&) { return std::size_t{7}; });
  CHECK(t.data[1].second == "7.0 tokens");  // round(7.0, 2) prints as 7.0
  auto i = sbert::int_column_stats({0, 1, 1, 2});
  CHECK(i.data == std::vector<std::pair<std::string, std::string>>{{"0", "~25.00%"}, {"1", "~50.00%"}, {"2", "~25.00%"}});
  CHECK(sbert::int_column_stats({1, 1}).data[0].second == "100.00%");
  auto f = sbert::float_column_stats({0.0, 0.125, 5.0});
  CHECK(f.data == std::vector<std::pair<std::string, std::string>>{{"min", "0.0"}, {"mean", "1.71"}, {"max", "5.0"}});
  CHECK(sbert::list_column_stats({384, 384}).data[0].second == "384 elements");
  auto l = sbert::list_column_stats({2, 2, 2, 4});  // mean of the distinct lengths, as Python's card
  CHECK(l.data[1].second == "3.00 elements");
  // Only the first 1000 rows count.
  std::vector<std::string> many(1000, "a");
  many.push_back(std::string(50, 'x'));
  CHECK(sbert::string_column_stats(many).data[2].second == "1 characters");
}

TEST_CASE("the model card front matter: keys in order, tags, model-index", "[model_card]") {
  const auto d = sample_card();
  const std::string card = sbert::render_model_card(d, true);
  REQUIRE(card.starts_with("---\n"));
  const auto end = card.find("\n---\n", 4);
  REQUIRE(end != std::string::npos);
  const std::string yaml = card.substr(4, end - 4 + 1);
  // top-level keys, in the Python card's YAML_FIELDS order
  std::vector<std::string> keys;
  std::istringstream is(yaml);
  for (std::string line; std::getline(is, line);)
    if (!line.empty() && line[0] != ' ' && line[0] != '-') keys.push_back(line.substr(0, line.find(':')));
  CHECK(keys == std::vector<std::string>{"language", "library_name", "tags", "datasets", "metrics", "pipeline_tag", "model-index", "base_model"});
  CHECK(yaml.find("tags:\n- sentence-transformers\n- sentence-similarity\n- feature-extraction\n- dense\n- generated_from_trainer\n"
                  "- dataset_size:18094\n- loss:MultipleNegativesRankingLoss\n- loss:CoSENTLoss\n") != std::string::npos);
  CHECK(yaml.find("datasets:\n- sentence-transformers/all-nli\n") != std::string::npos);
  CHECK(yaml.find("metrics:\n- pearson_cosine\n- spearman_cosine\n") != std::string::npos);
  CHECK(yaml.find("model-index:\n- name: SentenceTransformer based on sentence-transformers/all-MiniLM-L6-v2\n  results:\n"
                  "  - task:\n      type: semantic-similarity\n      name: Semantic Similarity\n"
                  "    dataset:\n      name: sts dev\n      type: sts-dev\n"
                  "    metrics:\n    - type: pearson_cosine\n      value: 0.8712345\n      name: Pearson Cosine\n"
                  "    - type: spearman_cosine\n      value: 0.87654321\n      name: Spearman Cosine\n") != std::string::npos);
  CHECK(yaml.ends_with("base_model: sentence-transformers/all-MiniLM-L6-v2\n"));
}

TEST_CASE("YAML scalars that would change type or break are quoted", "[model_card]") {
  using sbert::card_detail::yaml_str;
  CHECK(yaml_str("dataset_size:5749") == "dataset_size:5749");
  CHECK(yaml_str("true") == "'true'");
  CHECK(yaml_str("1.5") == "'1.5'");
  CHECK(yaml_str("a: b") == "'a: b'");
  CHECK(yaml_str("it's - ok") == "it's - ok");
  CHECK(yaml_str("'quoted'") == "'''quoted'''");
  CHECK(yaml_str("two\nlines") == "\"two\\nlines\"");
  CHECK(yaml_str("") == "''");
  CHECK(sbert::card_detail::yaml_float(1e-05) == "1.0e-05");
  CHECK(sbert::card_detail::yaml_float(0.5) == "0.5");
}

TEST_CASE("the model card body: sections, tables and numbers", "[model_card]") {
  const auto d = sample_card();
  const std::string card = sbert::render_model_card(d, true);
  for (const char* section : {"# SentenceTransformer based on sentence-transformers/all-MiniLM-L6-v2\n", "## Model Details\n",
                              "### Model Description\n", "### Full Model Architecture\n", "## Usage\n", "## Evaluation\n",
                              "## Training Details\n", "### Training Datasets\n", "### Training Hyperparameters\n",
                              "### Training Logs\n", "### Framework Versions\n", "## Citation\n"})
    CHECK(count(card, section) == 1);
  // sections in the template's order
  CHECK(card.find("## Model Details") < card.find("## Usage"));
  CHECK(card.find("## Usage") < card.find("## Evaluation"));
  CHECK(card.find("## Evaluation") < card.find("## Training Details"));
  CHECK(card.find("### Training Logs") < card.find("### Framework Versions"));

  CHECK(card.find("finetuned from [sentence-transformers/all-MiniLM-L6-v2](https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2) on the "
                  "[all-nli](https://huggingface.co/datasets/sentence-transformers/all-nli) and stsb datasets. It maps sentences & paragraphs "
                  "to a 384-dimensional dense vector space") != std::string::npos);
  CHECK(card.find("- **Maximum Sequence Length:** 256 tokens\n- **Output Dimensionality:** 384 dimensions\n"
                  "- **Similarity Function:** Cosine Similarity\n- **Training Datasets:**\n"
                  "    - [all-nli](https://huggingface.co/datasets/sentence-transformers/all-nli)\n    - stsb\n- **Language:** en\n"
                  "<!-- - **License:** Unknown -->\n") != std::string::npos);
  CHECK(card.find("```\n" + d.architecture + "\n```") != std::string::npos);
  CHECK(card.find("    'The weather is lovely today.',\n    \"It's so sunny outside!\",\n") != std::string::npos);
  CHECK(card.find("# [3, 384]") != std::string::npos);

  // Evaluation: primary metric bold, values rounded to 4 decimals, config absent
  CHECK(card.find("#### Semantic Similarity\n\n* Dataset: `sts-dev`\n* Evaluated with [<code>EmbeddingSimilarityEvaluator</code>]") != std::string::npos);
  CHECK(card.find("| Metric              | Value      |\n|:--------------------|:-----------|\n| pearson_cosine      | 0.8712     |\n"
                  "| **spearman_cosine** | **0.8765** |\n<!--\n## Bias") != std::string::npos);

  // Training datasets
  CHECK(card.find("#### all-nli\n\n* Dataset: [all-nli](https://huggingface.co/datasets/sentence-transformers/all-nli)\n"
                  "* Size: 12,345 training samples\n* Columns: <code>anchor</code>, <code>positive</code>, and <code>negative</code>\n"
                  "* Approximate statistics based on the first 1000 samples:\n") != std::string::npos);
  // anchor words: 4+2, 5+2, 2+2 -> min 4, mean 5.67, max 7 tokens; negative: characters 15, 9, 12
  CHECK(card.find("<ul><li>min: 4 tokens</li><li>mean: 5.67 tokens</li><li>max: 7 tokens</li></ul>") != std::string::npos);
  CHECK(card.find("<ul><li>min: 9 characters</li><li>mean: 12.0 characters</li><li>max: 15 characters</li></ul>") != std::string::npos);
  CHECK(card.find("  | type    | string") != std::string::npos);
  CHECK(card.find("<code>Two dogs run \\| fast</code>") != std::string::npos);
  CHECK(card.find("<code>Kids<br>play</code>") != std::string::npos);
  CHECK(card.find("* Size: 5,749 training samples\n* Columns: <code>sentence1</code>, <code>sentence2</code>, and <code>score</code>\n"
                  "* Approximate statistics based on the first 1000 samples:\n") != std::string::npos);
  CHECK(card.find("<ul><li>min: 0.0</li><li>mean: 0.42</li><li>max: 1.0</li></ul>") != std::string::npos);
  CHECK(card.find("* Loss: [<code>MultipleNegativesRankingLoss</code>](https://sbert.net/docs/package_reference/sentence_transformer/losses.html#multiplenegativesrankingloss) with these parameters:\n"
                  "  ```json\n  {\n      \"scale\": 20.0,\n      \"similarity_fct\": \"cos_sim\"\n  }\n  ```\n") != std::string::npos);

  // Hyperparameters: non-default first, then all, Python's display of values
  CHECK(card.find("#### Non-Default Hyperparameters\n\n- `eval_strategy`: steps\n- `per_device_train_batch_size`: 16\n"
                  "- `learning_rate`: 2e-05\n- `batch_sampler`: no_duplicates\n\n#### All Hyperparameters\n") != std::string::npos);
  CHECK(card.find("- `fp16`: False\n") != std::string::npos);
  CHECK(card.find("- `num_train_epochs`: 3.0\n") != std::string::npos);

  // Training Logs: train and eval rows merged by step, best step bold, columns ordered
  CHECK(card.find("| Epoch   | Step   | Training Loss | Validation Loss | sts-dev_spearman_cosine |\n"
                  "|:-------:|:------:|:-------------:|:---------------:|:-----------------------:|\n"
                  "| 0.5     | 10     | 1.5           | 1.25            | 0.8123                  |\n"
                  "| **1.0** | **20** | **0.75**      | **1.0**         | **0.8765**              |\n"
                  "| 1.3333  | 27     | 0.6           | -               | -                       |\n"
                  "\n* The bold row denotes the saved checkpoint.\n") != std::string::npos);
  CHECK(card.find("![Training and evaluation curves](training_curves.svg)") != std::string::npos);
  CHECK(card.find("### Framework Versions\n- sbert: 0.1.0\n- libtorch: 1.13.1\n") != std::string::npos);

  // Citations: Sentence Transformers first, then one per loss
  CHECK(card.find("#### Sentence Transformers\n```bibtex\n@inproceedings{reimers-2019-sentence-bert,") != std::string::npos);
  CHECK(card.find("#### MultipleNegativesRankingLoss\n```bibtex\n@misc{henderson2017efficient,\n    title={Efficient Natural Language Response Suggestion for Smart Reply},\n}\n```\n") != std::string::npos);
  CHECK(card.find("#### CoSENTLoss\n```bibtex\n@online{kexuefm-8847,") != std::string::npos);
  CHECK(count(card, "```bibtex") == 3);
}

TEST_CASE("losses sharing a citation are listed together", "[model_card]") {
  auto d = sample_card();
  d.losses[1].citation = d.losses[0].citation;
  d.losses.push_back({"MatryoshkaLoss", {}, ""});
  const auto card = sbert::render_model_card(d);
  CHECK(card.find("#### MultipleNegativesRankingLoss and CoSENTLoss\n```bibtex\n@misc{henderson2017efficient,") != std::string::npos);
  CHECK(count(card, "```bibtex") == 2);
  CHECK(card.find("- loss:MatryoshkaLoss\n") != std::string::npos);
  CHECK(card.find("training_curves.svg") == std::string::npos);  // not written, not linked
}

TEST_CASE("a minimal card without base model, data or evaluation", "[model_card]") {
  sbert::model_card_data d;
  d.max_seq_length = 128;
  d.output_dimensionality = 32;
  d.similarity_fn_name = "dot";
  d.generated_from_trainer = false;
  const auto card = sbert::render_model_card(d);
  CHECK(card.starts_with("---\nlibrary_name: sentence-transformers\ntags:\n- sentence-transformers\n- sentence-similarity\n"
                         "- feature-extraction\n- dense\npipeline_tag: sentence-similarity\n---\n\n# SentenceTransformer\n\n"
                         "This is a [sentence-transformers](https://www.SBERT.net) model trained. It maps sentences & paragraphs to a 32-dimensional"));
  CHECK(card.find("<!-- - **Base model:** [Unknown](https://huggingface.co/unknown) -->\n- **Maximum Sequence Length:** 128 tokens") != std::string::npos);
  CHECK(card.find("- **Similarity Function:** Dot Product\n<!-- - **Training Dataset:** Unknown -->\n") != std::string::npos);
  CHECK(card.find("## Evaluation") == std::string::npos);
  CHECK(card.find("### Training Logs") == std::string::npos);
  CHECK(card.find("model-index") == std::string::npos);
}

TEST_CASE("more than 100 log rows fold the table; more than 3 datasets fold each", "[model_card]") {
  auto d = sample_card();
  d.log_history.clear();
  for (int s = 1; s <= 101; ++s) d.log_history.push_back({{"loss", 1.0 / s}, {"epoch", s / 101.0}, {"step", s}});
  d.train_datasets = {d.train_datasets[0], d.train_datasets[1], d.train_datasets[0], d.train_datasets[1]};
  const auto card = sbert::render_model_card(d);
  CHECK(card.find("### Training Logs\n<details><summary>Click to expand</summary>\n\n| Epoch") != std::string::npos);
  CHECK(count(card, "<details><summary>all-nli</summary>\n") == 2);
  CHECK(card.find("- dataset_size:36188\n") != std::string::npos);
}

TEST_CASE("the curves SVG is well-formed and plots every point", "[model_card]") {
  auto d = sample_card();
  d.log_history.push_back({{"eval_loss", 0.9}, {"eval_a<b>&\"c", 0.5}, {"epoch", 1.4}, {"step", 30}});
  const std::string svg = sbert::training_curves_svg(d.log_history);
  INFO(svg);
  CHECK(xml_problem(svg).empty());
  CHECK(xml_problem("<svg><g></svg>") == "mismatched </svg>");  // the checker itself catches errors
  CHECK(xml_problem("<svg x=1></svg>").find("bad attributes") == 0);
  CHECK(count(svg, "<polyline") == 2 + 3);  // train loss, eval_loss | pearson, spearman, a<b>&"c
  CHECK(svg.find("a&lt;b&gt;&amp;&quot;c") != std::string::npos);
  // the train-loss polyline has one point per logged loss (steps 10, 20, 27)
  const auto pl = svg.find("<polyline");
  const auto pts = svg.substr(svg.find("points=\"", pl) + 8);
  CHECK(count(pts.substr(0, pts.find('"')), ",") == 3);
  CHECK(svg.find(">train loss<") != std::string::npos);
  CHECK(svg.find(">eval_loss<") != std::string::npos);
  CHECK(svg.find(">sts-dev_spearman_cosine<") != std::string::npos);
  CHECK(svg.find("runtime") == std::string::npos);
  CHECK(sbert::training_curves_svg({}).empty());

  const auto dir = fs::temp_directory_path() / ("sbert_card_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  sbert::write_model_card(dir.string(), d);
  CHECK(fs::exists(dir / "training_curves.svg"));
  CHECK(xml_problem(slurp(dir / "training_curves.svg")).empty());
  CHECK(slurp(dir / "README.md").find("![Training and evaluation curves](training_curves.svg)") != std::string::npos);
}

TEST_CASE("write a sample card for the Python cross-check", "[model_card][card_file]") {
  // tests/unit/logging/check_model_card.py reads this card with PyYAML and xml.etree.
  const char* out = std::getenv("SBERT_MODEL_CARD_OUT");
  if (!out) return;
  auto d = sample_card();
  d.widget = {{"true", {"1.5", "a: b", "it's", "two\nlines"}}};
  fs::remove_all(out);
  sbert::write_model_card(out, d);
  CHECK(fs::exists(fs::path(out) / "README.md"));
}

namespace {
struct q : sbert::text_column<"query"> {};
struct negs : sbert::text_list_column<"negatives"> {};
struct lbl : sbert::class_column<"label"> {};
struct scr : sbert::score_column<"score"> {};
struct emb : sbert::vector_column<"teacher"> {};
}  // namespace

TEST_CASE("describe_dataset: columns, statistics and samples from a typed data set", "[model_card]") {
  using S1 = sbert::schema<q, negs>;
  auto d1 = sbert::dataset<S1>::from_columns(std::vector<std::string>{"what is it", "why", "how so", "who"},
                                             std::vector<std::vector<std::string>>{{"a", "b"}, {"c", "d", "e", "f", "g", "h"}, {"it's"}, {}});
  const auto i1 = sbert::describe_dataset("mine", d1, {}, "MultipleNegativesRankingLoss");
  CHECK(i1.name == "mine");
  CHECK(i1.size == 4);
  CHECK(i1.columns == std::vector<std::string>{"query", "negatives"});
  REQUIRE(i1.stats.size() == 2);
  CHECK(i1.stats[0].data[0].second == "3 characters");
  CHECK(i1.stats[0].data[1].second == "5.5 characters");  // (10 + 3 + 6 + 3) / 4
  CHECK(i1.stats[1].dtype == "list");
  CHECK(i1.stats[1].data[1].second == "2.25 elements");  // distinct lengths 0, 1, 2, 6
  REQUIRE(i1.samples.size() == 3);
  CHECK(i1.samples[0] == std::vector<std::string>{"what is it", "['a', 'b']"});
  CHECK(i1.samples[1][1] == "['c', 'd', 'e', 'f', 'g', ...]");
  CHECK(i1.samples[2][1] == "[\"it's\"]");

  // a schema has at most one label: one data set per label kind
  auto tok = [](const std::string& s) { return s.size() + 2; };
  auto d2 = sbert::dataset<sbert::schema<q, lbl>>::from_columns(std::vector<std::string>{"x", "yy"}, std::vector<std::int64_t>{1, 0});
  const auto i2 = sbert::describe_dataset("d2", d2, tok);
  CHECK(i2.stats[0].data[2].second == "4 tokens");
  CHECK(i2.stats[1].data == std::vector<std::pair<std::string, std::string>>{{"0", "~50.00%"}, {"1", "~50.00%"}});
  CHECK(i2.samples[0] == std::vector<std::string>{"x", "1"});
  auto d3 = sbert::dataset<sbert::schema<q, scr>>::from_columns(std::vector<std::string>{"x", "yy"}, std::vector<float>{0.76f, 0.5f});
  const auto i3 = sbert::describe_dataset("d3", d3);
  CHECK(i3.stats[1].data[0].second == "0.5");
  CHECK(i3.stats[1].data[2].second == "0.76");
  CHECK(i3.samples[0][1] == "0.7599999904632568");  // a float32 as Python's float prints it
  auto d4 = sbert::dataset<sbert::schema<q, emb>>::from_columns(std::vector<std::string>{"x", "yy"},
                                                                 std::vector<std::vector<float>>{{0.5f, 1.f}, {2.f, 0.25f}});
  const auto i4 = sbert::describe_dataset("d4", d4);
  CHECK(i4.stats[1].data[0].second == "2 elements");
  CHECK(i4.samples[0][1] == "[0.5, 1.0]");
  // and the card renders it
  sbert::model_card_data card;
  card.train_datasets = {i1, i3};
  const auto text = sbert::render_model_card(card);
  CHECK(text.find("* Columns: <code>query</code> and <code>negatives</code>\n") != std::string::npos);
  CHECK(text.find("<code>['c', 'd', 'e', 'f', 'g', ...]</code>") != std::string::npos);
  CHECK(text.find("<code>0.7599999904632568</code>") != std::string::npos);
  CHECK(text.find("- dataset_size:6\n") != std::string::npos);
}

TEST_CASE("evaluators of one class on several data sets share a table", "[model_card]") {
  auto d = sample_card();
  auto test = d.evaluations[0];
  test.name = "sts-test";
  test.primary_metric = "sts-test_spearman_cosine";
  test.metrics = {{"sts-test_pearson_cosine", 0.81}, {"sts-test_spearman_cosine", 0.82}};
  auto other = d.evaluations[0];  // another class: its own table
  other.class_name = "TripletEvaluator";
  other.description = "Triplet";
  other.name = "nli-dev";
  other.primary_metric = "cosine_accuracy";
  other.metrics = {{"nli-dev_cosine_accuracy", 0.9}};
  d.evaluations.push_back(test);
  d.evaluations.push_back(other);
  const auto card = sbert::render_model_card(d);
  CHECK(card.find("#### Semantic Similarity\n\n* Datasets: `sts-dev` and `sts-test`\n* Evaluated with") != std::string::npos);
  CHECK(card.find("| Metric              | sts-dev    | sts-test |\n|:--------------------|:-----------|:---------|\n"
                  "| pearson_cosine      | 0.8712     | 0.81     |\n| **spearman_cosine** | **0.8765** | **0.82** |\n") != std::string::npos);
  CHECK(card.find("#### Triplet\n\n* Dataset: `nli-dev`\n") != std::string::npos);
  CHECK(card.find("| **cosine_accuracy** | **0.9** |") != std::string::npos);
  CHECK(count(card, "#### Semantic Similarity") == 1);
  // model-index keeps one result per evaluator
  CHECK(count(card, "  - task:\n") == 3);
}

namespace {
/// Every markdown heading has a text: no "#### " line without one, no empty `type:` in the YAML.
void check_no_empty_headings(const std::string& card) {
  std::istringstream is(card);
  for (std::string line; std::getline(is, line);) {
    INFO(line);
    if (line.starts_with("#")) CHECK(line.find_first_not_of("# ") != std::string::npos);
    CHECK(line.find("type: ''") == std::string::npos);
    CHECK(line.find("name: ''") == std::string::npos);
  }
}
}  // namespace

TEST_CASE("an evaluator without a description gets Python's derived one, never an empty heading", "[model_card]") {
  using sbert::card_detail::evaluator_description;
  CHECK(evaluator_description("BinaryClassificationEvaluator") == "Binary Classification");
  CHECK(evaluator_description("MSEEvaluator") == "MSE");  // Python's rule; the class itself declares "Knowledge Distillation"
  CHECK(evaluator_description("CERerankingEvaluator") == "Cross Encoder Reranking");
  CHECK(evaluator_description("recall_at_k_evaluator") == "Recall At K");
  CHECK(evaluator_description("Evaluator") == "Evaluator");
  CHECK(evaluator_description("") == "Evaluation");

  auto d = sample_card();
  d.evaluations[0].description.clear();
  d.evaluations[0].class_name = "recall_at_k_evaluator";
  d.evaluations[0].in_library = false;
  const auto card = sbert::render_model_card(d);
  check_no_empty_headings(card);
  CHECK(card.find("  - task:\n      type: recall-at-k\n      name: Recall At K\n") != std::string::npos);
  CHECK(card.find("#### Recall At K\n\n* Dataset: `sts-dev`\n* Evaluated with <code>recall_at_k_evaluator</code>\n") != std::string::npos);
  CHECK(card.find("evaluation.html#sentence_transformers.evaluation.recall_at_k_evaluator") == std::string::npos);
  // a library evaluator keeps its link
  CHECK(sbert::render_model_card(sample_card())
            .find("[<code>EmbeddingSimilarityEvaluator</code>](https://sbert.net/docs/package_reference/sentence_transformer/evaluation.html"
                  "#sentence_transformers.evaluation.EmbeddingSimilarityEvaluator)") != std::string::npos);
}

TEST_CASE("a custom loss is named without a link to a non-existent sbert.net section", "[model_card]") {
  auto d = sample_card();
  d.losses[1] = {"ScoredPairHingeLoss", {{"initial_margin", "0.5"}}, "", false};
  d.train_datasets[1].loss = "ScoredPairHingeLoss";
  const auto card = sbert::render_model_card(d);
  CHECK(card.find("* Loss: <code>ScoredPairHingeLoss</code> with these parameters:\n  ```json\n  {\n      \"initial_margin\": 0.5\n  }\n  ```\n") !=
        std::string::npos);
  CHECK(card.find("losses.html#scoredpairhingeloss") == std::string::npos);
  CHECK(card.find("losses.html#multiplenegativesrankingloss") != std::string::npos);  // the library one still links
  CHECK(card.find("- loss:ScoredPairHingeLoss\n") != std::string::npos);
}

TEST_CASE("the user's card metadata: language, license, names, ids, revision, run name", "[model_card]") {
  sbert::model_card_info info;  // member by member: GCC 12's -Wextra flags designated initialisers that skip members
  info.language = {"en"};
  info.license = "apache-2.0";
  info.model_name = "MPNet base trained on AllNLI triplets";
  info.model_id = "someone/mpnet-base-all-nli-triplet";
  info.train_datasets = {{"all-nli", "sentence-transformers/all-nli", "d482672c8e74ce18da116f430137434ba2e52fab"}};
  info.eval_datasets = {{"", "sentence-transformers/all-nli", ""}};
  CHECK_NOTHROW(info.validate(1, 1));
  CHECK_THROWS_WITH(info.validate(2, 1), Catch::Contains("1 train_datasets given, but the trainer has 2 training data sets"));
  CHECK_THROWS_WITH(info.validate(1, 0), Catch::Contains("1 eval_datasets given, but the trainer has 0 evaluation data sets"));
  auto bad = info;
  bad.model_id = "no-user";
  CHECK_THROWS_WITH(bad.validate(1, 1), Catch::Contains("model_id 'no-user'"));

  CHECK(sbert::dataset_name_from_source("/data/nli/nli_dev_triplets.tsv") == "nli_dev_triplets");
  CHECK(sbert::dataset_name_from_source("").empty());

  sbert::model_card_data d;
  d.output_dimensionality = 32;
  sbert::apply_card_info(d, info);
  sbert::dataset_info train, eval;
  train.columns = eval.columns = {"anchor", "positive", "negative"};
  train.size = 100;
  eval.size = 10;
  train.loss = eval.loss = "MultipleNegativesRankingLoss";
  sbert::name_dataset(train, &info.train_datasets[0], "nli_dev_triplets");
  sbert::name_dataset(eval, &info.eval_datasets[0], "nli_dev_triplets");  // no name: the id, as Python
  CHECK(train.name == "all-nli");
  CHECK(eval.name == "sentence-transformers/all-nli");
  sbert::dataset_info plain;
  sbert::name_dataset(plain, nullptr, "nli_dev_triplets");
  CHECK(plain.name == "nli_dev_triplets");
  CHECK(plain.id.empty());
  d.train_datasets = {train};
  d.eval_datasets = {eval};
  d.losses = {{"MultipleNegativesRankingLoss", {}, ""}};
  d.run_name = "mpnet-base-all-nli-triplet";
  const auto card = sbert::render_model_card(d);
  check_no_empty_headings(card);
  CHECK(card.starts_with("---\nlanguage:\n- en\nlicense: apache-2.0\nlibrary_name: sentence-transformers\n"));
  CHECK(card.find("datasets:\n- sentence-transformers/all-nli\npipeline_tag") != std::string::npos);  // listed once
  CHECK(card.find("\n# MPNet base trained on AllNLI triplets\n") != std::string::npos);
  CHECK(card.find("model trained on the [all-nli](https://huggingface.co/datasets/sentence-transformers/all-nli) dataset.") != std::string::npos);
  CHECK(card.find("- **Language:** en\n- **License:** apache-2.0\n") != std::string::npos);
  CHECK(card.find("model = SentenceTransformer(\"someone/mpnet-base-all-nli-triplet\")") != std::string::npos);
  CHECK(card.find("## Training Details\n\n- **Run name:** mpnet-base-all-nli-triplet\n") != std::string::npos);
  CHECK(card.find("### Training Dataset\n\n#### all-nli\n\n* Dataset: [all-nli](https://huggingface.co/datasets/sentence-transformers/all-nli) at "
                  "[d482672](https://huggingface.co/datasets/sentence-transformers/all-nli/tree/d482672c8e74ce18da116f430137434ba2e52fab)\n"
                  "* Size: 100 training samples\n") != std::string::npos);
  CHECK(card.find("### Evaluation Dataset\n\n#### sentence-transformers/all-nli\n\n* Dataset: [sentence-transformers/all-nli]"
                  "(https://huggingface.co/datasets/sentence-transformers/all-nli)\n* Size: 10 evaluation samples\n") != std::string::npos);
  // tags the user adds come after the defaults
  info.tags = {"nli"};
  sbert::model_card_data t;
  sbert::apply_card_info(t, info);
  CHECK(t.tags.back() == "nli");
  CHECK(t.tags.front() == "sentence-transformers");
}
