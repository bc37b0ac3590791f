// SPDX-License-Identifier: Apache-2.0
// Host-side math of the evaluators, torch-free and non-template: correlations (scipy),
// average precision and NDCG (sklearn), MCC, the threshold sweeps of the Python evaluators,
// and the CSV files they append to. Each function says which library call it mirrors.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <sbert/error.hpp>
#include <sbert/io/json_writer.hpp>

namespace sbert::detail {

/// scipy.stats.rankdata(x, method="average"): 1-based ranks, tied values share the mean of
/// the positions they occupy.
[[nodiscard]] inline std::vector<double> average_ranks(std::span<const double> x) {
  const std::size_t n = x.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return x[a] < x[b]; });
  std::vector<double> ranks(n);
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i + 1;
    while (j < n && x[order[j]] == x[order[i]]) ++j;
    const double r = 0.5 * static_cast<double>(i + 1 + j);  // mean of positions i+1 .. j
    for (std::size_t t = i; t < j; ++t) ranks[order[t]] = r;
    i = j;
  }
  return ranks;
}

/// scipy.stats.pearsonr(x, y)[0] in float64 (centred, each side scaled by its norm, clipped to
/// [-1, 1]). NaN when either side is constant or there are fewer than 2 values, as scipy.
[[nodiscard]] inline double pearson(std::span<const double> x, std::span<const double> y) {
  if (x.size() != y.size()) throw error("pearson: the two sides have different lengths");
  const std::size_t n = x.size();
  if (n < 2) return std::numeric_limits<double>::quiet_NaN();
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / static_cast<double>(n);
  const double my = std::accumulate(y.begin(), y.end(), 0.0) / static_cast<double>(n);
  double sxx = 0, syy = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  const double nx = std::sqrt(sxx), ny = std::sqrt(syy);
  if (nx == 0 || ny == 0) return std::numeric_limits<double>::quiet_NaN();
  double r = 0;
  for (std::size_t i = 0; i < n; ++i) r += ((x[i] - mx) / nx) * ((y[i] - my) / ny);
  return std::clamp(r, -1.0, 1.0);
}

/// scipy.stats.spearmanr(x, y)[0]: Pearson of the average ranks (ties matter: STSb baselines
/// have many).
[[nodiscard]] inline double spearman(std::span<const double> x, std::span<const double> y) {
  const auto rx = average_ranks(x), ry = average_ranks(y);
  return pearson(rx, ry);
}

/// sklearn.metrics.average_precision_score(labels, scores) for 0/1 labels: the step-wise area
/// under the precision-recall curve, one step per distinct score (ties form one step).
/// No positive label: 0, as sklearn returns (with a warning).
[[nodiscard]] inline double average_precision(std::span<const int> labels, std::span<const double> scores) {
  if (labels.size() != scores.size()) throw error("average_precision: labels and scores differ in length");
  const std::size_t n = labels.size();
  const auto positives = static_cast<std::size_t>(std::count(labels.begin(), labels.end(), 1));
  if (n == 0 || positives == 0) return 0.0;
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
  double ap = 0, prev_recall = 0;
  std::size_t tp = 0;
  for (std::size_t i = 0; i < n; ++i) {
    tp += labels[order[i]] == 1 ? 1 : 0;
    if (i + 1 < n && scores[order[i + 1]] == scores[order[i]]) continue;  // end of a tie group only
    const double precision = static_cast<double>(tp) / static_cast<double>(i + 1);
    const double recall = static_cast<double>(tp) / static_cast<double>(positives);
    ap += (recall - prev_recall) * precision;
    prev_recall = recall;
  }
  return ap;
}

/// sklearn.metrics.ndcg_score([relevance], [scores], k) for one sample, with sklearn's default
/// tie handling: tied scores share the mean gain of their group over the group's discounts.
/// 0 when no document is relevant.
[[nodiscard]] inline double ndcg_at_k(std::span<const double> relevance, std::span<const double> scores, std::size_t k) {
  if (relevance.size() != scores.size()) throw error("ndcg_at_k: relevance and scores differ in length");
  const std::size_t n = relevance.size();
  std::vector<double> cum(n + 1, 0.0);  // cum[i] = sum of the first i discounts (0 past k)
  for (std::size_t i = 0; i < n; ++i) cum[i + 1] = cum[i] + (i < k ? 1.0 / std::log2(static_cast<double>(i) + 2.0) : 0.0);
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
  double dcg = 0;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i + 1;
    while (j < n && scores[order[j]] == scores[order[i]]) ++j;
    double gain = 0;
    for (std::size_t t = i; t < j; ++t) gain += relevance[order[t]];
    dcg += gain / static_cast<double>(j - i) * (cum[j] - cum[i]);
    i = j;
  }
  std::vector<double> ideal(relevance.begin(), relevance.end());
  std::sort(ideal.begin(), ideal.end(), std::greater<>());
  double idcg = 0;
  for (std::size_t i = 0; i < n && i < k; ++i) idcg += ideal[i] / std::log2(static_cast<double>(i) + 2.0);
  return idcg == 0 ? 0.0 : dcg / idcg;
}

