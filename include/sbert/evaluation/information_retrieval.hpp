// SPDX-License-Identifier: Apache-2.0
// InformationRetrievalEvaluator: queries against a corpus, scored by accuracy@k, precision@k,
// recall@k, MRR@k, NDCG@k and MAP@k (binary relevance) for each score function.
//
// The corpus is encoded in chunks of corpus_chunk_size; each chunk's [queries x chunk] scores
// are cut to their top max_k at once and merged into a running top-max_k per query, so neither
// all corpus embeddings nor the full query x corpus score matrix ever exist.
#pragma once
#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <ATen/ops/topk.h>

#include <sbert/evaluation/evaluator.hpp>

namespace sbert {

struct information_retrieval_options {
  std::int64_t corpus_chunk_size = 50000;
  std::vector<std::size_t> mrr_at_k{10};
  std::vector<std::size_t> ndcg_at_k{10};
  std::vector<std::size_t> accuracy_at_k{1, 3, 5, 10};
  std::vector<std::size_t> precision_recall_at_k{1, 3, 5, 10};
  std::vector<std::size_t> map_at_k{100};
  bool show_progress_bar = false;
  std::int64_t batch_size = 32;
  std::string name;
  bool write_csv = true;
  std::optional<std::int64_t> truncate_dim;
  /// Empty: the model's similarity function. Python's defaults are cos_sim and dot_score.
  std::vector<similarity_function> score_functions;
  /// Whose ndcg@max_k is primary; unset: the function with the best one.
  std::optional<similarity_function> main_score_function;
  std::optional<std::string> query_prompt, query_prompt_name;
  std::optional<std::string> corpus_prompt, corpus_prompt_name;
};

class information_retrieval_evaluator : public evaluator {
 public:
  /// The Python class and its description (the model card's names for it).
  static constexpr std::string_view class_name = "InformationRetrievalEvaluator";
  static constexpr std::string_view description = "Information Retrieval";
  [[nodiscard]] std::string_view card_class_name() const override { return class_name; }
  [[nodiscard]] std::string_view card_description() const override { return description; }
  using options = information_retrieval_options;
  /// (id, text) in the caller's order (Python's dict order).
  using id_texts = std::vector<std::pair<std::string, std::string>>;
  using relevance = std::map<std::string, std::set<std::string>>;
  /// (query, relevant document) rows.
  static constexpr inputs_spec inputs{.texts = exactly(2), .roles = roles::positive_pair};

  information_retrieval_evaluator(const id_texts& queries, const id_texts& corpus, relevance relevant_docs, options o = {})
      : evaluator(o.name), relevant_(std::move(relevant_docs)), opts_(std::move(o)) {
    set_data(queries, corpus);
  }

  /// From (query, relevant document) rows: each distinct query text is a query, each distinct
  /// document text a corpus entry (ids are their first row, "q<row>" / "d<row>"); rows with the
  /// same query add relevant documents. `extra_corpus` adds distractor documents.
  template <Schema S>
  explicit information_retrieval_evaluator(const dataset<S>& d, options o = {}, const std::vector<std::string>& extra_corpus = {})
      : evaluator(o.name), opts_(std::move(o)) {
    check_inputs_fit<information_retrieval_evaluator, S>();
    if constexpr (InputsFit<information_retrieval_evaluator, S>) {
      const auto& qs = detail::input_column<0>(d);
      const auto& ds = detail::input_column<1>(d);
      id_texts queries, corpus;
      std::unordered_map<std::string, std::string> qid, did;
      auto add = [](auto& ids, id_texts& list, const std::string& text, const std::string& id) {
        auto [it, fresh] = ids.emplace(text, id);
        if (fresh) list.emplace_back(id, text);
        return it->second;
      };
      for (std::size_t i = 0; i < qs.size(); ++i) {
        const auto q = add(qid, queries, qs[i], "q" + std::to_string(i));
        const auto c = add(did, corpus, ds[i], "d" + std::to_string(i));
        relevant_[q].insert(c);
      }
      for (std::size_t i = 0; i < extra_corpus.size(); ++i) add(did, corpus, extra_corpus[i], "x" + std::to_string(i));
      set_data(queries, corpus);
    }
  }

