// SPDX-License-Identifier: Apache-2.0
// The model card (README.md) a trained model is saved with, laid out as the Python library's
// model_card_template.md renders it, and an SVG plot of the training and evaluation curves next
// to it. The input is a plain struct the trainer fills; nothing here needs torch.
#pragma once
#include <sbert/detail/compiled.hpp>
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sbert/data/dataset.hpp>
#include <sbert/detail/citations.hpp>
#include <sbert/error.hpp>
#include <sbert/io/json_writer.hpp>
#include <sbert/training/arguments.hpp>
#include <sbert/training/callbacks.hpp>

namespace sbert {

/// One column's statistics over the first <= 1000 rows, as the card's statistics table shows them.
struct column_stats {
  std::string dtype;                                      ///< "string", "int", "float", "list"
  std::vector<std::pair<std::string, std::string>> data;  ///< e.g. {"min", "6 tokens"}
};

/// A training or evaluation data set as the card describes it.
struct dataset_info {
  std::string name;                                   ///< empty: "Unnamed Dataset"
  std::string id;                                     ///< Hugging Face dataset id, if any (linked)
  std::string revision;                               ///< a commit of `id`, if known (linked)
  std::size_t size = 0;
  std::vector<std::string> columns;                   ///< column names in order
  std::vector<column_stats> stats;                    ///< one per column (empty: no statistics table)
  std::vector<std::vector<std::string>> samples;      ///< up to 3 rows, one cell text per column
  std::string loss;                                   ///< the name of the loss_info used on it
};

/// A loss: its class name (e.g. "MultipleNegativesRankingLoss"), get_config_dict() as
/// (key, JSON literal) pairs, and its BibTeX citation (may be empty).
struct loss_info {
  std::string name;
  std::vector<std::pair<std::string, std::string>> config;
  std::string citation;
  bool in_library = true;  ///< a sentence-transformers loss: linked to its sbert.net section (a custom one is not)
};

/// One evaluator's results (the card's Evaluation section and the YAML model-index).
struct evaluation_info {
  std::string class_name;   ///< e.g. "EmbeddingSimilarityEvaluator"
  std::string description;  ///< e.g. "Semantic Similarity" (Python's evaluator.description)
  std::string name;         ///< the evaluator's name, e.g. "sts-dev" (its metrics' prefix)
  std::string primary_metric;                            ///< with or without the name prefix
  std::vector<std::pair<std::string, double>> metrics;   ///< with or without the "{name}_" prefix
  std::vector<std::pair<std::string, std::string>> config;  ///< get_config_dict(), JSON literals
  bool in_library = true;  ///< a sentence-transformers evaluator: linked to its sbert.net entry (a custom one is not)
};

struct widget_example {
  std::string source_sentence;
  std::vector<std::string> sentences;
};

/// Everything the card shows. The trainer fills it; helpers below compute the pieces that need
/// computing (column statistics, hyperparameters from training_args).
struct model_card_data {
  std::string model_name;  ///< empty: "SentenceTransformer based on {base_model}" or "SentenceTransformer"
  std::string model_id;    ///< the Hub id used in the usage snippet, if known
  std::string base_model;  ///< Hub id of the model fine-tuned from, if known
  std::string base_model_revision;
  std::vector<std::string> language;
  std::string license;
  std::vector<std::string> tags{"sentence-transformers", "sentence-similarity", "feature-extraction", "dense"};
  std::string task_name =
      "semantic textual similarity, semantic search, paraphrase mining, text classification, clustering, and more";

  std::int64_t max_seq_length = 0;
  std::int64_t output_dimensionality = 0;
  std::string similarity_fn_name = "cosine";  ///< cosine, dot, euclidean, manhattan
  std::string architecture;                   ///< the module repr, shown under Full Model Architecture

  std::vector<dataset_info> train_datasets;
  std::vector<dataset_info> eval_datasets;
  std::vector<loss_info> losses;
  std::vector<evaluation_info> evaluations;
  std::vector<widget_example> widget;
  std::vector<std::string> predict_example;  ///< empty: the Python card's three default sentences

  /// (key, JSON literal) in display order; `default_hyperparameters` the defaults, so the card
  /// can list the non-default ones.
  std::vector<std::pair<std::string, std::string>> hyperparameters;
  std::vector<std::pair<std::string, std::string>> default_hyperparameters;

  std::vector<log_record> log_history;       ///< train_state::log_history
  std::vector<std::string> primary_metrics;  ///< evaluator keys for the Training Logs, e.g. "sts-dev_spearman_cosine"
  std::optional<std::int64_t> best_model_step;

  std::vector<std::pair<std::string, std::string>> versions;  ///< Framework Versions, e.g. {"libtorch", "1.13.1"}
  std::string run_name;                                       ///< training_args::run_name, shown when set
  /// The run's energy and emissions (report_to "codecarbon"): the co2_eq_emissions metadata and
  /// the Environmental Impact and Training Hardware sections; empty: none.
  std::optional<emissions_data> emissions;
  bool generated_from_trainer = true;
  std::string plot_file = "training_curves.svg";  ///< written next to README.md; empty: no plot
};

/// A data set as the user names it on the card: Python's {"name": ..., "id": ..., "revision": ...}.
struct card_dataset {
  std::string name;      ///< empty: the id, else the name the trainer gives it
  std::string id;        ///< Hugging Face dataset id, e.g. "sentence-transformers/all-nli": linked, listed under `datasets:`
  std::string revision;  ///< a commit of `id`, shown with it
};

/// What the user says about the model: Python's SentenceTransformerModelCardData(language=...,
/// license=..., model_name=..., model_id=..., train_datasets=[...], eval_datasets=[...]), in
/// its field order (designated initialisers follow it). A trainer uses it in every card it
/// writes (checkpoints and save_model); see trainer::set_model_card_info.
struct model_card_info {
  std::vector<std::string> language;  ///< e.g. {"en"}
  std::string license;                ///< e.g. "apache-2.0"
  std::string model_name;             ///< the card's title; empty: "SentenceTransformer based on {base_model}" or "SentenceTransformer"
  std::string model_id;               ///< "user/model" on the Hub, used in the usage snippet
  std::vector<card_dataset> train_datasets;  ///< one per training data set, in order; empty: names from the trainer
  std::vector<card_dataset> eval_datasets;   ///< one per evaluation data set, in order
  std::string task_name =
      "semantic textual similarity, semantic search, paraphrase mining, text classification, clustering, and more";
  std::vector<std::string> tags;  ///< added after the default tags
  // Python finds these on the Hub; offline, the user says them.
  std::string base_model;  ///< Hub id of the model fine-tuned from
  std::string base_model_revision;

