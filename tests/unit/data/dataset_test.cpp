#include "catch.hpp"

#include <sbert/data/dataset.hpp>
#include <sbert/data/dataset_dict.hpp>

#include <numeric>
#include <set>

namespace {
struct a : sbert::text_column<"anchor"> {};
struct p : sbert::text_column<"positive"> {};
struct q : sbert::text_column<"query"> {};
struct sc : sbert::score_column<"score"> {};
using S = sbert::schema<a, p, sc>;

sbert::dataset<S> make(std::size_t n) {
  std::vector<std::string> as, ps;
  std::vector<float> ss;
  for (std::size_t i = 0; i < n; ++i) {
    as.push_back("a" + std::to_string(i));
    ps.push_back("p" + std::to_string(i));
    ss.push_back(static_cast<float>(i) / 10.f);
  }
  return sbert::dataset<S>::from_columns(std::move(as), std::move(ps), std::move(ss));
}
}  // namespace

TEST_CASE("dataset: from_columns, row access and push_back") {
  auto d = make(5);
  REQUIRE(d.size() == 5);
  CHECK(d[3].get<a>() == "a3");
  CHECK(d[3].get<sc>() == Approx(0.3f));
  d.push_back(std::string("x"), std::string("y"), 9.f);
  CHECK(d.size() == 6);
  CHECK(d.column<p>().back() == "y");
  CHECK_THROWS_WITH(d.at(6), Catch::Contains("out of range"));
}

TEST_CASE("dataset: columns of different lengths are rejected, naming the column") {
  CHECK_THROWS_WITH((sbert::dataset<S>::from_columns(std::vector<std::string>{"x", "y"}, std::vector<std::string>{"z"},
                                                     std::vector<float>{1, 2})),
                    Catch::Contains("column 'positive' has 1 rows"));
}

TEST_CASE("dataset: select, take and ranges") {
  auto d = make(10);
  std::vector<std::size_t> idx{7, 2, 2};
  auto s = d.select(idx);
  REQUIRE(s.size() == 3);
  CHECK(s[0].get<a>() == "a7");
  CHECK(s[2].get<p>() == "p2");
  CHECK(d.select_range(8, 100).size() == 2);
  CHECK(d.take(4)[3].get<a>() == "a3");
  CHECK_THROWS(d.select({11}));
}

TEST_CASE("dataset: seeded shuffle is a permutation that depends on the seed only") {
  auto d = make(100);
  auto s1 = d.shuffle(42), s2 = d.shuffle(42), s3 = d.shuffle(43);
  CHECK(s1.column<a>() == s2.column<a>());
  CHECK(s1.column<a>() != s3.column<a>());
  CHECK(s1.column<a>() != d.column<a>());
  std::set<std::string> seen(s1.column<a>().begin(), s1.column<a>().end());
  CHECK(seen.size() == 100);
  // rows stay intact
  for (std::size_t i = 0; i < s1.size(); ++i) CHECK(s1[i].get<a>().substr(1) == s1[i].get<p>().substr(1));
}

TEST_CASE("dataset: train_test_split sizes follow Hugging Face (test = ceil(fraction * n))") {
  auto d = make(10);
  auto [train, test] = d.train_test_split(0.25, 1);
  CHECK(test.size() == 3);
  CHECK(train.size() == 7);
  std::set<std::string> all(train.column<a>().begin(), train.column<a>().end());
  all.insert(test.column<a>().begin(), test.column<a>().end());
  CHECK(all.size() == 10);
  auto [tr2, te2] = d.train_test_split(4, 1, false);
  CHECK(te2.size() == 4);
  CHECK(te2[0].get<a>() == "a6");
  CHECK_THROWS_WITH(d.train_test_split(0.0), Catch::Contains("empty split"));
  CHECK_THROWS(d.train_test_split(10));
}

TEST_CASE("dataset: filter, map, map_column, concatenate") {
  auto d = make(10);
  auto f = d.filter([](auto r) { return r.template get<sc>() >= 0.5f; });
  CHECK(f.size() == 5);
  CHECK(f[0].get<a>() == "a5");
  using T = sbert::schema<q, p>;
  auto m = d.map<T>([](auto r) { return std::tuple{"query: " + r.template get<a>(), r.template get<p>()}; });
  CHECK(m[1].get<q>() == "query: a1");
  auto mc = d.map_column<sc>([](float x) { return x * 2; });
  CHECK(mc[3].get<sc>() == Approx(0.6f));
  auto c = sbert::concatenate(d.take(2), d.select_range(8, 10));
  REQUIRE(c.size() == 4);
  CHECK(c[2].get<a>() == "a8");
}

TEST_CASE("dataset: column operations change the schema type") {
  auto d = make(3);
  auto r = d.select_columns<sc, p>();
  static_assert(std::is_same_v<decltype(r)::schema_type, sbert::schema<sc, p>>);
  CHECK(r[1].get<p>() == "p1");
  auto rm = d.remove_columns<sc>();
  static_assert(std::is_same_v<decltype(rm)::schema_type, sbert::schema<a, p>>);
  CHECK(rm[2].get<a>() == "a2");
  auto rn = d.rename_column<a, q>();
  static_assert(std::is_same_v<decltype(rn)::schema_type, sbert::schema<q, p, sc>>);
  CHECK(rn[0].get<q>() == "a0");
  struct extra : sbert::class_column<"extra"> {};
  auto ad = rm.add_column<extra>({1, 2, 3});
  CHECK(ad[2].get<extra>() == 3);
  CHECK_THROWS_WITH(rm.add_column<extra>({1}), Catch::Contains("1 values for 3 rows"));
}

TEST_CASE("split_spec: Hugging Face slicing") {
  using sbert::split_spec;
  auto s = split_spec::parse("train[:10000]");
  CHECK(s.name == "train");
  CHECK(s.resolve(50000) == std::pair<std::size_t, std::size_t>{0, 10000});
  CHECK(split_spec::parse("train[10%:20%]").resolve(1000) == std::pair<std::size_t, std::size_t>{100, 200});
  CHECK(split_spec::parse("train[-500:]").resolve(1000) == std::pair<std::size_t, std::size_t>{500, 1000});
  CHECK(split_spec::parse("train[:50%]").resolve(5) == std::pair<std::size_t, std::size_t>{0, 2});  // round(2.5) = 2
  CHECK(split_spec::parse("train[:30%]").resolve(5) == std::pair<std::size_t, std::size_t>{0, 2});  // round(1.5) = 2
  CHECK(split_spec::parse("dev").resolve(7) == std::pair<std::size_t, std::size_t>{0, 7});
  CHECK_THROWS_WITH(split_spec::parse("train[1:x]"), Catch::Contains("'x' is not an integer"));
  CHECK_THROWS_WITH(split_spec::parse("train[10%:20]"), Catch::Contains("mixing"));
  CHECK_THROWS_WITH(split_spec::parse("train[:5"), Catch::Contains("']'"));
}

TEST_CASE("dataset_dict: named splits and sliced access") {
  sbert::dataset_dict<S> dd{{"train", make(100)}, {"dev", make(10)}};
  CHECK(dd["train[:10]"].size() == 10);
  CHECK(dd["train[90%:]"][0].get<a>() == "a90");
  CHECK(dd["dev"].size() == 10);
  CHECK_THROWS_WITH(dd["test"], Catch::Contains("no split named 'test'") && Catch::Contains("dev, train"));
}
