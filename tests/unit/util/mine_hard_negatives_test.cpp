// mine_hard_negatives against a brute-force oracle written here from Python's semantics: the
// full query x corpus score matrix in double precision (plain loops over the embeddings), the
// candidates sorted, filtered and windowed row by row. The tiny model is random but
// deterministic, on SciFact (queries with their relevant documents, several positives for some
// queries) and NLI pairs. A query whose candidates sit within float noise of a cut (two scores
// tied, or a score on a margin) may legitimately differ; those are counted and must stay rare.
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <sbert/data.hpp>
#include <sbert/util/mine_hard_negatives.hpp>

#undef CHECK
#include "catch.hpp"

namespace {
using sbert::models::sentence_transformer;
using sbert::columns::anchor;
using sbert::columns::negative;
using sbert::columns::negatives;
using sbert::columns::positive;
using pairs = sbert::dataset<sbert::schema<anchor, positive>>;

std::shared_ptr<sentence_transformer> model() {
  static auto m = [] {
    auto x = sentence_transformer::load(sbert::test::reference_dir() + "/tiny-bert-st", c10::Device(c10::kCPU));
    return x;
  }();
  return m;
}

std::string data(const std::string& rel) { return sbert::test::shared_dir() + "/data/" + rel; }

// SciFact train qrels as (query, title + " " + text) pairs, and the first corpus documents as
// extra candidates.
struct scifact {
  pairs rows;
  std::vector<std::string> corpus;
};
const scifact& scifact_data() {
  static const scifact s = [] {
    const auto beir = sbert::read_beir(data("scifact"), "train");
    std::unordered_map<std::string, std::string> doc(beir.corpus.begin(), beir.corpus.end());
    scifact out;
    // queries in file order, each with its relevant documents (title + " " + text)
    for (const auto& [qid, query] : beir.queries) {
      const auto rel = beir.relevant.find(qid);
      if (rel == beir.relevant.end()) continue;
      for (const auto& cid : rel->second)
        if (out.rows.size() < 120 && doc.count(cid)) out.rows.push_back(query, doc[cid]);
    }
    for (std::size_t i = 0; i < 200; ++i) out.corpus.push_back(beir.corpus[i].second);
    return out;
  }();
  return s;
}

// The first distinct NLI (anchor, positive) pairs; some premises repeat.
const pairs& nli_pairs() {
  static const pairs p = [] {
    struct source : sbert::text_column<"source"> {};
    // The file repeats a pair with each of its negatives: keep each pair once.
    const auto all = sbert::read_tsv<sbert::schema<source, anchor, positive, negative>>(data("nli/nli_dev_triplets.tsv"))
                         .select_columns<anchor, positive>();
    std::set<std::pair<std::string, std::string>> seen;
    return all.filter([&](const auto& r) { return seen.emplace(r.template get<anchor>(), r.template get<positive>()).second; })
        .take(150);
  }();
  return p;
}

// ---- the oracle ------------------------------------------------------------------------------
struct expected_query {
  std::vector<std::string> window;  // valid candidates in ranks [range_min, range_max), best first
  std::map<std::string, double> score;
  bool ambiguous = false;
};

struct oracle {
  std::vector<std::string> queries, corpus;
  std::vector<std::vector<std::size_t>> positives_of;
  std::vector<std::vector<double>> sim;  // [query][corpus]
  std::size_t max_positives = 0;