  metric_map operator()(models::sentence_transformer& model, const std::string& output_path = "", int epoch = -1,
                        int steps = -1) override {
    const auto fns = detail::functions_or_models(opts_.score_functions, model);
    const auto max_k = max_k_();
    const auto qenc = detail::make_encode(opts_.batch_size, opts_.show_progress_bar, opts_.truncate_dim, opts_.query_prompt, opts_.query_prompt_name);
    const auto cenc = detail::make_encode(opts_.batch_size, opts_.show_progress_bar, opts_.truncate_dim, opts_.corpus_prompt, opts_.corpus_prompt_name);
    const auto q = detail::encode_for_eval(model, query_texts_, qenc, detail::encode_role::query);

    // top[f][query] = the best (score, corpus index) pairs so far, at most max_k.
    std::vector<std::vector<std::vector<std::pair<float, std::size_t>>>> top(
        fns.size(), std::vector<std::vector<std::pair<float, std::size_t>>>(query_texts_.size()));
    const auto n_corpus = static_cast<std::int64_t>(corpus_texts_.size());
    const auto chunk = std::max<std::int64_t>(1, opts_.corpus_chunk_size);
    for (std::int64_t start = 0; start < n_corpus && !query_texts_.empty(); start += chunk) {
      const auto end = std::min(n_corpus, start + chunk);
      const auto c = detail::encode_for_eval(
          model, std::span<const std::string>(corpus_texts_).subspan(static_cast<std::size_t>(start), static_cast<std::size_t>(end - start)),
          cenc, detail::encode_role::document);
      for (std::size_t f = 0; f < fns.size(); ++f) {
        const auto scores = similarity(fns[f], q, c);
        const auto k = std::min<std::int64_t>(static_cast<std::int64_t>(max_k), end - start);
        const auto [values, indices] = at::topk(scores, k, 1, true, false);
        const auto v = values.contiguous();
        const auto ix = indices.contiguous();
        const float* vp = v.data_ptr<float>();
        const std::int64_t* ip = ix.data_ptr<std::int64_t>();
        for (std::size_t qi = 0; qi < query_texts_.size(); ++qi) {
          auto& list = top[f][qi];
          for (std::int64_t j = 0; j < k; ++j) {
            const auto row = static_cast<std::int64_t>(qi) * k + j;
            list.emplace_back(vp[row], static_cast<std::size_t>(start + ip[row]));
          }
          keep_best(list, max_k);
        }
      }
      if (opts_.show_progress_bar) std::fprintf(stderr, "\rCorpus chunks: %lld/%lld", static_cast<long long>(end), static_cast<long long>(n_corpus));
    }
    if (opts_.show_progress_bar) std::fprintf(stderr, "\n");

    std::vector<std::pair<std::string, double>> m;
    std::vector<std::string> header{"epoch", "steps"}, row{detail::csv_number(epoch), detail::csv_number(steps)};
    const auto ndcg_max = *std::max_element(opts_.ndcg_at_k.begin(), opts_.ndcg_at_k.end());
    std::optional<std::pair<double, std::string>> best;
    for (std::size_t f = 0; f < fns.size(); ++f) {
      const std::string fn(name_of(fns[f]));
      const auto r = compute_metrics(top[f]);
      for (auto k : opts_.accuracy_at_k) m.emplace_back(fn + "_accuracy@" + std::to_string(k), r.accuracy.at(k));
      for (auto k : opts_.precision_recall_at_k) m.emplace_back(fn + "_precision@" + std::to_string(k), r.precision.at(k));
      for (auto k : opts_.precision_recall_at_k) m.emplace_back(fn + "_recall@" + std::to_string(k), r.recall.at(k));
      for (auto k : opts_.ndcg_at_k) m.emplace_back(fn + "_ndcg@" + std::to_string(k), r.ndcg.at(k));
      for (auto k : opts_.mrr_at_k) m.emplace_back(fn + "_mrr@" + std::to_string(k), r.mrr.at(k));
      for (auto k : opts_.map_at_k) m.emplace_back(fn + "_map@" + std::to_string(k), r.map.at(k));
      // CSV columns in Python's order.
      auto col = [&](const std::string& what, std::size_t k, double v) {
        header.push_back(fn + "-" + what + "@" + std::to_string(k));
        row.push_back(detail::csv_number(v));
      };
      for (auto k : opts_.accuracy_at_k) col("Accuracy", k, r.accuracy.at(k));
      for (auto k : opts_.precision_recall_at_k) {
        col("Precision", k, r.precision.at(k));
        col("Recall", k, r.recall.at(k));
      }
      for (auto k : opts_.mrr_at_k) col("MRR", k, r.mrr.at(k));
      for (auto k : opts_.ndcg_at_k) col("NDCG", k, r.ndcg.at(k));
      for (auto k : opts_.map_at_k) col("MAP", k, r.map.at(k));
      if (!best || r.ndcg.at(ndcg_max) > best->first) best = std::pair{r.ndcg.at(ndcg_max), fn};
    }
    primary_ = (opts_.main_score_function ? std::string(name_of(*opts_.main_score_function)) : best->second) + "_ndcg@" +
               std::to_string(ndcg_max);
    if (!output_path.empty() && opts_.write_csv) detail::append_csv_row(output_path, csv_file(), header, row, false);
    return prefix_all(m);
  }

