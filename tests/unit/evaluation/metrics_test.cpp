// The evaluators' host-side math, torch-free: correlations on the STSb dev Jaccard baseline
// (shared/data/stsbenchmark/reference: 1444 of 1500 predictions tied), sklearn's AP / NDCG /
// MCC on their documented examples and hand-worked cases, the threshold sweeps, CSV quoting.
#include <cmath>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <sbert/data.hpp>
#include <sbert/evaluation/detail/metrics.hpp>

#include "catch.hpp"

namespace {
struct s1 : sbert::text_column<"sentence1"> {};
struct s2 : sbert::text_column<"sentence2"> {};
struct score : sbert::score_column<"score"> {};
using sts = sbert::schema<s1, s2, score>;

std::set<std::string> tokens(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::regex word("[a-z0-9]+");
  std::set<std::string> out;
  for (std::sregex_iterator it(s.begin(), s.end(), word), end; it != end; ++it) out.insert(it->str());
  return out;
}
double jaccard(const std::string& a, const std::string& b) {
  const auto x = tokens(a), y = tokens(b);
  std::size_t common = 0;
  for (const auto& t : x) common += y.count(t);
  const auto uni = x.size() + y.size() - common;
  return uni == 0 ? 0.0 : static_cast<double>(common) / static_cast<double>(uni);
}
}  // namespace

TEST_CASE("Pearson and Spearman reproduce the STSb dev Jaccard baseline", "[evaluation][metrics]") {
  const auto shared = sbert::test::shared_dir() + "/data/stsbenchmark";
  std::ifstream f(shared + "/reference/stsb_dev_jaccard_baseline.tsv");
  REQUIRE(f);
  std::string line;
  std::getline(f, line);
  CHECK(line == "index\tgold_score\tjaccard");
  std::vector<double> gold, pred;
  while (std::getline(f, line)) {
    std::istringstream row(line);
    std::string idx, g, j;
    std::getline(row, idx, '\t');
    std::getline(row, g, '\t');
    std::getline(row, j, '\t');
    gold.push_back(std::stod(g));
    pred.push_back(std::stod(j));
  }
  REQUIRE(gold.size() == 1500);
  // The published metrics have 12 decimals.
  CHECK(std::abs(sbert::detail::pearson(gold, pred) - 0.649829654231) < 1e-11);
  CHECK(std::abs(sbert::detail::spearman(gold, pred) - 0.653123519085) < 1e-11);
  // Ties matter: ordinal ranks (ties broken by position) give a different Spearman.
  std::vector<double> ordinal(pred.size());
  {
    std::vector<std::size_t> order(pred.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return pred[a] < pred[b]; });
    for (std::size_t r = 0; r < order.size(); ++r) ordinal[order[r]] = static_cast<double>(r);
  }
  CHECK(std::abs(sbert::detail::pearson(sbert::detail::average_ranks(gold), ordinal) - 0.653123519085) > 1e-4);

  // The same predictions from the raw dev file: the whole baseline, not just its correlations.
  sbert::read_options o;
  o.header = false;
  o.positions = {{"score", 4}, {"sentence1", 5}, {"sentence2", 6}};
  o.extra_fields = sbert::extra_fields::ignore;
  const auto dev = sbert::read_tsv<sts>(shared + "/sts-dev.csv", o);
  REQUIRE(dev.size() == 1500);
  std::vector<double> mine, dev_gold;
  for (std::size_t i = 0; i < dev.size(); ++i) {
    mine.push_back(jaccard(dev[i].get<s1>(), dev[i].get<s2>()));
    dev_gold.push_back(dev[i].get<score>());
  }
  for (std::size_t i = 0; i < mine.size(); ++i) REQUIRE(std::abs(mine[i] - pred[i]) < 1e-15);
  CHECK(std::abs(sbert::detail::spearman(dev_gold, mine) - 0.653123519085) < 1e-6);  // gold as float32 here
}

TEST_CASE("average ranks, pearson edge cases", "[evaluation][metrics]") {
  CHECK(sbert::detail::average_ranks(std::vector<double>{10, 20, 10, 30}) == std::vector<double>{1.5, 3, 1.5, 4});
  CHECK(sbert::detail::average_ranks(std::vector<double>{5, 5, 5}) == std::vector<double>{2, 2, 2});
  CHECK(std::isnan(sbert::detail::pearson(std::vector<double>{1, 1, 1}, std::vector<double>{1, 2, 3})));
  CHECK(sbert::detail::pearson(std::vector<double>{1, 2, 3}, std::vector<double>{2, 4, 6}) == Approx(1.0));
  CHECK(sbert::detail::spearman(std::vector<double>{1, 2, 3, 4}, std::vector<double>{1, 8, 27, 64}) == Approx(1.0));
  CHECK_THROWS(sbert::detail::pearson(std::vector<double>{1, 2}, std::vector<double>{1}));
}