  oracle(const pairs& d, const std::vector<std::string>& extra) {
    std::map<std::string, std::size_t> ci, qi;
    auto add = [](std::map<std::string, std::size_t>& m, std::vector<std::string>& v, const std::string& t) {
      if (!m.count(t)) {
        m[t] = v.size();
        v.push_back(t);
      }
      return m[t];
    };
    for (const auto& t : extra) add(ci, corpus, t);
    for (std::size_t i = 0; i < d.size(); ++i) {
      const auto p = add(ci, corpus, d[i].get<positive>());
      const auto q = add(qi, queries, d[i].get<anchor>());
      if (q == positives_of.size()) positives_of.emplace_back();
      positives_of[q].push_back(p);
    }
    for (const auto& p : positives_of) max_positives = std::max(max_positives, p.size());
    sbert::models::encode_options eo;
    eo.normalize_embeddings = true;
    const auto qe = model()->encode(queries, eo).contiguous();
    const auto ce = model()->encode(corpus, eo).contiguous();
    const auto dim = qe.size(1);
    const float* qp = qe.data_ptr<float>();
    const float* cp = ce.data_ptr<float>();
    sim.assign(queries.size(), std::vector<double>(corpus.size()));
    for (std::size_t q = 0; q < queries.size(); ++q)
      for (std::size_t c = 0; c < corpus.size(); ++c) {
        double s = 0;
        for (std::int64_t k = 0; k < dim; ++k) s += double(qp[q * dim + k]) * double(cp[c * dim + k]);
        sim[q][c] = s;
      }
  }

  [[nodiscard]] std::size_t range_max(const sbert::mine_hard_negatives_options& o) const {
    const bool f = o.absolute_margin || o.relative_margin || o.max_score;
    return o.range_max.value_or(o.range_min + (f ? 10 : 1) * o.num_negatives + max_positives);
  }

  [[nodiscard]] expected_query expect(std::size_t q, const sbert::mine_hard_negatives_options& o) const {
    constexpr double eps = 2e-6;
    expected_query e;
    const auto& s = sim[q];
    std::vector<std::size_t> order(corpus.size());
    for (std::size_t c = 0; c < order.size(); ++c) order[c] = c;
    std::sort(order.begin(), order.end(), [&](auto a, auto b) { return s[a] > s[b]; });
    const auto rmax = range_max(o);
    const auto k_pool = std::min(rmax + max_positives, corpus.size());
    if (k_pool < corpus.size() && std::abs(s[order[k_pool - 1]] - s[order[k_pool]]) < eps) e.ambiguous = true;
    double min_pos = 1e9;
    for (auto p : positives_of[q]) min_pos = std::min(min_pos, s[p]);
    std::vector<double> thresholds;
    if (o.absolute_margin) thresholds.push_back(min_pos - *o.absolute_margin);
    if (o.relative_margin) thresholds.push_back(min_pos * (1 - *o.relative_margin));
    if (o.max_score) thresholds.push_back(*o.max_score);
    if (o.min_score) thresholds.push_back(*o.min_score);
    std::vector<std::size_t> valid;
    for (std::size_t r = 0; r < k_pool; ++r) {
      const auto c = order[r];
      const double v = s[c];
      const auto& ps = positives_of[q];
      if (!o.include_positives && std::find(ps.begin(), ps.end(), c) != ps.end()) continue;
      for (double t : thresholds)
        if (std::abs(v - t) < eps) e.ambiguous = true;
      if (o.absolute_margin && v + *o.absolute_margin > min_pos) continue;
      if (o.relative_margin && v > min_pos * (1 - *o.relative_margin)) continue;
      if (o.max_score && v > *o.max_score) continue;
      if (o.min_score && v < *o.min_score) continue;
      valid.push_back(c);
    }
    // Ties matter where they decide membership or order: among the first num_negatives of the
    // window and at its two ends.
    for (std::size_t i = std::max<std::size_t>(1, o.range_min); i < valid.size(); ++i)
      if ((i <= o.range_min + o.num_negatives || i == std::min(rmax, k_pool)) && std::abs(s[valid[i - 1]] - s[valid[i]]) < eps)
        e.ambiguous = true;
    for (std::size_t r = o.range_min; r < std::min({rmax, k_pool, valid.size()}); ++r) e.window.push_back(corpus[valid[r]]);
    for (std::size_t c = 0; c < corpus.size(); ++c) e.score[corpus[c]] = s[c];
    return e;
  }
};

// The output as (anchor, positive) -> negatives, in row order; also checks the row order.
struct mined_row {
  std::string anchor, positive;
  std::vector<std::string> negatives;
};
template <class S>
std::vector<mined_row> group(const sbert::dataset<S>& d) {
  std::vector<mined_row> out;
  for (std::size_t i = 0; i < d.size(); ++i) {
    const auto& a = d[i].template get<anchor>();
    const auto& p = d[i].template get<positive>();
    if constexpr (S::template contains<negative>) {
      if (out.empty() || out.back().anchor != a || out.back().positive != p) out.push_back({a, p, {}});
      out.back().negatives.push_back(d[i].template get<negative>());
    } else {
      out.push_back({a, p, d[i].template get<negatives>()});
    }
  }
  return out;
}

// Compares mined rows with the oracle for `top` sampling; returns the ambiguous query count.
std::size_t check_top(const oracle& orc, const std::vector<mined_row>& got, const sbert::mine_hard_negatives_options& o,
                      bool triplets) {
  std::size_t row = 0, ambiguous = 0;
  for (std::size_t q = 0; q < orc.queries.size(); ++q) {
    const auto e = orc.expect(q, o);
    ambiguous += e.ambiguous;
    std::vector<std::string> want(e.window.begin(), e.window.begin() + std::min(o.num_negatives, e.window.size()));
    const bool present = triplets ? !want.empty() : want.size() == o.num_negatives;
    for (auto p : orc.positives_of[q]) {
      if (e.ambiguous) {
        while (row < got.size() && got[row].anchor == orc.queries[q]) ++row;
        break;
      }
      if (!present) continue;
      INFO("query " << q << ": " << orc.queries[q]);
      REQUIRE(row < got.size());
      CHECK(got[row].anchor == orc.queries[q]);
      CHECK(got[row].positive == orc.corpus[p]);
      CHECK(got[row].negatives == want);
      ++row;
    }
  }
  CHECK(row == got.size());
  return ambiguous;
}

void check_never_positive(const oracle& orc, const std::vector<mined_row>& got) {
  std::map<std::string, std::set<std::string>> pos;
  for (std::size_t q = 0; q < orc.queries.size(); ++q)
    for (auto p : orc.positives_of[q]) pos[orc.queries[q]].insert(orc.corpus[p]);
  for (const auto& r : got)
    for (const auto& n : r.negatives) {
      INFO(r.anchor);
      CHECK_FALSE(pos.at(r.anchor).count(n));
    }
}
}  // namespace

