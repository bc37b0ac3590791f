// SPDX-License-Identifier: Apache-2.0
// mine_hard_negatives: util.mine_hard_negatives of sentence-transformers. Turns a data set of
// (anchor, positive) pairs into (anchor, positive, negative) triplets or (anchor, positive,
// negatives) rows, the negatives being the corpus texts the model ranks closest to the anchor
// that pass range_min / range_max, the margins and the score bounds. The search is an exact
// top-k on libtorch (no FAISS), query chunk by query chunk, so the full query x corpus score
// matrix is never held at once (the fix of Python's #3164, PR #3816).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <ATen/TensorOperators.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/topk.h>

#include <sbert/data/dataset.hpp>
#include <sbert/error.hpp>
#include <sbert/evaluation/evaluator.hpp>
#include <sbert/models/normalize.hpp>
#include <sbert/models/sentence_transformer.hpp>
#include <sbert/util/hard_negatives_schema.hpp>

namespace sbert {

/// sampling_strategy: "top" takes the best candidates, "random" draws among the candidates
/// that passed every filter (the draw is seeded, see mine_hard_negatives_options::seed).
enum class negative_sampling { top, random };

/// What a call mined and what it skipped (Python prints these; pass a pointer to get them).
struct mine_hard_negatives_report {
  std::size_t unique_queries = 0;
  std::size_t corpus_size = 0;        ///< after de-duplication, positives included
  std::size_t range_max = 0;          ///< as resolved (the default depends on the options)
  std::size_t skipped_absolute_margin = 0;
  std::size_t skipped_relative_margin = 0;
  std::size_t skipped_max_score = 0;
  std::size_t skipped_min_score = 0;
  std::size_t maximum_rows = 0;       ///< rows had every query found all its negatives
  std::size_t rows = 0;               ///< rows produced
};

/// The options of util.mine_hard_negatives, with its defaults.
struct mine_hard_negatives_options {
  /// Further candidate texts; the positives always join them (Python's `corpus`).
  std::vector<std::string> corpus;
  /// Skip the range_min best candidates (after the filters below), ...
  std::size_t range_min = 0;
  /// ... and look no further than rank range_max. Unset: range_min + num_negatives + the most
  /// positives a query has, or range_min + 10 * num_negatives + that with a margin or max_score.
  std::optional<std::size_t> range_max;
  /// Candidates scoring above max_score or below min_score are dropped.
  std::optional<double> max_score;
  std::optional<double> min_score;
  /// Drop candidates with score + absolute_margin > the positive's score ...
  std::optional<double> absolute_margin;
  /// ... or score > positive's score * (1 - relative_margin). With several positives, the
  /// lowest positive score of the query counts.
  std::optional<double> relative_margin;
  std::size_t num_negatives = 3;
  negative_sampling sampling_strategy = negative_sampling::top;
  std::optional<std::string> query_prompt_name;
  std::optional<std::string> query_prompt;
  std::optional<std::string> corpus_prompt_name;
  std::optional<std::string> corpus_prompt;
  /// Keep the positives among the candidates (for reranking data); needs n-tuple output.
  bool include_positives = false;
  std::int64_t batch_size = 32;
  /// Queries per similarity + top-k step (Python's faiss_batch_size, used without FAISS too).
  std::int64_t search_batch_size = 16384;
  /// Seeds the random sampling strategy (Python draws from its global `random`).
  std::uint64_t seed = 42;
  bool show_progress_bar = false;
  mine_hard_negatives_report* report = nullptr;
};

namespace detail {
/// The rows mined, as indices: query q (into `queries`), positive and negatives (into `corpus`).
struct mined_rows {
  std::vector<std::string> queries;  // de-duplicated anchors, first occurrence first
  std::vector<std::string> corpus;   // de-duplicated candidates: options.corpus, then the positives
  std::vector<std::size_t> query, positive;
  std::vector<std::vector<std::size_t>> negatives;  // one per row for triplets
};

inline void check_mining_options(const mine_hard_negatives_options& o, std::size_t rows) {
  auto fail = [](const std::string& what) { throw error("mine_hard_negatives: " + what); };
  if (rows == 0) fail("the dataset is empty: give it (anchor, positive) rows");
  if (o.num_negatives == 0) fail("num_negatives must be at least 1");
  if (o.batch_size <= 0) fail("batch_size must be positive");
  if (o.search_batch_size <= 0) fail("search_batch_size must be positive");
  if (o.relative_margin && !(*o.relative_margin >= 0 && *o.relative_margin < 1))
    fail("relative_margin " + std::to_string(*o.relative_margin) + " is outside [0, 1)");
  if (o.min_score && o.max_score && *o.min_score > *o.max_score)
    fail("min_score " + std::to_string(*o.min_score) + " is above max_score " + std::to_string(*o.max_score) +
         ": no candidate can pass");
  for (auto [name, v] : {std::pair{"max_score", o.max_score}, std::pair{"min_score", o.min_score},
                         std::pair{"absolute_margin", o.absolute_margin}, std::pair{"relative_margin", o.relative_margin}})
    if (v && !std::isfinite(*v)) fail(std::string(name) + " must be finite");
}

/// k distinct draws from [0, m), in draw order: a partial Fisher-Yates with our own bounded
/// draw, so a seed gives the same negatives with every standard library.
inline std::vector<std::size_t> sample_without_replacement(std::size_t m, std::size_t k, std::mt19937_64& rng) {
  std::vector<std::size_t> pool(m);
  std::iota(pool.begin(), pool.end(), std::size_t{0});
  for (std::size_t i = 0; i < k && i < m; ++i) {
    const auto j = i + static_cast<std::size_t>(rng() % (m - i));
    std::swap(pool[i], pool[j]);
  }
  pool.resize(std::min(k, m));
  return pool;
}

inline mined_rows mine_negatives(std::span<const std::string> anchors, std::span<const std::string> positives,
                                 models::sentence_transformer& model, const mine_hard_negatives_options& o, bool triplets) {
  check_mining_options(o, anchors.size());
  if (o.include_positives && triplets)
    throw error("mine_hard_negatives: include_positives keeps the ranking order, which only n-tuple output holds "
                "(Python switches to it): call mine_hard_negatives<sbert::mined_n_tuples>");
  mined_rows out;

  // De-duplicate the candidates (the positives join them) and the anchors: a repeated anchor
  // is one query with several positives, none of which may be its negative.
  std::unordered_map<std::string, std::size_t> corpus_idx, query_idx;
  auto add = [](std::unordered_map<std::string, std::size_t>& idx, std::vector<std::string>& list, const std::string& t) {
    auto [it, fresh] = idx.emplace(t, list.size());
    if (fresh) list.push_back(t);
    return it->second;
  };
  for (const auto& t : o.corpus) add(corpus_idx, out.corpus, t);
  std::vector<std::vector<std::size_t>> positives_of;
  for (std::size_t i = 0; i < anchors.size(); ++i) {
    const auto p = add(corpus_idx, out.corpus, positives[i]);
    const auto q = add(query_idx, out.queries, anchors[i]);
    if (q == positives_of.size()) positives_of.emplace_back();
    positives_of[q].push_back(p);
  }
  const auto n_queries = out.queries.size();
  const auto n_corpus = out.corpus.size();
  std::size_t max_positives = 0;
  for (const auto& p : positives_of) max_positives = std::max(max_positives, p.size());

  const bool filtered = o.absolute_margin || o.relative_margin || o.max_score;
  const std::size_t range_max =
      o.range_max.value_or(o.range_min + (filtered ? 10 : 1) * o.num_negatives + max_positives);
  if (range_max < o.range_min || o.num_negatives > range_max - o.range_min)
    throw error("mine_hard_negatives: num_negatives " + std::to_string(o.num_negatives) +
                " is more than the candidates ranked between range_min " + std::to_string(o.range_min) +
                " and range_max " + std::to_string(range_max) + " can supply: lower num_negatives or widen the range");

  // Embeddings, unit length as Python asks encode for; the query / document prompts apply as
  // encode_query / encode_document apply them.
  auto enc = [&](std::span<const std::string> texts, const std::optional<std::string>& prompt,
                 const std::optional<std::string>& prompt_name, encode_role role) {
    const auto e = make_encode(o.batch_size, o.show_progress_bar, std::nullopt, prompt, prompt_name);
    return models::l2_normalize(encode_for_eval(model, texts, e, role)).to(model.device());
  };
  const auto corpus_emb = enc(out.corpus, o.corpus_prompt, o.corpus_prompt_name, encode_role::document);
  const auto query_emb = enc(out.queries, o.query_prompt, o.query_prompt_name, encode_role::query);

  // Each query's lowest positive score: the margins keep negatives below the hardest positive.
  std::vector<float> min_positive(n_queries, std::numeric_limits<float>::infinity());
  {
    std::vector<std::int64_t> qi, pi;
    for (std::size_t q = 0; q < n_queries; ++q)
      for (auto p : positives_of[q]) {
        qi.push_back(static_cast<std::int64_t>(q));
        pi.push_back(static_cast<std::int64_t>(p));
      }
    const auto n = static_cast<std::int64_t>(qi.size());
    const auto qt = at::from_blob(qi.data(), {n}, at::kLong).to(query_emb.device());
    const auto pt = at::from_blob(pi.data(), {n}, at::kLong).to(corpus_emb.device());
    const auto s = to_vector<float>(model.similarity_pairwise(query_emb.index_select(0, qt), corpus_emb.index_select(0, pt)));
    for (std::size_t r = 0; r < s.size(); ++r) {
      auto& m = min_positive[static_cast<std::size_t>(qi[r])];
      m = std::min(m, s[r]);
    }
  }

  // Per query: its chosen negatives (corpus index, score; -inf marks a slot with no valid one).
  std::vector<std::vector<std::pair<std::size_t, float>>> chosen(n_queries);
  mine_hard_negatives_report rep;
  std::mt19937_64 rng(o.seed);
  constexpr float ninf = -std::numeric_limits<float>::infinity();
  const auto k_pool = static_cast<std::int64_t>(std::min(range_max + max_positives, n_corpus));
  const auto k_window = static_cast<std::int64_t>(std::min(range_max, static_cast<std::size_t>(k_pool)));
  const auto chunk = o.search_batch_size;
  const auto nq = static_cast<std::int64_t>(n_queries);
  for (std::int64_t qs = 0; qs < nq; qs += chunk) {
    const auto qe = std::min(nq, qs + chunk);
    // Only [chunk, k_pool] survives this block: the chunk's score rows are dropped at once.
    auto [pool_scores, pool_indices] = at::topk(model.similarity(query_emb.narrow(0, qs, qe - qs), corpus_emb), k_pool, 1, true, true);
    auto sc = pool_scores.to(at::kCPU).contiguous();
    const auto ix = pool_indices.to(at::kCPU).contiguous();
    float* s = sc.data_ptr<float>();
    const std::int64_t* id = ix.data_ptr<std::int64_t>();
    for (std::int64_t r = 0; r < qe - qs; ++r) {
      const auto q = static_cast<std::size_t>(qs + r);
      const float pos = min_positive[q];
      float* row = s + r * k_pool;
      const std::int64_t* irow = id + r * k_pool;
      for (std::int64_t j = 0; j < k_pool; ++j) {
        float& v = row[j];
        const auto c = static_cast<std::size_t>(irow[j]);
        const auto& ps = positives_of[q];
        if (!o.include_positives && std::find(ps.begin(), ps.end(), c) != ps.end()) v = ninf;
        // Python's order of the filters, each counting what it removes among what is left.
        auto drop = [&](bool cond, std::size_t& counter) {
          if (v != ninf && cond) {
            v = ninf;
            ++counter;
          }
        };
        if (o.absolute_margin) drop(v + static_cast<float>(*o.absolute_margin) > pos, rep.skipped_absolute_margin);
        if (o.relative_margin) drop(v > pos * static_cast<float>(1.0 - *o.relative_margin), rep.skipped_relative_margin);
        if (o.max_score) drop(v > static_cast<float>(*o.max_score), rep.skipped_max_score);
        if (o.min_score) drop(v < static_cast<float>(*o.min_score), rep.skipped_min_score);
      }
      // The valid candidates, best first (a stable sort keeps top-k's order among ties), then
      // the window [range_min, range_max) of that ranking: dropped candidates sink below it.
      std::vector<std::int64_t> order(static_cast<std::size_t>(k_pool));
      std::iota(order.begin(), order.end(), std::int64_t{0});
      std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return row[a] > row[b]; });
      std::vector<std::pair<std::size_t, float>> window;
      for (auto j = static_cast<std::int64_t>(o.range_min); j < k_window; ++j) {
        const auto at = static_cast<std::size_t>(order[static_cast<std::size_t>(j)]);
        window.emplace_back(static_cast<std::size_t>(irow[at]), row[at]);
      }
      const auto k = std::min(o.num_negatives, window.size());
      auto& pick = chosen[q];
      if (o.sampling_strategy == negative_sampling::top) {
        pick.assign(window.begin(), window.begin() + static_cast<std::ptrdiff_t>(k));
      } else {
        // As Python: draw among the valid candidates when there are enough, else among the
        // first num_negatives slots (whose invalid ones are dropped below).
        const auto valid = static_cast<std::size_t>(
            std::count_if(window.begin(), window.end(), [&](const auto& w) { return w.second != ninf; }));
        for (auto i : sample_without_replacement(std::max(valid, k), k, rng)) pick.push_back(window[i]);
        std::stable_sort(pick.begin(), pick.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
      }
    }
  }