  /// Rejects what Python drops with a warning (a model_id without exactly one "/"), and dataset
  /// lists that do not match the trainer's data sets one to one (Python drops those too).
  void validate(std::size_t n_train, std::size_t n_eval) const {
    if (!model_id.empty() && std::count(model_id.begin(), model_id.end(), '/') != 1)
      throw error("model_card_info: model_id '" + model_id + "' should be \"user/model\" (one \"/\"), or empty");
    auto check = [](std::size_t given, std::size_t have, const char* field, const char* what) {
      if (given != 0 && given != have)
        throw error("model_card_info: " + std::to_string(given) + " " + field + " given, but the trainer has " +
                    std::to_string(have) + " " + what + (have == 1 ? "" : "s") + "; give one per data set, in order, or none");
    };
    check(train_datasets.size(), n_train, "train_datasets", "training data set");
    check(eval_datasets.size(), n_eval, "eval_datasets", "evaluation data set");
  }
};

/// Copies the user's metadata onto a card (data set names are the trainer's business: see
/// name_dataset).
inline void apply_card_info(model_card_data& card, const model_card_info& info) {
  card.language = info.language;
  card.license = info.license;
  card.model_name = info.model_name;
  card.model_id = info.model_id;
  card.task_name = info.task_name;
  card.base_model = info.base_model;
  card.base_model_revision = info.base_model_revision;
  for (const auto& t : info.tags)
    if (std::find(card.tags.begin(), card.tags.end(), t) == card.tags.end()) card.tags.push_back(t);
}

/// A data set's card name: the user's name (or id, as Python falls back), else `fallback`.
inline void name_dataset(dataset_info& d, const card_dataset* user, std::string fallback) {
  d.name = std::move(fallback);
  if (!user) return;
  if (!user->name.empty()) d.name = user->name;
  else if (!user->id.empty()) d.name = user->id;
  d.id = user->id;
  d.revision = user->revision;
}

/// A name for a data set read from a file: the file's stem ("nli_dev_triplets" for
/// .../nli_dev_triplets.tsv); empty (the card's "Unnamed Dataset") when it has no source.
[[nodiscard]] inline std::string dataset_name_from_source(const std::string& source) {
  if (source.empty()) return {};
  return std::filesystem::path(source).stem().string();
}

// ---------------------------------------------------------------------------------------------
namespace card_detail {

inline std::size_t u8_len(std::string_view s) {  // Python's len() counts code points
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}
inline std::string u8_prefix(std::string_view s, std::size_t cps) {
  std::size_t n = 0, i = 0;
  for (; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (n == cps) break;
      ++n;
    }
  }
  return std::string(s.substr(0, i));
}

/// Python's round(v, digits) shown with repr().
inline std::string round_repr(double v, int digits) {
  if (!std::isfinite(v)) return json::python_float(v);
  // printf rounds the exact binary value half-to-even, as Python's round() does
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return json::python_float(std::strtod(buf, nullptr));
}

/// transformers' _maybe_round: a float with more than 4 decimals is shown with 4.
inline std::string maybe_round(double v) {
  const std::string s = json::python_float(v);
  const auto dot = s.find('.');
  if (dot != std::string::npos && s.find('e') == std::string::npos && s.size() - dot - 1 > 4) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.4f", v);
    return buf;
  }
  return s;
}

using table_row = std::vector<std::pair<std::string, std::string>>;

/// transformers.modelcard.make_markdown_table: columns padded to the widest cell, centred rule.
inline std::string markdown_table(const std::vector<table_row>& lines) {
  if (lines.empty()) return "";
  std::vector<std::size_t> w;
  for (const auto& [k, v] : lines[0]) w.push_back(u8_len(k));
  for (const auto& l : lines)
    for (std::size_t i = 0; i < l.size() && i < w.size(); ++i) w[i] = std::max(w[i], u8_len(l[i].second));
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t i = 0; i < w.size(); ++i) {
      const std::string& c = i < cells.size() ? cells[i] : std::string();
      out += "| " + c + std::string(w[i] - u8_len(c) + 1, ' ');
    }
    return out + "|\n";
  };
  std::vector<std::string> head;
  for (const auto& [k, v] : lines[0]) head.push_back(k);
  std::string out = line(head);
  for (auto x : w) out += "|:" + std::string(x, '-') + ":";
  out += "|\n";
  for (const auto& l : lines) {
    std::vector<std::string> cells;
    for (const auto& [k, v] : l) cells.push_back(v);
    out += line(cells);
  }
  return out;
}
/// The Python card's `.replace("-:|", "--|")`: left-aligned columns.
inline std::string left_aligned(std::string t) {
  for (std::size_t p; (p = t.find("-:|")) != std::string::npos;) t.replace(p, 3, "--|");
  return t;
}
/// textwrap.indent: prefix every line that is not blank.
inline std::string indent(const std::string& s, const std::string& prefix) {
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto nl = s.find('\n', i);
    const std::string l = s.substr(i, nl == std::string::npos ? std::string::npos : nl - i + 1);
    if (l.find_first_not_of(" \t\r\n") != std::string::npos) out += prefix;
    out += l;
    if (nl == std::string::npos) break;
    i = nl + 1;
  }
  return out;
}

/// json.dumps(config, indent=4) from (key, JSON literal) pairs; nested literals are re-indented.
inline std::string config_json(const std::vector<std::pair<std::string, std::string>>& cfg) {
  if (cfg.empty()) return "{}";
  std::string out = "{\n";
  for (std::size_t i = 0; i < cfg.size(); ++i) {
    std::string key;
    json::write_string(key, cfg[i].first);
    std::string lit = cfg[i].second;
    for (std::size_t p = 0; (p = lit.find('\n', p)) != std::string::npos; p += 5) lit.insert(p + 1, "    ");
    out += "    " + key + ": " + lit + (i + 1 < cfg.size() ? ",\n" : "\n");
  }
  return out + "}";
}

/// A JSON literal as Python's str() shows the value: True/False/None, strings unquoted.
inline std::string python_display(const std::string& lit) {
  if (lit == "true") return "True";
  if (lit == "false") return "False";
  if (lit == "null") return "None";
  if (lit.size() >= 2 && lit.front() == '"' && lit.back() == '"') {
    std::string out;
    for (std::size_t i = 1; i + 1 < lit.size(); ++i) {
      if (lit[i] == '\\' && i + 2 < lit.size()) {
        const char c = lit[++i];
        out += c == 'n' ? '\n' : c == 't' ? '\t' : c;
      } else out += lit[i];
    }
    return out;
  }
  return lit;
}

/// repr(str) as Python writes it (single quotes unless the text has ' and no ").
inline std::string python_repr(const std::string& s) {
  const char q = (s.find('\'') != std::string::npos && s.find('"') == std::string::npos) ? '"' : '\'';
  std::string out(1, q);
  for (unsigned char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == static_cast<unsigned char>(q)) out += std::string("\\") + static_cast<char>(c);
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if (c < 0x20 || c == 0x7F) {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      out += b;
    } else out += static_cast<char>(c);
  }
  return out + q;
}

/// str.title(): a letter after a non-letter is upper-cased, others lower-cased.
inline std::string title_case(std::string s) {
  bool prev_alpha = false;
  for (auto& c : s) {
    const bool alpha = std::isalpha(static_cast<unsigned char>(c)) != 0;
    if (alpha) c = static_cast<char>(prev_alpha ? std::tolower(static_cast<unsigned char>(c)) : std::toupper(static_cast<unsigned char>(c)));
    prev_alpha = alpha;
  }
  return s;
}
inline std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (std::size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size()) s.replace(p, from.size(), to);
  return s;
}
inline std::string thousands(std::size_t n) {  // "{:,}".format(n)
  std::string d = std::to_string(n), out;
  for (std::size_t i = 0; i < d.size(); ++i) {
    if (i && (d.size() - i) % 3 == 0) out += ',';
    out += d[i];
  }
  return out;
}
inline std::string join_and(const std::vector<std::string>& v) {  // "a, b and c"
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) out += (i == 0 ? "" : i + 1 == v.size() ? " and " : ", ") + v[i];
  return out;
}

// --- YAML, as PyYAML's safe_dump(sort_keys=False, allow_unicode=True) writes the card data ---
inline bool yaml_plain_ok(const std::string& s) {
  if (s.empty() || s.front() == ' ' || s.back() == ' ' || s.back() == ':') return false;
  if (std::string_view("-?:,[]{}#&*!|>'\"%@`").find(s.front()) != std::string_view::npos) return false;
  if (s.find(": ") != std::string::npos || s.find(" #") != std::string::npos) return false;
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7F) return false;
  // Would read back as another type (YAML 1.1 resolvers): bool, null, numbers.
  std::string l;
  for (char c : s) l += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::set<std::string> words{"y", "n", "yes", "no", "true", "false", "on", "off", "null", "~", ".inf", "-.inf", ".nan"};
  if (words.count(l)) return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  if (end && *end == '\0') return false;
  if (std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == '_' || c == ':' || c == '.'; }))
    return false;  // sexagesimal and underscored numbers of YAML 1.1
  return true;
}
inline std::string yaml_str(const std::string& s) {
  if (yaml_plain_ok(s)) return s;
  bool printable = true;
  for (unsigned char c : s) printable = printable && !(c < 0x20 || c == 0x7F);
  if (printable) return "'" + replace_all(s, "'", "''") + "'";
  std::string out;
  json::write_string(out, s, false);  // double-quoted with JSON escapes is valid YAML
  return out;
}
inline std::string yaml_float(double v) {  // PyYAML represent_float
  if (std::isnan(v)) return ".nan";
  if (std::isinf(v)) return v > 0 ? ".inf" : "-.inf";
  std::string r = json::python_float(v);
  for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (r.find('.') == std::string::npos && r.find('e') != std::string::npos) r.insert(r.find('e'), ".0");
  return r;
}