  /// Information-Retrieval_evaluation[_{name}]_results.csv
  [[nodiscard]] std::string csv_file() const {
    return "Information-Retrieval_evaluation" + (name_.empty() ? "" : "_" + name_) + "_results.csv";
  }
  /// The queries that are evaluated (those with at least one relevant document), and the corpus.
  [[nodiscard]] std::size_t query_count() const { return query_texts_.size(); }
  [[nodiscard]] std::size_t corpus_size() const { return corpus_texts_.size(); }

 private:
  struct results {
    std::map<std::size_t, double> accuracy, precision, recall, mrr, ndcg, map;
  };

  void set_data(const id_texts& queries, const id_texts& corpus) {
    auto check_ks = [](const std::vector<std::size_t>& ks, const char* what) {
      if (ks.empty()) throw error(std::string("information_retrieval_evaluator: ") + what + " is empty");
      for (auto k : ks)
        if (k == 0) throw error(std::string("information_retrieval_evaluator: ") + what + " holds a 0");
    };
    check_ks(opts_.mrr_at_k, "mrr_at_k");
    check_ks(opts_.ndcg_at_k, "ndcg_at_k");
    check_ks(opts_.accuracy_at_k, "accuracy_at_k");
    check_ks(opts_.precision_recall_at_k, "precision_recall_at_k");
    check_ks(opts_.map_at_k, "map_at_k");
    for (const auto& [id, text] : queries) {
      auto it = relevant_.find(id);
      if (it == relevant_.end() || it->second.empty()) continue;  // Python skips them too
      query_ids_.push_back(id);
      query_texts_.push_back(text);
    }
    std::set<std::string> seen;
    for (const auto& [id, text] : corpus) {
      if (!seen.insert(id).second) throw error("information_retrieval_evaluator: corpus id '" + id + "' appears twice");
      corpus_ids_.push_back(id);
      corpus_texts_.push_back(text);
    }
  }