TEST_CASE("mine_hard_negatives: SciFact triplets and n-tuples are the oracle's top candidates") {
  const auto& sf = scifact_data();
  REQUIRE(sf.rows.size() == 120);
  const oracle orc(sf.rows, sf.corpus);
  REQUIRE(orc.max_positives > 1);  // several relevant documents for some queries

  sbert::mine_hard_negatives_options o;
  o.corpus = sf.corpus;
  sbert::mine_hard_negatives_report rep;
  o.report = &rep;
  const auto tri = sbert::mine_hard_negatives(sf.rows, *model(), o);
  static_assert(std::is_same_v<std::decay_t<decltype(tri)>, sbert::dataset<sbert::schema<anchor, positive, negative>>>);
  CHECK(rep.unique_queries == orc.queries.size());
  CHECK(rep.corpus_size == orc.corpus.size());
  CHECK(rep.range_max == 3 + orc.max_positives);
  CHECK(rep.rows == tri.size());
  CHECK(tri.size() == 3 * sf.rows.size());  // a 300-text corpus always has three negatives
  const auto got = group(tri);
  CHECK(check_top(orc, got, o, true) <= orc.queries.size() / 10);
  check_never_positive(orc, got);

  // n-tuples with a window: ranks 2..11 of the valid candidates, four of them.
  o.range_min = 2;
  o.range_max = 12;
  o.num_negatives = 4;
  const auto tup = sbert::mine_hard_negatives<sbert::mined_n_tuples>(sf.rows, *model(), o);
  CHECK(tup.size() == sf.rows.size());
  const auto got_t = group(tup);
  CHECK(check_top(orc, got_t, o, false) <= orc.queries.size() / 10);
  check_never_positive(orc, got_t);

  // The search in chunks of 7 queries gives the same rows as one chunk.
  auto small = o;
  small.search_batch_size = 7;
  const auto tup7 = sbert::mine_hard_negatives<sbert::mined_n_tuples>(sf.rows, *model(), small);
  CHECK(tup7.column<negatives>() == tup.column<negatives>());
}