inline std::string similarity_display(const std::string& fn) {
  if (fn.empty() || fn == "cosine") return "Cosine Similarity";
  if (fn == "dot") return "Dot Product";
  if (fn == "euclidean") return "Euclidean Distance";
  if (fn == "manhattan") return "Manhattan Distance";
  return title_case(replace_all(fn, "_", " "));
}

inline const std::string& sbert_citation() {
  static const std::string c(sbert::detail::sentence_bert_bibtex);
  return c;
}
inline std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

/// Python's SentenceEvaluator.description for a class without its own: the class name up to
/// "Evaluator", with a space between a lower- and an upper-case letter ("BinaryClassificationEvaluator"
/// -> "Binary Classification"). A snake_case C++ name loses "_evaluator" and its underscores
/// ("recall_at_k_evaluator" -> "Recall At K"). Never empty: a heading needs a text.
[[nodiscard]] inline std::string evaluator_description(const std::string& class_name) {
  std::string s = class_name;
  if (s.starts_with("CE")) s = "CrossEncoder" + s.substr(2);
  std::string out;
  if (s.find('_') != std::string::npos || (!s.empty() && std::islower(static_cast<unsigned char>(s[0])))) {
    if (const auto p = s.find("_evaluator"); p != std::string::npos) s = s.substr(0, p);
    out = title_case(replace_all(s, "_", " "));
  } else {
    if (const auto p = s.find("Evaluator"); p != std::string::npos) s = s.substr(0, p);
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (i > 0 && std::islower(static_cast<unsigned char>(s[i - 1])) && std::isupper(static_cast<unsigned char>(s[i]))) out += ' ';
      out += s[i];
    }
  }
  out = trim(out);
  return out.empty() ? (class_name.empty() ? std::string("Evaluation") : class_name) : out;
}
inline std::string description_of(const evaluation_info& e) {
  return e.description.empty() ? evaluator_description(e.class_name) : e.description;
}

/// An evaluator's metrics without its "{name}_" prefix (when every key has it), and its primary metric likewise.
inline std::pair<std::vector<std::pair<std::string, double>>, std::string> unprefixed(const evaluation_info& e) {
  auto metrics = e.metrics;
  std::string pm = e.primary_metric;
  const std::string pre = e.name + "_";
  if (!e.name.empty() &&
      std::all_of(metrics.begin(), metrics.end(), [&](const auto& kv) { return kv.first.starts_with(pre); })) {
    for (auto& [k, v] : metrics) k = k.substr(pre.size());
    if (pm.starts_with(pre)) pm = pm.substr(pre.size());
  }
  return {metrics, pm};
}

}  // namespace card_detail

// ---------------------------------------------------------------------------------------------
// Column statistics (the Python card's compute_dataset_metrics), over the first 1000 values.

/// Counts a text's tokens as the model sees them (the attention-mask length: special tokens
/// included, truncated to max_seq_length).
using token_counter = std::function<std::size_t(const std::string&)>;

/// min/mean/max tokens (with a token counter) or characters (code points, without one).
#if SBERT_DEFINITIONS
[[nodiscard]] SBERT_INLINE column_stats string_column_stats(const std::vector<std::string>& values, const token_counter& tokens = {}) {
  column_stats s{"string", {}};
  const std::size_t n = std::min<std::size_t>(values.size(), 1000);
  if (n == 0) return s;
  std::vector<double> len;
  for (std::size_t i = 0; i < n; ++i)
    len.push_back(static_cast<double>(tokens ? tokens(values[i]) : card_detail::u8_len(values[i])));
  const std::string suffix = tokens ? " tokens" : " characters";
  double sum = 0;
  for (double x : len) sum += x;
  s.data = {{"min", std::to_string(static_cast<long long>(*std::min_element(len.begin(), len.end()))) + suffix},
            {"mean", card_detail::round_repr(sum / static_cast<double>(n), 2) + suffix},
            {"max", std::to_string(static_cast<long long>(*std::max_element(len.begin(), len.end()))) + suffix}};
  return s;
}
#else
[[nodiscard]] column_stats string_column_stats(const std::vector<std::string>& values, const token_counter& tokens = {});
#endif

/// The share of each value, sorted by value; "~" marks shares when there is more than one value.
[[nodiscard]] inline column_stats int_column_stats(const std::vector<std::int64_t>& values) {
  column_stats s{"int", {}};
  const std::size_t n = std::min<std::size_t>(values.size(), 1000);
  std::map<std::int64_t, std::size_t> counts;
  for (std::size_t i = 0; i < n; ++i) ++counts[values[i]];
  for (const auto& [k, c] : counts) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f%%", 100.0 * static_cast<double>(c) / static_cast<double>(n));
    s.data.emplace_back(std::to_string(k), (counts.size() > 1 ? "~" : "") + std::string(buf));
  }
  return s;
}

[[nodiscard]] inline column_stats float_column_stats(const std::vector<double>& values) {
  column_stats s{"float", {}};
  const std::size_t n = std::min<std::size_t>(values.size(), 1000);
  if (n == 0) return s;
  double lo = values[0], hi = values[0], sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    lo = std::min(lo, values[i]);
    hi = std::max(hi, values[i]);
    sum += values[i];
  }
  s.data = {{"min", card_detail::round_repr(lo, 2)},
            {"mean", card_detail::round_repr(sum / static_cast<double>(n), 2)},
            {"max", card_detail::round_repr(hi, 2)}};
  return s;
}

/// List columns (e.g. embedding labels) by their lengths. As in the Python card, the "mean" is
/// the mean of the distinct lengths, not of the rows.
[[nodiscard]] inline column_stats list_column_stats(const std::vector<std::size_t>& lengths) {
  column_stats s{"list", {}};
  const std::size_t n = std::min<std::size_t>(lengths.size(), 1000);
  std::set<std::size_t> distinct(lengths.begin(), lengths.begin() + static_cast<std::ptrdiff_t>(n));
  if (distinct.empty()) return s;
  if (distinct.size() == 1) {
    s.data = {{"size", std::to_string(*distinct.begin()) + " elements"}};
    return s;
  }
  double sum = 0;
  for (auto x : distinct) sum += static_cast<double>(x);
  char mean[32];
  std::snprintf(mean, sizeof mean, "%.2f", sum / static_cast<double>(distinct.size()));
  s.data = {{"min", std::to_string(*distinct.begin()) + " elements"},
            {"mean", std::string(mean) + " elements"},
            {"max", std::to_string(*distinct.rbegin()) + " elements"}};
  return s;
}

namespace card_detail {
/// str(list) as Python prints a list cell, cut after 5 elements as the card cuts it.
template <class T, class F>
std::string python_list(const std::vector<T>& v, F&& item) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size() && i < 5; ++i) out += (i ? ", " : "") + item(v[i]);
  return out + (v.size() > 5 ? ", ...]" : "]");
}
}  // namespace card_detail