  std::size_t max_k_() const {
    std::size_t k = 0;
    for (const auto* v : {&opts_.mrr_at_k, &opts_.ndcg_at_k, &opts_.accuracy_at_k, &opts_.precision_recall_at_k, &opts_.map_at_k})
      k = std::max(k, *std::max_element(v->begin(), v->end()));
    return k;
  }

  /// Best first: higher score, then the smaller corpus id (a deterministic tie-break).
  bool better(const std::pair<float, std::size_t>& a, const std::pair<float, std::size_t>& b) const {
    if (a.first != b.first) return a.first > b.first;
    return corpus_ids_[a.second] < corpus_ids_[b.second];
  }
  void keep_best(std::vector<std::pair<float, std::size_t>>& list, std::size_t k) const {
    auto cmp = [this](const auto& a, const auto& b) { return better(a, b); };
    if (list.size() > k) {
      std::nth_element(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(k), list.end(), cmp);
      list.resize(k);
    }
  }

  results compute_metrics(std::vector<std::vector<std::pair<float, std::size_t>>>& top) const {
    results r;
    const auto nq = static_cast<double>(query_ids_.size());
    for (auto k : opts_.accuracy_at_k) r.accuracy[k] = 0;
    for (auto k : opts_.precision_recall_at_k) r.precision[k] = r.recall[k] = 0;
    for (auto k : opts_.mrr_at_k) r.mrr[k] = 0;
    for (auto k : opts_.ndcg_at_k) r.ndcg[k] = 0;
    for (auto k : opts_.map_at_k) r.map[k] = 0;
    for (std::size_t qi = 0; qi < query_ids_.size(); ++qi) {
      auto& hits = top[qi];
      std::sort(hits.begin(), hits.end(), [this](const auto& a, const auto& b) { return better(a, b); });
      const auto& rel = relevant_.at(query_ids_[qi]);
      std::vector<int> is_rel(hits.size());
      for (std::size_t i = 0; i < hits.size(); ++i) is_rel[i] = rel.count(corpus_ids_[hits[i].second]) ? 1 : 0;
      auto first = [&](std::size_t k) { return std::min(k, is_rel.size()); };
      for (auto k : opts_.accuracy_at_k)
        if (std::find(is_rel.begin(), is_rel.begin() + static_cast<std::ptrdiff_t>(first(k)), 1) != is_rel.begin() + static_cast<std::ptrdiff_t>(first(k)))
          r.accuracy[k] += 1;
      for (auto k : opts_.precision_recall_at_k) {
        const auto c = std::count(is_rel.begin(), is_rel.begin() + static_cast<std::ptrdiff_t>(first(k)), 1);
        r.precision[k] += static_cast<double>(c) / static_cast<double>(k);
        r.recall[k] += static_cast<double>(c) / static_cast<double>(rel.size());
      }
      for (auto k : opts_.mrr_at_k)
        for (std::size_t i = 0; i < first(k); ++i)
          if (is_rel[i]) {
            r.mrr[k] += 1.0 / static_cast<double>(i + 1);
            break;
          }
      for (auto k : opts_.ndcg_at_k) {
        const std::vector<int> ideal(rel.size(), 1);
        r.ndcg[k] += detail::dcg_at_k(is_rel, k) / detail::dcg_at_k(ideal, k);
      }
      for (auto k : opts_.map_at_k) {
        double correct = 0, sum = 0;
        for (std::size_t i = 0; i < first(k); ++i)
          if (is_rel[i]) sum += ++correct / static_cast<double>(i + 1);
        r.map[k] += sum / static_cast<double>(std::min(k, rel.size()));
      }
    }
    for (auto* mp : {&r.accuracy, &r.precision, &r.recall, &r.mrr, &r.ndcg, &r.map})
      for (auto& [k, v] : *mp) v = nq > 0 ? v / nq : 0.0;
    return r;
  }

  relevance relevant_;
  options opts_;
  std::vector<std::string> query_ids_, query_texts_, corpus_ids_, corpus_texts_;
};

}  // namespace sbert