TEST_CASE("average precision, NDCG and MCC as sklearn computes them", "[evaluation][metrics]") {
  using sbert::detail::average_precision;
  // sklearn's docstring example.
  CHECK(average_precision(std::vector<int>{0, 0, 1, 1}, std::vector<double>{0.1, 0.4, 0.35, 0.8}) == Approx(0.8333333333333333).margin(1e-15));
  // Ties form one step: {0,1} at 0.5 (P 1/2, R 1/2), then {2} (P 2/3, R 1).
  CHECK(average_precision(std::vector<int>{1, 0, 1}, std::vector<double>{0.5, 0.5, 0.1}) == Approx(0.25 + 0.5 * 2.0 / 3.0).margin(1e-15));
  CHECK(average_precision(std::vector<int>{0, 0}, std::vector<double>{0.5, 0.1}) == 0.0);

  using sbert::detail::ndcg_at_k;
  const std::vector<double> rel{10, 0, 0, 1, 5};
  const double idcg = 10 + 5 / std::log2(3.0) + 1 / std::log2(4.0) + 0 + 0;
  CHECK(ndcg_at_k(rel, std::vector<double>{.1, .2, .3, 4, 70}, 5) ==
        Approx((5 + 1 / std::log2(3.0) + 10 / std::log2(6.0)) / idcg).margin(1e-12));
  CHECK(ndcg_at_k(rel, rel, 4) == Approx(1.0));
  // sklearn's docstring: tied top scores share their gains, (10/10 + 5/10) / 2 = 0.75 at k=1.
  CHECK(ndcg_at_k(rel, std::vector<double>{1, 0, 0, 0, 1}, 1) == Approx(0.75).margin(1e-12));
  CHECK(ndcg_at_k(std::vector<double>{0, 0}, std::vector<double>{1, 2}, 2) == 0.0);

  // sklearn's docstring: y_true [+1, +1, +1, -1], y_pred [+1, -1, +1, +1] -> -0.333...
  CHECK(sbert::detail::matthews_corrcoef(std::vector<int>{1, 1, 1, 0}, std::vector<int>{1, 0, 1, 1}) == Approx(-1.0 / 3.0).margin(1e-15));
  CHECK(sbert::detail::matthews_corrcoef(std::vector<int>{1, 0}, std::vector<int>{1, 1}) == 0.0);
}

TEST_CASE("threshold sweeps keep the first best cut and its float32 midpoint", "[evaluation][metrics]") {
  const std::vector<float> s{0.9f, 0.8f, 0.7f, 0.6f};
  const std::vector<int> y{1, 0, 1, 0};
  const auto acc = sbert::detail::best_accuracy_threshold(s, y, true);
  CHECK(acc.accuracy == 0.75);
  CHECK(acc.threshold == static_cast<double>((0.9f + 0.8f) / 2.0f));
  const auto f1 = sbert::detail::best_f1_threshold(s, y, true);
  CHECK(f1.f1 == Approx(0.8).margin(1e-15));
  CHECK(f1.precision == Approx(2.0 / 3.0).margin(1e-15));
  CHECK(f1.recall == 1.0);
  CHECK(f1.threshold == static_cast<double>((0.7f + 0.6f) / 2.0f));
  // Distances: lower is better, so the same order comes from the reversed values.
  const std::vector<float> d{0.1f, 0.2f, 0.3f, 0.4f};
  CHECK(sbert::detail::best_f1_threshold(d, y, false).f1 == Approx(0.8).margin(1e-15));
  CHECK(sbert::detail::best_accuracy_threshold(d, y, false).threshold == static_cast<double>((0.1f + 0.2f) / 2.0f));
}

TEST_CASE("CSV fields and numbers as Python's csv module writes them", "[evaluation][csv]") {
  CHECK(sbert::detail::csv_field("plain") == "plain");
  CHECK(sbert::detail::csv_field("a,b") == "\"a,b\"");
  CHECK(sbert::detail::csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(sbert::detail::csv_number(0.5) == "0.5");
  CHECK(sbert::detail::csv_number(1e-5) == "1e-05");
  CHECK(sbert::detail::csv_number(-1) == "-1");
  CHECK(sbert::detail::csv_number(std::nan("")) == "nan");
  CHECK(sbert::detail::csv_number(0.1 + 0.2) == "0.30000000000000004");
}