/// A data set as the card describes it: size, columns, per-column statistics over the first
/// 1000 rows and the first 3 rows as text (floats as Python prints a float32 read back as a
/// double, e.g. 0.7599999904632568). `tokens` counts a text's tokens (see token_counter);
/// without it, text statistics are in characters. `loss` names the loss_info used on it.
template <class S>
[[nodiscard]] dataset_info describe_dataset(std::string name, const dataset<S>& ds, const token_counter& tokens = {},
                                            std::string loss = {}) {
  dataset_info info;
  info.name = std::move(name);
  info.size = ds.size();
  info.loss = std::move(loss);
  const std::size_t n = std::min<std::size_t>(ds.size(), 1000), shown = std::min<std::size_t>(ds.size(), 3);
  info.samples.assign(shown, {});
  auto py_float = [](float f) { return json::python_float(static_cast<double>(f)); };
  auto one = [&]<class C>() {
    info.columns.emplace_back(C::name);
    const auto& col = ds.template column<C>();
    if constexpr (C::kind == column_kind::text) {
      info.stats.push_back(string_column_stats(std::vector<std::string>(col.begin(), col.begin() + static_cast<std::ptrdiff_t>(n)), tokens));
      for (std::size_t r = 0; r < shown; ++r) info.samples[r].push_back(col[r]);
    } else if constexpr (C::kind == column_kind::score) {
      info.stats.push_back(float_column_stats(std::vector<double>(col.begin(), col.begin() + static_cast<std::ptrdiff_t>(n))));
      for (std::size_t r = 0; r < shown; ++r) info.samples[r].push_back(py_float(col[r]));
    } else if constexpr (C::kind == column_kind::class_label) {
      info.stats.push_back(int_column_stats(std::vector<std::int64_t>(col.begin(), col.begin() + static_cast<std::ptrdiff_t>(n))));
      for (std::size_t r = 0; r < shown; ++r) info.samples[r].push_back(std::to_string(col[r]));
    } else {  // text lists and vectors: lists, described by their lengths
      std::vector<std::size_t> lengths;
      for (std::size_t r = 0; r < n; ++r) lengths.push_back(col[r].size());
      info.stats.push_back(list_column_stats(lengths));
      for (std::size_t r = 0; r < shown; ++r) {
        if constexpr (C::kind == column_kind::text_list)
          info.samples[r].push_back(card_detail::python_list(col[r], [](const std::string& t) { return card_detail::python_repr(t); }));
        else
          info.samples[r].push_back(card_detail::python_list(col[r], py_float));
      }
    }
  };
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (one.template operator()<std::tuple_element_t<I, typename S::columns>>(), ...);
  }(std::make_index_sequence<S::column_count>{});
  return info;
}

/// training_args as the card's hyperparameter list: transformers' names and their order, as
/// JSON literals, with the keys the Python card leaves out (output_dir, logging_*, save_*, ...)
/// left out. Call twice (the run's args and training_args{}) for the values and the defaults.
#if SBERT_DEFINITIONS
[[nodiscard]] SBERT_INLINE std::vector<std::pair<std::string, std::string>> card_hyperparameters(const training_args& a) {
  auto str = [](const std::string& s) {
    std::string o;
    json::write_string(o, s);
    return o;
  };
  auto num = [](double d) { return json::python_float(d); };
  auto strategy = [&](interval_strategy s) {
    return str(s == interval_strategy::no ? "no" : s == interval_strategy::steps ? "steps" : "epoch");
  };
  const char* sched[] = {"linear", "cosine", "constant", "constant_with_warmup", "polynomial"};
  const char* samplers[] = {"batch_sampler", "no_duplicates", "group_by_label"};
  const char* multi[] = {"proportional", "round_robin"};
  return {
      {"eval_strategy", strategy(a.eval_strategy)},
      {"per_device_train_batch_size", std::to_string(a.per_device_train_batch_size)},
      {"per_device_eval_batch_size", std::to_string(a.per_device_eval_batch_size)},
      {"gradient_accumulation_steps", std::to_string(a.gradient_accumulation_steps)},
      {"learning_rate", num(a.learning_rate)},
      {"weight_decay", num(a.weight_decay)},
      {"adam_beta1", num(a.adam_beta1)},
      {"adam_beta2", num(a.adam_beta2)},
      {"adam_epsilon", num(a.adam_epsilon)},
      {"max_grad_norm", num(a.max_grad_norm)},
      {"num_train_epochs", num(a.num_train_epochs)},
      {"max_steps", std::to_string(a.max_steps)},
      {"lr_scheduler_type", str(sched[static_cast<int>(a.lr_scheduler_type)])},
      {"warmup_ratio", num(a.warmup_ratio)},
      {"warmup_steps", std::to_string(a.warmup_steps)},
      {"seed", std::to_string(a.seed)},
      {"bf16", a.bf16 ? "true" : "false"},
      {"fp16", a.fp16 ? "true" : "false"},
      {"dataloader_drop_last", a.dataloader_drop_last ? "true" : "false"},
      {"disable_tqdm", a.disable_progress_bar ? "true" : "false"},
      {"load_best_model_at_end", a.load_best_model_at_end ? "true" : "false"},
      {"group_by_length", a.group_by_length ? "true" : "false"},
      {"batch_sampler", str(samplers[static_cast<int>(a.batch_sampler)])},
      {"multi_dataset_batch_sampler", str(multi[static_cast<int>(a.multi_dataset_batch_sampler)])},
  };
}
#else
[[nodiscard]] std::vector<std::pair<std::string, std::string>> card_hyperparameters(const training_args& a);
#endif

// ---------------------------------------------------------------------------------------------
// The Training Logs table (the Python card's on_log / on_evaluate bookkeeping over log_history).

struct training_log_table {
  std::vector<std::string> columns;
  std::vector<std::map<std::string, double>> rows;
};

#if SBERT_DEFINITIONS
[[nodiscard]] SBERT_INLINE training_log_table training_logs(const model_card_data& d) {
  std::vector<std::string> keys;  // first-seen order
  std::vector<std::map<std::string, double>> rows;
  auto add = [&](double epoch, double step, const std::vector<std::pair<std::string, double>>& vals) {
    if (vals.empty()) return;
    for (const char* k : {"Epoch", "Step"})
      if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.emplace_back(k);
    if (rows.empty() || rows.back().at("Step") != step) rows.push_back({{"Epoch", epoch}, {"Step", step}});
    for (const auto& [k, v] : vals) {
      if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
      rows.back()[k] = v;
    }
  };
  for (const auto& r : d.log_history) {
    const double step = find_value(r, "step").value_or(0), epoch = find_value(r, "epoch").value_or(0);
    if (auto loss = find_value(r, "loss")) {
      add(epoch, step, {{"Training Loss", *loss}});
      continue;
    }
    std::vector<std::pair<std::string, double>> losses, primaries;
    for (const auto& [k, v] : r) {
      if (k.starts_with("eval_") && k.ends_with("_loss")) {
        std::string name;  // " ".join(key.split("_")[1:])
        for (std::size_t p = 5, q; p <= k.size(); p = q + 1) {
          q = k.find('_', p);
          if (q == std::string::npos) q = k.size();
          name += (name.empty() ? "" : " ") + k.substr(p, q - p);
        }
        losses.emplace_back(name, v);
      }
    }
    if (losses.size() == 1 && losses[0].first == "loss") losses[0].first = "Validation Loss";
    for (const auto& pm : d.primary_metrics)
      if (auto v = find_value(r, "eval_" + pm)) primaries.emplace_back(pm, *v);
    add(epoch, step, losses);
    add(epoch, step, primaries);
  }
  auto rank = [&](const std::string& k) -> std::size_t {
    if (k == "Epoch") return 0;
    if (k == "Step") return 1;
    if (k == "Training Loss") return 2;
    if (k == "Validation Loss") return 3;
    if (k.ends_with("loss")) return 4;
    return static_cast<std::size_t>(std::find(keys.begin(), keys.end(), k) - keys.begin()) + 5;
  };
  std::stable_sort(keys.begin(), keys.end(), [&](const auto& a, const auto& b) { return rank(a) < rank(b); });
  return {keys, rows};
}
#else
[[nodiscard]] training_log_table training_logs(const model_card_data& d);
#endif

// ---------------------------------------------------------------------------------------------
// The SVG plot: training loss and eval losses on the left, evaluator metrics on the right.