TEST_CASE("mine_hard_negatives: margins and score bounds drop exactly the oracle's candidates") {
  const auto& d = nli_pairs();
  const oracle orc(d, {});
  // Bounds from the data, so that each filter removes some candidates and keeps others.
  std::vector<double> all;
  for (const auto& row : orc.sim) all.insert(all.end(), row.begin(), row.end());
  std::sort(all.begin(), all.end());
  const double q90 = all[all.size() * 9 / 10], q85 = all[all.size() * 85 / 100];
  // The relative margin that keeps about half of each query's candidates below its positive.
  std::vector<double> ratio;
  for (std::size_t q = 0; q < orc.queries.size(); ++q) {
    double min_pos = 1e9;
    for (auto p : orc.positives_of[q]) min_pos = std::min(min_pos, orc.sim[q][p]);
    for (double v : orc.sim[q]) ratio.push_back(1 - v / min_pos);
  }
  std::sort(ratio.begin(), ratio.end());
  const double half = ratio[ratio.size() / 2];

  struct variant {
    const char* name;
    sbert::mine_hard_negatives_options o;
    std::size_t sbert::mine_hard_negatives_report::*counter;
  };
  std::vector<variant> vs(4);
  vs[0] = {"absolute_margin", {}, &sbert::mine_hard_negatives_report::skipped_absolute_margin};
  vs[0].o.absolute_margin = 0.0;
  vs[1] = {"relative_margin", {}, &sbert::mine_hard_negatives_report::skipped_relative_margin};
  vs[1].o.relative_margin = half;
  vs[2] = {"max_score", {}, &sbert::mine_hard_negatives_report::skipped_max_score};
  vs[2].o.max_score = q90;
  vs[3] = {"min_score", {}, &sbert::mine_hard_negatives_report::skipped_min_score};
  vs[3].o.min_score = q85;  // inside the 40 best of ~150 candidates
  vs[3].o.range_max = 40;
  for (auto& v : vs) {
    INFO(v.name);
    sbert::mine_hard_negatives_report rep;
    v.o.report = &rep;
    v.o.num_negatives = 2;
    const auto tri = sbert::mine_hard_negatives(d, *model(), v.o);
    CHECK(rep.*v.counter > 0);
    CHECK(tri.size() > 0);
    const auto got = group(tri);
    CHECK(check_top(orc, got, v.o, true) <= orc.queries.size() / 10);
    check_never_positive(orc, got);
  }
}

TEST_CASE("mine_hard_negatives: random sampling draws from the window, seeded") {
  const auto& d = nli_pairs();
  const oracle orc(d, {});
  sbert::mine_hard_negatives_options o;
  o.sampling_strategy = sbert::negative_sampling::random;
  o.range_min = 1;
  o.range_max = 20;
  o.num_negatives = 3;
  const auto a = sbert::mine_hard_negatives(d, *model(), o);
  const auto b = sbert::mine_hard_negatives(d, *model(), o);
  CHECK(a.column<negative>() == b.column<negative>());
  auto o2 = o;
  o2.seed = 7;
  CHECK(sbert::mine_hard_negatives(d, *model(), o2).column<negative>() != a.column<negative>());
  auto top = o;
  top.sampling_strategy = sbert::negative_sampling::top;
  CHECK(sbert::mine_hard_negatives(d, *model(), top).column<negative>() != a.column<negative>());

  const auto got = group(a);
  check_never_positive(orc, got);
  std::map<std::string, std::size_t> qi;
  for (std::size_t q = 0; q < orc.queries.size(); ++q) qi[orc.queries[q]] = q;
  std::size_t rows = 0, ambiguous = 0;
  for (const auto& r : got) {
    const auto e = orc.expect(qi.at(r.anchor), o);
    if (e.ambiguous) {
      ++ambiguous;
      continue;
    }
    ++rows;
    INFO(r.anchor);
    CHECK(r.negatives.size() == std::min(o.num_negatives, e.window.size()));
    const std::set<std::string> window(e.window.begin(), e.window.end()), drawn(r.negatives.begin(), r.negatives.end());
    CHECK(drawn.size() == r.negatives.size());
    for (const auto& n : r.negatives) CHECK(window.count(n));
    for (std::size_t i = 1; i < r.negatives.size(); ++i) CHECK(e.score.at(r.negatives[i - 1]) >= e.score.at(r.negatives[i]) - 1e-6);
  }
  CHECK(ambiguous <= got.size() / 10);
  CHECK(rows > 0);
}