  // Rows in Python's order: queries by first occurrence, each with its positives in data order.
  for (std::size_t q = 0; q < n_queries; ++q)
    for (auto p : positives_of[q]) {
      const auto& pick = chosen[q];
      if (triplets) {
        rep.maximum_rows += o.num_negatives;
        for (const auto& [c, v] : pick)
          if (v != ninf) {
            out.query.push_back(q);
            out.positive.push_back(p);
            out.negatives.push_back({c});
          }
      } else {
        // A row needs all num_negatives negatives; one short of them is dropped, as in Python.
        rep.maximum_rows += 1;
        if (pick.size() < o.num_negatives || std::any_of(pick.begin(), pick.end(), [&](const auto& w) { return w.second == ninf; }))
          continue;
        out.query.push_back(q);
        out.positive.push_back(p);
        auto& negs = out.negatives.emplace_back();
        for (const auto& w : pick) negs.push_back(w.first);
      }
    }
  if (o.report) {
    rep.unique_queries = n_queries;
    rep.corpus_size = n_corpus;
    rep.range_max = range_max;
    rep.rows = out.query.size();
    *o.report = rep;
  }
  return out;
}

}  // namespace detail

/// util.mine_hard_negatives. `Out` picks the output: sbert::mined_triplets (default: one row
/// per negative, Python's "triplet"), sbert::mined_n_tuples (one row per pair with a list of
/// num_negatives negatives, Python's "n-tuple" with the negatives in one column), or a schema
/// of that shape with columns of your own. The anchor and positive columns keep their types.
///
/// A pair whose query has fewer valid negatives than num_negatives (the filters, range_min and
/// a small corpus can leave too few) gives as many triplets as it has negatives, and no row at
/// all as an n-tuple, as in Python. Rows follow the queries' first occurrence; a repeated
/// anchor is one query whose positives are all excluded from its negatives.
template <class Out = mined_triplets, class In>
[[nodiscard]] auto mine_hard_negatives(const dataset<In>& data, models::sentence_transformer& model,
                                       const mine_hard_negatives_options& o = {}) {
  check_mining_schemas<Out, In>();
  if constexpr (MiningSchemasFit<Out, In>) {
    using S = mined_schema_t<Out, In>;
    constexpr bool triplets = detail::column_at<S, 2>::kind == column_kind::text;
    const auto rows = detail::mine_negatives(detail::input_column<0>(data), detail::input_column<1>(data), model, o, triplets);
    dataset<S> out;
    out.reserve(rows.query.size());
    for (std::size_t r = 0; r < rows.query.size(); ++r) {
      const auto& negs = rows.negatives[r];
      if constexpr (triplets) {
        out.push_back(rows.queries[rows.query[r]], rows.corpus[rows.positive[r]], rows.corpus[negs.front()]);
      } else {
        std::vector<std::string> texts;
        texts.reserve(negs.size());
        for (auto c : negs) texts.push_back(rows.corpus[c]);
        out.push_back(rows.queries[rows.query[r]], rows.corpus[rows.positive[r]], std::move(texts));
      }
    }
    out.set_source(data.source());
    return out;
  } else {
    return 0;  // only the static_asserts above matter
  }
}

}  // namespace sbert