namespace card_detail {
inline std::string xml_escape(std::string_view s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&apos;"; break;
      default: o += c;
    }
  }
  return o;
}
inline std::string fmt(double v, int prec = 2) {
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}
/// Round tick values covering [lo, hi].
inline std::vector<double> ticks(double lo, double hi, int target = 5) {
  if (!(hi > lo)) { hi = lo + 1; }
  const double raw = (hi - lo) / target, mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * mag >= raw) { step = m * mag; break; }
  std::vector<double> t;
  for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) t.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  return t;
}
inline std::string tick_label(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", v);
  return b;
}
struct series {
  std::string name;
  std::vector<std::pair<double, double>> pts;
};
#if SBERT_DEFINITIONS
SBERT_INLINE std::string panel(const std::string& title, const std::vector<series>& ss, double x0, double y0, double w,
                         double h) {
  static const char* colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};
  const double l = x0 + 60, r = x0 + w - 15, t = y0 + 30, b = y0 + h - 45;
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  for (const auto& s : ss)
    for (const auto& [x, y] : s.pts) {
      xmin = std::min(xmin, x); xmax = std::max(xmax, x);
      ymin = std::min(ymin, y); ymax = std::max(ymax, y);
    }
  if (!(xmax > xmin)) { xmin -= 1; xmax += 1; }
  if (!(ymax > ymin)) { ymin -= 0.5; ymax += 0.5; }
  const double pad = (ymax - ymin) * 0.05;
  ymin -= pad; ymax += pad;
  auto X = [&](double x) { return l + (x - xmin) / (xmax - xmin) * (r - l); };
  auto Y = [&](double y) { return b - (y - ymin) / (ymax - ymin) * (b - t); };
  std::string o = "<g>\n";
  o += "<text x=\"" + fmt((l + r) / 2, 1) + "\" y=\"" + fmt(y0 + 18, 1) + "\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">" +
       xml_escape(title) + "</text>\n";
  o += "<rect x=\"" + fmt(l, 1) + "\" y=\"" + fmt(t, 1) + "\" width=\"" + fmt(r - l, 1) + "\" height=\"" + fmt(b - t, 1) +
       "\" fill=\"none\" stroke=\"#333\"/>\n";
  for (double v : ticks(xmin, xmax))
    if (v >= xmin && v <= xmax)
      o += "<line x1=\"" + fmt(X(v)) + "\" y1=\"" + fmt(b) + "\" x2=\"" + fmt(X(v)) + "\" y2=\"" + fmt(b + 4) +
           "\" stroke=\"#333\"/>\n<text x=\"" + fmt(X(v)) + "\" y=\"" + fmt(b + 17) + "\" text-anchor=\"middle\" font-size=\"11\">" +
           tick_label(v) + "</text>\n";
  for (double v : ticks(ymin, ymax))
    if (v >= ymin && v <= ymax)
      o += "<line x1=\"" + fmt(l - 4) + "\" y1=\"" + fmt(Y(v)) + "\" x2=\"" + fmt(r) + "\" y2=\"" + fmt(Y(v)) +
           "\" stroke=\"#ddd\"/>\n<text x=\"" + fmt(l - 7) + "\" y=\"" + fmt(Y(v) + 4) + "\" text-anchor=\"end\" font-size=\"11\">" +
           tick_label(v) + "</text>\n";
  o += "<text x=\"" + fmt((l + r) / 2, 1) + "\" y=\"" + fmt(b + 35, 1) + "\" text-anchor=\"middle\" font-size=\"12\">step</text>\n";
  for (std::size_t i = 0; i < ss.size(); ++i) {
    const char* c = colors[i % 8];
    std::string pts;
    for (const auto& [x, y] : ss[i].pts) pts += (pts.empty() ? "" : " ") + fmt(X(x)) + "," + fmt(Y(y));
    o += "<polyline fill=\"none\" stroke=\"" + std::string(c) + "\" stroke-width=\"1.8\" points=\"" + pts + "\"/>\n";
    if (ss[i].pts.size() == 1)  // a lone point draws no line
      o += "<circle cx=\"" + fmt(X(ss[i].pts[0].first)) + "\" cy=\"" + fmt(Y(ss[i].pts[0].second)) + "\" r=\"3\" fill=\"" + c + "\"/>\n";
    const double ly = t + 14 + 16 * static_cast<double>(i);
    o += "<line x1=\"" + fmt(r - 150) + "\" y1=\"" + fmt(ly - 4) + "\" x2=\"" + fmt(r - 132) + "\" y2=\"" + fmt(ly - 4) +
         "\" stroke=\"" + c + "\" stroke-width=\"2\"/>\n<text x=\"" + fmt(r - 127) + "\" y=\"" + fmt(ly) +
         "\" font-size=\"11\">" + xml_escape(ss[i].name) + "</text>\n";
  }
  return o + "</g>\n";
}
#else
std::string panel(const std::string& title, const std::vector<series>& ss, double x0, double y0, double w,
                         double h);
#endif
}  // namespace card_detail

/// The training loss and eval curves of a log history as a standalone SVG document; empty when
/// the history has nothing to plot. Metrics that are not curves (runtime, throughput) are left out.
#if SBERT_DEFINITIONS
[[nodiscard]] SBERT_INLINE std::string training_curves_svg(const std::vector<log_record>& history) {
  using card_detail::series;
  std::vector<series> losses, metrics;
  auto push = [](std::vector<series>& v, const std::string& name, double x, double y) {
    if (!std::isfinite(y)) return;
    auto it = std::find_if(v.begin(), v.end(), [&](const series& s) { return s.name == name; });
    if (it == v.end()) { v.push_back({name, {}}); it = v.end() - 1; }
    it->pts.emplace_back(x, y);
  };
  for (const auto& r : history) {
    const auto step = find_value(r, "step");
    if (!step) continue;
    if (auto l = find_value(r, "loss")) push(losses, "train loss", *step, *l);
    for (const auto& [k, v] : r) {
      if (!k.starts_with("eval_")) continue;
      if (k.ends_with("_runtime") || k.ends_with("_per_second")) continue;
      if (k.ends_with("loss")) push(losses, k, *step, v);
      else push(metrics, k.substr(5), *step, v);
    }
  }
  if (losses.empty() && metrics.empty()) return "";
  const double pw = 520, ph = 340;
  const int panels = (losses.empty() ? 0 : 1) + (metrics.empty() ? 0 : 1);
  std::string o = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                  card_detail::fmt(pw * panels, 0) + "\" height=\"" + card_detail::fmt(ph, 0) + "\" viewBox=\"0 0 " +
                  card_detail::fmt(pw * panels, 0) + " " + card_detail::fmt(ph, 0) +
                  "\" font-family=\"sans-serif\">\n<title>Training and evaluation curves</title>\n"
                  "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  double x0 = 0;
  if (!losses.empty()) { o += card_detail::panel("Loss", losses, x0, 0, pw, ph); x0 += pw; }
  if (!metrics.empty()) o += card_detail::panel("Evaluation", metrics, x0, 0, pw, ph);
  return o + "</svg>\n";
}
#else
[[nodiscard]] std::string training_curves_svg(const std::vector<log_record>& history);
#endif

// ---------------------------------------------------------------------------------------------