/// sklearn.metrics.matthews_corrcoef for 0/1 labels, from the confusion matrix as sklearn
/// computes it; 0 when a marginal is empty.
[[nodiscard]] inline double matthews_corrcoef(std::span<const int> truth, std::span<const int> predicted) {
  if (truth.size() != predicted.size()) throw error("matthews_corrcoef: inputs differ in length");
  double c[2][2] = {{0, 0}, {0, 0}};
  for (std::size_t i = 0; i < truth.size(); ++i) c[truth[i] != 0][predicted[i] != 0] += 1;
  const double t_sum[2] = {c[0][0] + c[0][1], c[1][0] + c[1][1]};
  const double p_sum[2] = {c[0][0] + c[1][0], c[0][1] + c[1][1]};
  const double n_correct = c[0][0] + c[1][1];
  const double n = t_sum[0] + t_sum[1];
  const double cov_ytyp = n_correct * n - (t_sum[0] * p_sum[0] + t_sum[1] * p_sum[1]);
  const double cov_ypyp = n * n - (p_sum[0] * p_sum[0] + p_sum[1] * p_sum[1]);
  const double cov_ytyt = n * n - (t_sum[0] * t_sum[0] + t_sum[1] * t_sum[1]);
  if (cov_ypyp * cov_ytyt == 0) return 0.0;
  return cov_ytyp / std::sqrt(cov_ytyt * cov_ypyp);
}

/// Rows ordered best first: by descending score when higher is better, else ascending. Stable,
/// as Python's sorted(), so ties keep the input order.
[[nodiscard]] inline std::vector<std::size_t> order_best_first(std::span<const float> scores, bool greater_is_better) {
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return greater_is_better ? scores[a] > scores[b] : scores[a] < scores[b];
  });
  return order;
}

struct accuracy_threshold {
  double accuracy = 0;
  double threshold = -1;
};
/// BinaryClassificationEvaluator.find_best_acc_and_threshold: cut after each row of the sorted
/// list (the last excepted); the threshold is the float32 midpoint of the two rows around the
/// best cut, the first maximum kept.
[[nodiscard]] inline accuracy_threshold best_accuracy_threshold(std::span<const float> scores, std::span<const int> labels,
                                                                bool greater_is_better) {
  const auto order = order_best_first(scores, greater_is_better);
  accuracy_threshold best;
  std::size_t positives_so_far = 0;
  auto remaining_negatives = static_cast<std::size_t>(std::count(labels.begin(), labels.end(), 0));
  const auto n = static_cast<double>(labels.size());
  for (std::size_t i = 0; i + 1 < order.size(); ++i) {
    if (labels[order[i]] == 1) ++positives_so_far;
    else --remaining_negatives;
    const double acc = static_cast<double>(positives_so_far + remaining_negatives) / n;
    if (acc > best.accuracy) {
      best.accuracy = acc;
      best.threshold = static_cast<double>((scores[order[i]] + scores[order[i + 1]]) / 2.0f);
    }
  }
  return best;
}

struct f1_threshold {
  double f1 = 0, precision = 0, recall = 0;
  double threshold = 0;
};
/// BinaryClassificationEvaluator.find_best_f1_and_threshold: the same sweep maximising F1.
[[nodiscard]] inline f1_threshold best_f1_threshold(std::span<const float> scores, std::span<const int> labels,
                                                    bool greater_is_better) {
  const auto order = order_best_first(scores, greater_is_better);
  f1_threshold best;
  std::size_t extracted = 0, correct = 0;
  const auto total = static_cast<double>(std::count(labels.begin(), labels.end(), 1));
  for (std::size_t i = 0; i + 1 < order.size(); ++i) {
    ++extracted;
    if (labels[order[i]] == 1) ++correct;
    if (correct == 0) continue;
    const double precision = static_cast<double>(correct) / static_cast<double>(extracted);
    const double recall = static_cast<double>(correct) / total;
    const double f1 = 2 * precision * recall / (precision + recall);
    if (f1 > best.f1) {
      best = {f1, precision, recall, static_cast<double>((scores[order[i]] + scores[order[i + 1]]) / 2.0f)};
    }
  }
  return best;
}

/// Binary-gain DCG of a ranked hit list (hit[r] = the document at 0-based rank r is relevant),
/// as InformationRetrievalEvaluator.compute_dcg_at_k: sum of rel / log2(r + 2) over r < k.
[[nodiscard]] inline double dcg_at_k(std::span<const int> hits, std::size_t k) {
  double dcg = 0;
  for (std::size_t r = 0; r < hits.size() && r < k; ++r) dcg += hits[r] / std::log2(static_cast<double>(r) + 2.0);
  return dcg;
}

// ---- CSV files ------------------------------------------------------------------------------

/// A number as Python's str() writes it in a CSV row ("0.5", "1e-05", "nan").
[[nodiscard]] inline std::string csv_number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return json::python_float(v);
}
[[nodiscard]] inline std::string csv_number(std::int64_t v) { return std::to_string(v); }
[[nodiscard]] inline std::string csv_number(int v) { return std::to_string(v); }

/// A field as Python's csv.writer quotes it (QUOTE_MINIMAL).
[[nodiscard]] inline std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

/// Appends one row to output_dir/file, writing the header first when the file is new, as the
/// Python evaluators do. `crlf`: csv.writer's "\r\n" line ends (most evaluators); false for the
/// plain "\n" that InformationRetrievalEvaluator writes by hand. The folder is created if needed.
inline void append_csv_row(const std::string& output_dir, const std::string& file, std::span<const std::string> header,
                           std::span<const std::string> row, bool crlf = true) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(output_dir, ec);
  if (ec) throw error(output_dir + ": cannot create the evaluation folder: " + ec.message());
  const fs::path path = fs::path(output_dir) / file;
  const bool exists = fs::is_regular_file(path, ec);
  std::ofstream out(path, std::ios::binary | std::ios::app);
  if (!out) throw error(path.string() + ": cannot open for writing");
  const char* eol = crlf ? "\r\n" : "\n";
  auto write = [&](std::span<const std::string> fields) {
    for (std::size_t i = 0; i < fields.size(); ++i) out << (i ? "," : "") << csv_field(fields[i]);
    out << eol;
  };
  if (!exists) write(header);
  write(row);
  if (!out) throw error(path.string() + ": write failed");
}

}  // namespace sbert::detail