TEST_CASE("mine_hard_negatives: include_positives, duplicate candidates, a schema of your own") {
  const auto& d = nli_pairs();
  const oracle orc(d, {});
  sbert::mine_hard_negatives_options o;
  o.include_positives = true;
  o.num_negatives = 4;
  const auto tup = sbert::mine_hard_negatives<sbert::mined_n_tuples>(d, *model(), o);
  const auto got = group(tup);
  CHECK(check_top(orc, got, o, false) <= orc.queries.size() / 10);
  std::size_t with_positive = 0;
  for (const auto& r : got) with_positive += std::count(r.negatives.begin(), r.negatives.end(), r.positive) > 0;
  CHECK(with_positive > 0);
  CHECK_THROWS_WITH(sbert::mine_hard_negatives(d, *model(), o), Catch::Contains("include_positives"));

  // Every positive repeated in the corpus: still never a negative of its own anchor.
  sbert::mine_hard_negatives_options dup;
  for (std::size_t i = 0; i < d.size(); ++i) dup.corpus.insert(dup.corpus.end(), 2, d[i].get<positive>());
  dup.num_negatives = 5;
  check_never_positive(orc, group(sbert::mine_hard_negatives(d, *model(), dup)));

  struct query : sbert::text_column<"query"> {};
  struct answer : sbert::text_column<"answer"> {};
  struct hard : sbert::text_list_column<"hard_negatives"> {};
  const auto mine = d.rename_column<anchor, query>().rename_column<positive, answer>();
  const auto own = sbert::mine_hard_negatives<sbert::schema<query, answer, hard>>(mine, *model());
  const auto ref = sbert::mine_hard_negatives<sbert::mined_n_tuples>(d, *model());
  CHECK(own.column<hard>() == ref.column<negatives>());
  CHECK(own.column<query>() == ref.column<anchor>());
}

TEST_CASE("mine_hard_negatives: bad options are sbert errors that name the option") {
  const auto d = nli_pairs().take(10);
  auto fails = [&](sbert::mine_hard_negatives_options o, const std::string& what) {
    INFO(what);
    CHECK_THROWS_AS(sbert::mine_hard_negatives(d, *model(), o), sbert::error);
    CHECK_THROWS_WITH(sbert::mine_hard_negatives(d, *model(), o), Catch::Contains(what));
  };
  sbert::mine_hard_negatives_options o;
  o.num_negatives = 10;
  o.range_max = 3;
  fails(o, "num_negatives 10");
  o = {};
  o.range_min = 5;
  o.range_max = 7;
  fails(o, "range_min 5");
  o = {};
  o.num_negatives = 0;
  fails(o, "num_negatives");
  o = {};
  o.relative_margin = 1.5;
  fails(o, "relative_margin");
  o = {};
  o.min_score = 0.9;
  o.max_score = 0.1;
  fails(o, "min_score");
  o = {};
  o.batch_size = 0;
  fails(o, "batch_size");
  o = {};
  o.search_batch_size = -1;
  fails(o, "search_batch_size");
  CHECK_THROWS_WITH(sbert::mine_hard_negatives(pairs{}, *model()), Catch::Contains("empty"));
  // A window exactly num_negatives wide is valid.
  o = {};
  o.range_min = 2;
  o.range_max = 5;
  CHECK(sbert::mine_hard_negatives(d, *model(), o).size() == 30);
}