/// The README.md text. `plot_written` says whether the SVG exists next to it (it is linked then).
#if SBERT_DEFINITIONS
[[nodiscard]] SBERT_INLINE std::string render_model_card(const model_card_data& d, bool plot_written = false) {
  using namespace card_detail;
  const std::string model_name =
      !d.model_name.empty() ? d.model_name : d.base_model.empty() ? "SentenceTransformer" : "SentenceTransformer based on " + d.base_model;

  // tags: the defaults, then what the trainer adds
  std::vector<std::string> tags = d.tags;
  auto add_tag = [&](const std::string& t) {
    if (std::find(tags.begin(), tags.end(), t) == tags.end()) tags.push_back(t);
  };
  if (d.generated_from_trainer) add_tag("generated_from_trainer");
  std::size_t n_train = 0;
  for (const auto& ds : d.train_datasets) n_train += ds.size;
  if (n_train) add_tag("dataset_size:" + std::to_string(n_train));
  for (const auto& l : d.losses) add_tag("loss:" + l.name);

  // ---- YAML front matter ----
  std::string y;
  auto list = [&](const std::string& key, const std::vector<std::string>& v) {
    if (v.empty()) return;
    y += key + ":\n";
    for (const auto& s : v) y += "- " + yaml_str(s) + "\n";
  };
  list("language", d.language);
  if (!d.license.empty()) y += "license: " + yaml_str(d.license) + "\n";
  y += "library_name: sentence-transformers\n";
  list("tags", tags);
  std::vector<std::string> hub_ids;
  for (const auto* v : {&d.train_datasets, &d.eval_datasets})
    for (const auto& ds : *v)
      if (!ds.id.empty() && std::find(hub_ids.begin(), hub_ids.end(), ds.id) == hub_ids.end()) hub_ids.push_back(ds.id);
  list("datasets", hub_ids);
  std::vector<std::string> metric_keys;
  for (const auto& e : d.evaluations)
    for (const auto& [k, v] : unprefixed(e).first)
      if (std::find(metric_keys.begin(), metric_keys.end(), k) == metric_keys.end()) metric_keys.push_back(k);
  list("metrics", metric_keys);
  y += "pipeline_tag: sentence-similarity\n";
  if (!d.widget.empty()) {
    y += "widget:\n";
    for (const auto& w : d.widget) {
      y += "- source_sentence: " + yaml_str(w.source_sentence) + "\n  sentences:\n";
      for (const auto& s : w.sentences) y += "  - " + yaml_str(s) + "\n";
    }
  }
  if (const auto& e = d.emissions) {  // Python's co2_eq_emissions: grams, kWh, hours
    y += "co2_eq_emissions:\n  emissions: " + yaml_float(e->emissions * 1000) + "\n  energy_consumed: " +
         yaml_float(e->energy_consumed) + "\n  source: " + yaml_str("sbert (CodeCarbon's method)") +
         "\n  training_type: fine-tuning\n  on_cloud: " + (e->on_cloud == "Y" ? "true" : "false") +
         "\n  cpu_model: " + yaml_str(e->cpu_model) + "\n  ram_total_size: " + yaml_float(e->ram_total_size) +
         "\n  hours_used: " + yaml_float(std::round(e->duration / 3600 * 1000) / 1000) + "\n";
    if (!e->gpu_model.empty()) y += "  hardware_used: " + yaml_str(e->gpu_model) + "\n";
  }
  if (!d.evaluations.empty()) {
    y += "model-index:\n- name: " + yaml_str(model_name) + "\n  results:\n";
    for (const auto& e : d.evaluations) {
      const auto [metrics, pm] = unprefixed(e);
      if (metrics.empty()) continue;
      const std::string description = description_of(e);
      std::string task_type = description;  // description.lower().replace(" ", "-")
      for (auto& c : task_type) c = c == ' ' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      y += "  - task:\n      type: " + yaml_str(task_type) + "\n      name: " + yaml_str(description) + "\n";
      const std::string ds_type = e.name.empty() ? "unknown" : e.name;
      const std::string ds_name = e.name.empty() ? "Unknown" : replace_all(replace_all(e.name, "_", " "), "-", " ");
      y += "    dataset:\n      name: " + yaml_str(ds_name) + "\n      type: " + yaml_str(ds_type) + "\n    metrics:\n";
      for (const auto& [k, v] : metrics)
        y += "    - type: " + yaml_str(k) + "\n      value: " + yaml_float(v) + "\n      name: " +
             yaml_str(title_case(replace_all(k, "_", " "))) + "\n";
    }
  }
  if (!d.base_model.empty()) y += "base_model: " + yaml_str(d.base_model) + "\n";

  std::string o = "---\n" + y + "---\n\n";
  o += "# " + model_name + "\n\n";

  // ---- intro ----
  std::vector<std::string> named;
  for (const auto& ds : d.train_datasets)
    if (!ds.name.empty()) named.push_back(ds.id.empty() ? ds.name : "[" + ds.name + "](https://huggingface.co/datasets/" + ds.id + ")");
  std::vector<std::string> plain_names;
  for (const auto& ds : d.train_datasets)
    if (!ds.name.empty()) plain_names.push_back(ds.name);
  std::string joined_plain;
  for (std::size_t i = 0; i < plain_names.size(); ++i) joined_plain += (i ? ", " : "") + plain_names[i];
  o += "This is a [sentence-transformers](https://www.SBERT.net) model";
  o += d.base_model.empty() ? " trained" : " finetuned from [" + d.base_model + "](https://huggingface.co/" + d.base_model + ")";
  if (!named.empty()) {
    o += " on ";
    o += u8_len(joined_plain) > 200 ? std::to_string(d.train_datasets.size()) : "the " + join_and(named);
    o += named.size() > 1 ? " datasets" : " dataset";
  }
  o += ". It maps sentences & paragraphs to a " + std::to_string(d.output_dimensionality) +
       "-dimensional dense vector space and can be used for " + d.task_name + ".\n\n";

  // ---- Model Details ----
  o += "## Model Details\n\n### Model Description\n- **Model Type:** Sentence Transformer\n";
  if (d.base_model.empty()) o += "<!-- - **Base model:** [Unknown](https://huggingface.co/unknown) -->";
  else {
    o += "- **Base model:** [" + d.base_model + "](https://huggingface.co/" + d.base_model + ")";
    if (!d.base_model_revision.empty()) o += " <!-- at revision " + d.base_model_revision + " -->";
  }
  o += "\n- **Maximum Sequence Length:** " + std::to_string(d.max_seq_length) + " tokens\n";
  o += "- **Output Dimensionality:** " + std::to_string(d.output_dimensionality) + " dimensions\n";
  o += "- **Similarity Function:** " + similarity_display(d.similarity_fn_name) + "\n";
  if (!named.empty()) {
    o += "- **Training Dataset" + std::string(named.size() > 1 ? "s" : "") + ":**";
    for (const auto& n : named) o += "\n    - " + n;
  } else o += "<!-- - **Training Dataset:** Unknown -->";
  o += "\n";
  if (!d.language.empty()) {
    o += "- **Language" + std::string(d.language.size() > 1 ? "s" : "") + ":** ";
    for (std::size_t i = 0; i < d.language.size(); ++i) o += (i ? ", " : "") + d.language[i];
  } else o += "<!-- - **Language:** Unknown -->";
  o += "\n";
  o += d.license.empty() ? "<!-- - **License:** Unknown -->" : "- **License:** " + d.license;
  o += "\n\n### Model Sources\n\n"
       "- **Documentation:** [Sentence Transformers Documentation](https://sbert.net)\n"
       "- **Repository:** [Sentence Transformers on GitHub](https://github.com/UKPLab/sentence-transformers)\n"
       "- **Hugging Face:** [Sentence Transformers on Hugging Face](https://huggingface.co/models?library=sentence-transformers)\n\n"
       "### Full Model Architecture\n\n```\n" + d.architecture + "\n```\n\n";

  // ---- Usage ----
  const std::vector<std::string> example = d.predict_example.empty()
      ? std::vector<std::string>{"The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."}
      : d.predict_example;
  const std::string n_ex = std::to_string(example.size());
  o += "## Usage\n\n### Direct Usage (Sentence Transformers)\n\nFirst install the Sentence Transformers library:\n\n"
       "```bash\npip install -U sentence-transformers\n```\n\nThen you can load this model and run inference.\n```python\n"
       "from sentence_transformers import SentenceTransformer\n\n# Download from the \xF0\x9F\xA4\x97 Hub\nmodel = SentenceTransformer(\"" +
       (d.model_id.empty() ? std::string("sentence_transformers_model_id") : d.model_id) + "\")\n# Run inference\nsentences = [";
  for (const auto& s : example) o += "\n    " + python_repr(s) + ",";
  o += "\n]\nembeddings = model.encode(sentences)\nprint(embeddings.shape)\n# [" + n_ex + ", " +
       std::to_string(d.output_dimensionality ? d.output_dimensionality : 1024) +
       "]\n\n# Get the similarity scores for the embeddings\nsimilarities = model.similarity(embeddings, embeddings)\n"
       "print(similarities.shape)\n# [" + n_ex + ", " + n_ex + "]\n```\n\n";
  o += "### Direct Usage (sbert, C++)\n\n```cpp\n#include <sbert/sbert.hpp>\n\n"
       "auto model = sbert::models::sentence_transformer::load(\"path/to/this/model\");\n"
       "std::vector<std::string> sentences = {";
  for (std::size_t i = 0; i < example.size(); ++i) {
    std::string lit;
    json::write_string(lit, example[i], false);
    o += (i ? ", " : "") + lit;
  }
  o += "};\nat::Tensor embeddings = model->encode(sentences);    // [" + n_ex + ", " + std::to_string(d.output_dimensionality) +
       "]\nat::Tensor similarities = model->similarity(embeddings, embeddings);  // [" + n_ex + ", " + n_ex + "]\n```\n\n";
  o += "<!--\n### Direct Usage (Transformers)\n\n<details><summary>Click to see the direct usage in Transformers</summary>\n\n</details>\n-->\n\n"
       "<!--\n### Downstream Usage (Sentence Transformers)\n\nYou can finetune this model on your own dataset.\n\n"
       "<details><summary>Click to expand</summary>\n\n</details>\n-->\n\n"
       "<!--\n### Out-of-Scope Use\n\n*List how the model may foreseeably be misused and address what users ought not to do with the model.*\n-->\n";

  // ---- Evaluation ----
  if (!d.evaluations.empty()) {
    o += "\n## Evaluation\n\n### Metrics\n";
    // Evaluators of one class with the same metrics and config but other data sets share one
    // table with a column per data set, as the Python card groups them.
    struct group {
      const evaluation_info* first;
      std::vector<std::string> names;  // data set columns (empty name: the single "Value" column)
      std::string config;
      std::vector<std::string> metric_cells;            // "name" or "**name**" for the primary
      std::vector<std::vector<std::string>> values;     // [metric][data set]
    };
    std::vector<group> groups;
    for (const auto& e : d.evaluations) {
      const auto [metrics, pm] = unprefixed(e);
      group g{&e, {e.name}, e.config.empty() ? "" : config_json(e.config), {}, {}};
      for (const auto& [k, v] : metrics) {
        const bool p = k == pm;
        g.metric_cells.push_back(p ? "**" + k + "**" : k);
        g.values.push_back({p ? "**" + round_repr(v, 4) + "**" : round_repr(v, 4)});
      }
      auto same = [&](const group& o2) {
        if (o2.first->class_name != e.class_name || o2.config != g.config) return false;
        if (std::find(o2.names.begin(), o2.names.end(), e.name) != o2.names.end()) return false;
        return std::set<std::string>(o2.metric_cells.begin(), o2.metric_cells.end()) ==
               std::set<std::string>(g.metric_cells.begin(), g.metric_cells.end());
      };
      auto it = std::find_if(groups.begin(), groups.end(), same);
      if (it == groups.end()) {
        groups.push_back(std::move(g));
        continue;
      }
      it->names.push_back(e.name);
      for (std::size_t m = 0; m < it->metric_cells.size(); ++m) {
        const auto at = std::find(g.metric_cells.begin(), g.metric_cells.end(), it->metric_cells[m]) - g.metric_cells.begin();
        it->values[m].push_back(g.values[static_cast<std::size_t>(at)][0]);
      }
    }
    for (const auto& g : groups) {
      const auto& e = *g.first;
      o += "\n#### " + description_of(e) + "\n";
      if (g.names.size() == 1 && !g.names[0].empty()) o += "\n* Dataset: `" + g.names[0] + "`";
      else if (g.names.size() > 1) {
        std::vector<std::string> quoted;
        for (const auto& n : g.names) quoted.push_back("`" + n + "`");
        o += "\n* Datasets: " + join_and(quoted);
      }
      // Python links only its own classes; a custom evaluator's page does not exist.
      if (e.in_library)
        o += "\n* Evaluated with [<code>" + e.class_name +
             "</code>](https://sbert.net/docs/package_reference/sentence_transformer/evaluation.html#sentence_transformers.evaluation." +
             e.class_name + ")";
      else
        o += "\n* Evaluated with <code>" + e.class_name + "</code>";
      if (!g.config.empty()) o += " with these parameters:\n" + indent("```json\n" + g.config + "\n```", "  ");
      std::vector<table_row> rows;
      for (std::size_t m = 0; m < g.metric_cells.size(); ++m) {
        table_row row{{"Metric", g.metric_cells[m]}};
        if (g.names.size() == 1) row.emplace_back("Value", g.values[m][0]);
        else
          for (std::size_t k = 0; k < g.names.size(); ++k) row.emplace_back(g.names[k], g.values[m][k]);
        rows.push_back(std::move(row));
      }
      std::string table = left_aligned(markdown_table(rows));
      if (!table.empty() && table.back() == '\n') table.pop_back();  // the template's {%- endfor %}
      o += "\n\n" + table;
    }
  }
  o += "\n<!--\n## Bias, Risks and Limitations\n\n*What are the known or foreseeable issues stemming from this model? You could also flag here known failure cases or weaknesses of the model.*\n-->\n\n"
       "<!--\n### Recommendations\n\n*What are recommendations with respect to the foreseeable issues? For example, filtering explicit content.*\n-->\n\n";

  // ---- Training Details ----
  o += "## Training Details\n";
  if (!d.run_name.empty()) o += "\n- **Run name:** " + d.run_name + "\n";
  for (const auto& [type, list_ptr] : {std::pair<std::string, const std::vector<dataset_info>*>{"training", &d.train_datasets},
                                       std::pair<std::string, const std::vector<dataset_info>*>{"evaluation", &d.eval_datasets}}) {
    const auto& dl = *list_ptr;
    if (dl.empty()) continue;
    const bool folded = dl.size() > 3;
    o += "\n### " + std::string(1, static_cast<char>(std::toupper(type[0]))) + type.substr(1) + " Dataset" + (dl.size() > 1 ? "s" : "") + "\n";
    for (const auto& ds : dl) {
      const std::string title = ds.name.empty() ? "Unnamed Dataset" : ds.name;
      if (folded) o += "<details><summary>" + title + "</summary>\n";
      o += "\n#### " + title + "\n";
      if (!ds.name.empty()) {
        o += "\n* Dataset: " + (ds.id.empty() ? ds.name : "[" + ds.name + "](https://huggingface.co/datasets/" + ds.id + ")");
        if (!ds.revision.empty() && !ds.id.empty())
          o += " at [" + ds.revision.substr(0, 7) + "](https://huggingface.co/datasets/" + ds.id + "/tree/" + ds.revision + ")";
      }
      o += "\n";
      if (ds.size) o += "* Size: " + thousands(ds.size) + " " + type + " samples\n";
      std::vector<std::string> cols;
      for (const auto& c : ds.columns) cols.push_back("<code>" + c + "</code>");
      o += "* Columns: ";
      if (cols.size() == 1) o += cols[0];
      else if (cols.size() == 2) o += cols[0] + " and " + cols[1];
      else if (!cols.empty()) {
        for (std::size_t i = 0; i + 1 < cols.size(); ++i) o += (i ? ", " : "") + cols[i];
        o += ", and " + cols.back();
      }
      o += "\n";
      if (!ds.stats.empty()) {
        if (ds.stats.size() != ds.columns.size())
          throw error("model card: dataset '" + title + "' has " + std::to_string(ds.columns.size()) + " columns but statistics for " +
                      std::to_string(ds.stats.size()));
        table_row type_row{{"", "type"}}, details{{"", "details"}};
        for (std::size_t c = 0; c < ds.columns.size(); ++c) {
          type_row.emplace_back(ds.columns[c], ds.stats[c].dtype);
          std::string html = "<ul><li>";
          for (std::size_t k = 0; k < ds.stats[c].data.size(); ++k)
            html += (k ? "</li><li>" : "") + ds.stats[c].data[k].first + ": " + ds.stats[c].data[k].second;
          details.emplace_back(ds.columns[c], html + "</li></ul>");
        }
        o += "* Approximate statistics based on the first " + std::to_string(std::min<std::size_t>(ds.size ? ds.size : 1000, 1000)) +
             " samples:\n" + indent(left_aligned(markdown_table({type_row, details})), "  ");
      }
      if (!ds.samples.empty()) {
        std::vector<table_row> rows;
        for (const auto& s : ds.samples) {
          table_row row;
          for (std::size_t c = 0; c < ds.columns.size(); ++c) {
            std::string v = c < s.size() ? s[c] : "";
            if (u8_len(v) > 1000) v = u8_prefix(v, 1000) + "...";
            v = replace_all(replace_all(v, "\n", "<br>"), "|", "\\|");
            row.emplace_back(ds.columns[c], "<code>" + v + "</code>");
          }
          rows.push_back(std::move(row));
        }
        o += "* Samples:\n" + indent(left_aligned(markdown_table(rows)), "  ");
      }
      const loss_info* li = nullptr;
      for (const auto& l : d.losses)
        if (l.name == ds.loss) li = &l;
      const std::string ln = li ? li->name : ds.loss;
      if (!li || li->in_library) {
        std::string anchor = ln;
        for (auto& c : anchor) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        o += "* Loss: [<code>" + ln + "</code>](https://sbert.net/docs/package_reference/sentence_transformer/losses.html#" + anchor + ")";
      } else {
        o += "* Loss: <code>" + ln + "</code>";  // a custom loss has no sbert.net section
      }
      if (li) o += " with these parameters:\n" + indent("```json\n" + config_json(li->config) + "\n```", "  ");
      o += "\n";
      if (folded) o += "</details>\n";
    }
  }

  // ---- Hyperparameters ----
  if (!d.hyperparameters.empty()) {
    o += "\n### Training Hyperparameters\n";
    std::string nondefault;
    for (const auto& [k, v] : d.hyperparameters) {
      const auto it = std::find_if(d.default_hyperparameters.begin(), d.default_hyperparameters.end(),
                                   [&](const auto& kv) { return kv.first == k; });
      if (it != d.default_hyperparameters.end() && it->second != v) nondefault += "- `" + k + "`: " + python_display(v) + "\n";
    }
    if (!nondefault.empty()) o += "#### Non-Default Hyperparameters\n\n" + nondefault;
    o += "\n#### All Hyperparameters\n<details><summary>Click to expand</summary>\n\n";
    for (const auto& [k, v] : d.hyperparameters) o += "- `" + k + "`: " + python_display(v) + "\n";
    o += "\n</details>\n";
  }

  // ---- Training Logs ----
  const auto logs = training_logs(d);
  if (!logs.rows.empty()) {
    std::vector<table_row> rows;
    for (const auto& r : logs.rows) {
      const bool bold = d.best_model_step && r.at("Step") == static_cast<double>(*d.best_model_step);
      table_row row;
      for (const auto& k : logs.columns) {
        const auto it = r.find(k);
        std::string cell;
        if (it == r.end()) cell = "-";
        else if (k == "Step") cell = std::to_string(static_cast<long long>(it->second));
        else cell = bold ? round_repr(it->second, 4) : maybe_round(it->second);
        row.emplace_back(k, bold ? "**" + cell + "**" : cell);
      }
      rows.push_back(std::move(row));
    }
    const bool hide = logs.rows.size() > 100;
    const std::string table = markdown_table(rows);
    o += "\n### Training Logs\n";
    if (hide) o += "<details><summary>Click to expand</summary>\n\n";
    o += table;
    if (table.find("**") != std::string::npos) o += "\n* The bold row denotes the saved checkpoint.";
    if (hide) o += "\n</details>";
    o += "\n";
  }
  if (plot_written && !d.plot_file.empty())
    o += "\n![Training and evaluation curves](" + d.plot_file + ")\n";

  // ---- Environmental Impact, Training Hardware (as Python's card, from CodeCarbon's data) ----
  if (const auto& e = d.emissions) {
    char buf[64];
    o += "\n### Environmental Impact\nCarbon emissions were estimated by sbert's emissions tracker, after "
         "[CodeCarbon](https://github.com/mlco2/codecarbon)'s method (CPU energy from ";
    o += e->cpu_method == "rapl" ? "RAPL" : "the CPU's TDP times its utilisation";
    o += ").\n";
    std::snprintf(buf, sizeof buf, "%.3f", e->energy_consumed);
    o += std::string("- **Energy Consumed**: ") + buf + " kWh\n";
    std::snprintf(buf, sizeof buf, "%.3f", e->emissions);
    o += std::string("- **Carbon Emitted**: ") + buf + " kg of CO2\n";
    o += "- **Hours Used**: " + json::python_float(std::round(e->duration / 3600 * 1000) / 1000) + " hours\n";
    o += "\n### Training Hardware\n";
    o += std::string("- **On Cloud**: ") + (e->on_cloud == "Y" ? "Yes" : "No") + "\n";
    o += "- **GPU Model**: " + (e->gpu_model.empty() ? std::string("No GPU used") : e->gpu_model) + "\n";
    o += "- **CPU Model**: " + e->cpu_model + "\n";
    std::snprintf(buf, sizeof buf, "%.2f", e->ram_total_size);
    o += std::string("- **RAM Size**: ") + buf + " GB\n";
  }

  // ---- Framework Versions, Citation ----
  o += "\n### Framework Versions\n";
  for (const auto& [k, v] : d.versions) o += "- " + k + ": " + v + "\n";
  o += "\n## Citation\n\n### BibTeX\n";
  // Losses sharing a citation are listed together ("A and B"), after Sentence Transformers'.
  std::vector<std::pair<std::string, std::vector<std::string>>> cites{{sbert_citation(), {"Sentence Transformers"}}};
  for (const auto& l : d.losses) {
    if (trim(l.citation).empty()) continue;
    auto it = std::find_if(cites.begin(), cites.end(), [&](const auto& c) { return c.first == l.citation; });
    if (it == cites.end()) cites.push_back({l.citation, {l.name}});
    else if (std::find(it->second.begin(), it->second.end(), l.name) == it->second.end()) it->second.push_back(l.name);
  }
  for (const auto& [text, names] : cites) o += "\n#### " + join_and(names) + "\n```bibtex\n" + trim(text) + "\n```\n";
  o += "\n<!--\n## Glossary\n\n*Clearly define terms in order to be accessible across audiences.*\n-->\n\n"
       "<!--\n## Model Card Authors\n\n*Lists the people who create the model card, providing recognition and accountability for the detailed work that goes into its construction.*\n-->\n\n"
       "<!--\n## Model Card Contact\n\n*Provides a way for people who have updates to the Model Card, suggestions, or questions, to contact the Model Card authors.*\n-->\n";
  return o;
}
#else
[[nodiscard]] std::string render_model_card(const model_card_data& d, bool plot_written = false);
#endif

/// Writes README.md (and the curves SVG, when the log has something to plot) into `dir`.
#if SBERT_DEFINITIONS
SBERT_INLINE void write_model_card(const std::string& dir, const model_card_data& d) {
  std::filesystem::create_directories(dir);
  bool plot = false;
  if (!d.plot_file.empty()) {
    const std::string svg = training_curves_svg(d.log_history);
    if (!svg.empty()) {
      std::ofstream f(std::filesystem::path(dir) / d.plot_file, std::ios::binary | std::ios::trunc);
      f << svg;
      if (!f) throw error("model card: cannot write " + (std::filesystem::path(dir) / d.plot_file).string());
      plot = true;
    }
  }
  std::ofstream f(std::filesystem::path(dir) / "README.md", std::ios::binary | std::ios::trunc);
  f << render_model_card(d, plot);
  if (!f) throw error("model card: cannot write " + (std::filesystem::path(dir) / "README.md").string());
}
#else
void write_model_card(const std::string& dir, const model_card_data& d);
#endif

}  // namespace sbert
