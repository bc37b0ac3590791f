// Batch samplers: Python's semantics (sections 4 of the behaviour reference), seeded and
// platform-independent. Includes the Python library's own sampler test scenarios.
#include "catch.hpp"

#include <sbert/distributed/sampler.hpp>
#include <sbert/samplers/group_by_label.hpp>
#include <sbert/samplers/group_by_length.hpp>
#include <sbert/samplers/no_duplicates.hpp>
#include <sbert/samplers/sampler.hpp>
#include <sbert/training/arguments.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <set>

namespace {
struct a : sbert::text_column<"anchor"> {};
struct p : sbert::text_column<"positive"> {};
struct lab : sbert::class_column<"label"> {};
struct negs : sbert::text_list_column<"negatives"> {};

std::multiset<std::size_t> all_rows(const sbert::batch_list& b) {
  std::multiset<std::size_t> s;
  for (auto& x : b) s.insert(x.begin(), x.end());
  return s;
}
std::multiset<std::size_t> row_range(std::size_t n) {
  std::multiset<std::size_t> s;
  for (std::size_t i = 0; i < n; ++i) s.insert(i);
  return s;
}
/// n rows ("anchor " + i % ka, "positive " + i % kp): texts repeat, as no_duplicates must handle.
sbert::dataset<sbert::schema<a, p>> repeating_pairs(int n, int ka, int kp) {
  std::vector<std::string> as, ps;
  for (int i = 0; i < n; ++i) {
    as.push_back("anchor " + std::to_string(i % ka));
    ps.push_back("positive " + std::to_string(i % kp));
  }
  return sbert::dataset<sbert::schema<a, p>>::from_columns(as, ps);
}
/// n rows "t0", "t1", ... labelled i % k.
sbert::dataset<sbert::schema<a, lab>> labelled(int n, int k) {
  std::vector<std::string> as;
  std::vector<std::int64_t> ls;
  for (int i = 0; i < n; ++i) {
    as.push_back("t" + std::to_string(i));
    ls.push_back(i % k);
  }
  return sbert::dataset<sbert::schema<a, lab>>::from_columns(as, ls);
}
/// The share of a batch's padded positions that are padding, over the epoch: 1 - real / (rows * longest).
double padding_fraction(const sbert::batch_list& b, const std::vector<std::size_t>& len) {
  double real = 0, padded = 0;
  for (const auto& batch : b) {
    std::size_t longest = 0;
    for (auto r : batch) real += static_cast<double>(len[r]), longest = std::max(longest, len[r]);
    padded += static_cast<double>(batch.size() * longest);
  }
  return 1.0 - real / padded;
}
/// Lengths 1..100 drawn from a fixed generator (not the samplers' seeds).
std::vector<std::size_t> random_lengths(std::size_t n) {
  std::mt19937_64 g(12345);
  std::vector<std::size_t> len(n);
  for (auto& l : len) l = 1 + static_cast<std::size_t>(g() % 100);
  return len;
}
}  // namespace

TEST_CASE("default_batch_sampler: a seeded permutation per epoch, cut into batches") {
  sbert::default_batch_sampler s(10, 4, false, 7);
  auto e0 = s.batches(0), e0b = s.batches(0), e1 = s.batches(1);
  REQUIRE(e0.size() == 3);
  CHECK(e0[2].size() == 2);
  CHECK(e0 == e0b);
  CHECK(e0 != e1);
  CHECK(all_rows(e0) == all_rows(sbert::sequential_batch_sampler(10, 10).batches(0)));
  sbert::default_batch_sampler dl(10, 4, true, 7);
  CHECK(dl.batches(0).size() == 2);
  CHECK(dl.size() == 2);
  CHECK(s.size() == 3);
}

TEST_CASE("no_duplicates: 100 rows of 50 values each appearing twice, bs 10, drop_last: every batch full and unique") {
  const auto d = repeating_pairs(100, 50, 50);
  sbert::no_duplicates_batch_sampler s(d, 10, true, 3);
  auto b = s.batches(0);
  CHECK(b.size() >= 9);  // greedy scans: the last rows may only pair with their duplicate
  for (auto& batch : b) {
    REQUIRE(batch.size() == 10);
    std::set<std::string> seen;
    for (auto r : batch) {
      CHECK(seen.insert(d[r].get<a>()).second);
      CHECK(seen.insert(d[r].get<p>()).second);
    }
  }
}

TEST_CASE("no_duplicates: 10x(a1,p1) + 8x(a2,p2), bs 2: one pair per batch; short scans dropped or kept") {
  std::vector<std::string> as, ps;
  for (int i = 0; i < 10; ++i) as.push_back("a1"), ps.push_back("p1");
  for (int i = 0; i < 8; ++i) as.push_back("a2"), ps.push_back("p2");
  auto d = sbert::dataset<sbert::schema<a, p>>::from_columns(as, ps);
  // drop_last: 8 full batches (a1 + a2), the 2 a1 rows left never form a full batch
  auto dropped = sbert::no_duplicates_batch_sampler(d, 2, true, 1).batches(0);
  CHECK(dropped.size() == 8);
  auto kept = sbert::no_duplicates_batch_sampler(d, 2, false, 1).batches(0);
  CHECK(kept.size() == 10);
  CHECK(all_rows(kept).size() == 18);
  for (auto& batch : dropped) CHECK(as[batch[0]] != as[batch[1]]);
}

TEST_CASE("no_duplicates: the texts of a text-list column count one by one; labels do not count") {
  struct sc : sbert::score_column<"score"> {};
  auto d = sbert::dataset<sbert::schema<a, negs>>::from_columns(
      std::vector<std::string>{"q1", "q2", "q3"},
      std::vector<std::vector<std::string>>{{"x", "y"}, {"y", "z"}, {"w"}});
  auto b = sbert::no_duplicates_batch_sampler(d, 3, false, 0).batches(0);
  for (auto& batch : b) {
    std::set<std::size_t> rows(batch.begin(), batch.end());
    CHECK(!(rows.contains(0) && rows.contains(1)));  // they share "y"
  }
  auto ds = sbert::dataset<sbert::schema<a, sc>>::from_columns(std::vector<std::string>{"q1", "q2"}, std::vector<float>{1, 1});
  CHECK(sbert::no_duplicates_batch_sampler(ds, 2, false, 0).batches(0).size() == 1);
}

TEST_CASE("group_by_length: every row once per epoch, short padding, longest batch first, seeded") {
  const auto len = random_lengths(1000);
  sbert::length_grouped_batch_sampler s(len, 16, false, 5);
  auto e0 = s.batches(0);
  CHECK(all_rows(e0) == row_range(1000));
  CHECK(e0.size() == s.size());
  CHECK(e0 == sbert::length_grouped_batch_sampler(len, 16, false, 5).batches(0));  // same seed, same batches
  CHECK(e0 != s.batches(1));
  CHECK(e0 != sbert::length_grouped_batch_sampler(len, 16, false, 6).batches(0));
  // the first batch holds the longest row
  const auto longest = *std::max_element(len.begin(), len.end());
  CHECK(std::any_of(e0[0].begin(), e0[0].end(), [&](std::size_t r) { return len[r] == longest; }));
  // megabatches of min(1000 / (4 * 16), 50) = 15 batches: each sorted longest first (the
  // front row, swapped in from the longest megabatch, aside)
  const std::size_t mega = 15 * 16;
  std::vector<std::size_t> order;
  for (auto& b : e0) order.insert(order.end(), b.begin(), b.end());
  for (std::size_t i = 1; i < order.size(); ++i)
    if (i % mega != 0 && i != 1) CHECK(len[order[i - 1]] >= len[order[i]]);
  // padding: random batches of lengths 1..100 waste about half; grouped batches a few percent
  const double grouped = padding_fraction(e0, len);
  const double random = padding_fraction(sbert::default_batch_sampler(1000, 16, false, 5).batches(0), len);
  INFO("padding fraction grouped " << grouped << ", random " << random);
  CHECK(random > 0.3);
  CHECK(grouped < 0.1);
  CHECK(sbert::length_grouped_batch_sampler(len, 16, true, 5).batches(0).size() == 1000 / 16);
}

TEST_CASE("group_by_length with no_duplicates: no text twice in a batch, every row once, padding still short") {
  // 800 rows; each anchor twice (as NLI's premises repeat), a row's length its texts' lengths
  std::vector<std::string> as, ps;
  std::vector<std::size_t> len;
  std::mt19937_64 g(7);
  for (int i = 0; i < 800; ++i) {
    const int k = i % 400;
    as.push_back("anchor " + std::to_string(k) + std::string(static_cast<std::size_t>(k % 40), 'x'));
    ps.push_back("positive " + std::to_string(i) + std::string(static_cast<std::size_t>(g() % 60), 'y'));
    len.push_back(as.back().size() + ps.back().size());
  }
  auto d = sbert::dataset<sbert::schema<a, p>>::from_columns(as, ps);
  auto nd = std::make_shared<sbert::no_duplicates_batch_sampler>(d, 16, false, 3);
  sbert::length_grouped_batch_sampler s(len, 16, false, 3, nd);
  for (std::uint64_t epoch : {0, 1}) {
    auto b = s.batches(epoch);
    CHECK(all_rows(b) == row_range(800));
    for (const auto& batch : b) {
      std::set<std::string> seen;
      for (auto r : batch) CHECK(seen.insert(as[r]).second);
    }
    const double grouped = padding_fraction(b, len);
    const double random = padding_fraction(nd->batches(epoch), len);
    INFO("epoch " << epoch << ": padding fraction grouped " << grouped << ", no_duplicates alone " << random);
    CHECK(grouped < 0.5 * random);
  }
  // the same order through the plain scan: no_duplicates had to move rows (the check above is not vacuous)
  sbert::length_grouped_batch_sampler plain(len, 16, false, 3);
  bool clash = false;
  for (const auto& batch : plain.batches(0)) {
    std::set<std::string> seen;
    for (auto r : batch) clash = clash || !seen.insert(as[r]).second;
  }
  CHECK(clash);
  CHECK_THROWS_WITH(nd->batches_in_order({0, 1}), Catch::Contains("every row once"));
}

TEST_CASE("group_by_label: P x K batches with two rows per label") {
  const auto d = labelled(100, 5);
  sbert::group_by_label_batch_sampler s(d, 8, true, 11);
  auto b = s.batches(0);
  REQUIRE(!b.empty());
  std::size_t total = 0;
  for (auto& batch : b) {
    CHECK(batch.size() == 8);
    std::map<std::int64_t, int> counts;
    for (auto r : batch) ++counts[d[r].get<lab>()];
    CHECK(counts.size() >= 2);  // never single-class: the Batch*Triplet losses get positives and negatives
    for (auto& [l, c] : counts) CHECK(c % 2 == 0);
    total += batch.size();
  }
  CHECK(total <= 100);
  CHECK(all_rows(b).size() == total);  // no row twice
  CHECK(s.batches(0) == b);
  CHECK(s.batches(1) != b);
  CHECK_THROWS_WITH(sbert::group_by_label_batch_sampler(d, 6 + 1, true), Catch::Contains("even"));
  auto one = sbert::dataset<sbert::schema<a, lab>>::from_columns(std::vector<std::string>{"x", "y"}, std::vector<std::int64_t>{1, 1});
  CHECK_THROWS_WITH(sbert::group_by_label_batch_sampler(one, 4), Catch::Contains("at least 2 labels"));
}

TEST_CASE("training_args: invalid combinations are rejected before training") {
  sbert::training_args a;
  CHECK_NOTHROW(a.validate(false));
  a.fp16 = a.bf16 = true;
  CHECK_THROWS_WITH(a.validate(false), Catch::Contains("fp16 and bf16"));
  sbert::training_args e{.eval_strategy = sbert::interval_strategy::steps};
  CHECK_THROWS_WITH(e.validate(false), Catch::Contains("neither an eval_dataset nor an evaluator"));
  sbert::training_args b{.eval_strategy = sbert::interval_strategy::steps, .save_strategy = sbert::interval_strategy::epoch,
                         .load_best_model_at_end = true};
  CHECK_THROWS_WITH(b.validate(true), Catch::Contains("save_strategy == eval_strategy"));
  sbert::training_args g{.per_device_train_batch_size = 7, .batch_sampler = sbert::batch_sampler::group_by_label};
  CHECK_THROWS_WITH(g.validate(false), Catch::Contains("even"));
  sbert::training_args gl{.batch_sampler = sbert::batch_sampler::group_by_label, .group_by_length = true};
  CHECK_THROWS_WITH(gl.validate(false), Catch::Contains("group_by_length and batch_sampler::group_by_label"));
  CHECK_NOTHROW(sbert::training_args{.batch_sampler = sbert::batch_sampler::no_duplicates, .group_by_length = true}.validate(false));
  CHECK_THROWS_WITH(sbert::training_args{.pad_to_multiple_of = -8}.validate(false), Catch::Contains("pad_to_multiple_of"));
  CHECK(sbert::training_args{.metric_for_best_model = "sts-dev_spearman_cosine"}.best_metric_key() == "eval_sts-dev_spearman_cosine");
  CHECK(sbert::training_args{}.higher_is_better() == false);  // "eval_loss"
}

TEST_CASE("lr schedules follow transformers") {
  using sbert::lr_multiplier;
  using sbert::lr_scheduler_type;
  // the reference run: 4 steps, 1 warmup step
  CHECK(lr_multiplier(lr_scheduler_type::linear, 0, 4, 1) == 0.0);
  CHECK(lr_multiplier(lr_scheduler_type::linear, 1, 4, 1) == 1.0);
  CHECK(lr_multiplier(lr_scheduler_type::linear, 2, 4, 1) == Approx(2.0 / 3));
  CHECK(lr_multiplier(lr_scheduler_type::linear, 4, 4, 1) == 0.0);
  CHECK(lr_multiplier(lr_scheduler_type::cosine, 1, 11, 1) == Approx(1.0));
  CHECK(lr_multiplier(lr_scheduler_type::cosine, 6, 11, 1) == Approx(0.5));
  CHECK(lr_multiplier(lr_scheduler_type::constant_with_warmup, 1, 10, 4) == Approx(0.25));
  CHECK(lr_multiplier(lr_scheduler_type::constant_with_warmup, 7, 10, 4) == 1.0);
  CHECK(lr_multiplier(lr_scheduler_type::polynomial, 5, 10, 0, 1e-3) == Approx(((1e-3 - 1e-7) * 0.5 + 1e-7) / 1e-3).epsilon(1e-9));
}

// A data-parallel run draws global batches (world x per-device rows) and each rank takes its
// contiguous slice (distributed/sampler.hpp): the ranks' slices of a step must make up exactly
// the global batch, so a sampler's rule holds over everything the step trains on.
namespace {
std::vector<sbert::batch_list> shards(std::shared_ptr<sbert::batch_sampler_base> global, int world, std::uint64_t epoch) {
  std::vector<sbert::batch_list> out;
  for (int r = 0; r < world; ++r) out.push_back(sbert::distributed::distributed_batch_sampler(global, r, world).batches(epoch));
  return out;
}
}  // namespace

TEST_CASE("distributed_batch_sampler: the ranks' slices of each step are the global batch, in rank order") {
  CHECK(sbert::distributed::shard_range(10, 0, 4) == std::pair<std::size_t, std::size_t>{0, 3});
  CHECK(sbert::distributed::shard_range(10, 1, 4) == std::pair<std::size_t, std::size_t>{3, 6});
  CHECK(sbert::distributed::shard_range(10, 3, 4) == std::pair<std::size_t, std::size_t>{8, 10});
  for (int world : {2, 3, 4}) {
    auto global = std::make_shared<sbert::default_batch_sampler>(103, 4 * world, false, 5);
    const auto g = global->batches(1);
    const auto s = shards(global, world, 1);
    std::size_t kept = 0;
    for (std::size_t step = 0; step < g.size(); ++step) {
      if (g[step].size() < static_cast<std::size_t>(world)) continue;  // too short to give every rank a row
      std::vector<std::size_t> joined;
      for (int r = 0; r < world; ++r) {
        REQUIRE(s[r].size() > kept);
        joined.insert(joined.end(), s[r][kept].begin(), s[r][kept].end());
      }
      CHECK(joined == g[step]);
      ++kept;
    }
    for (int r = 0; r < world; ++r) CHECK(s[r].size() == kept);  // every rank takes the same number of steps
  }
  auto tiny = std::make_shared<sbert::sequential_batch_sampler>(9, 4);  // 4, 4, 1: the last has fewer rows than ranks
  CHECK(shards(tiny, 2, 0)[1].size() == 2);
  CHECK_THROWS_WITH(sbert::distributed::distributed_batch_sampler(tiny, 2, 2), Catch::Contains("outside [0, 2)"));
}

TEST_CASE("distributed_batch_sampler over no_duplicates: no text twice across the ranks of a step") {
  const auto d = repeating_pairs(200, 60, 45);
  const int world = 2;
  auto global = std::make_shared<sbert::no_duplicates_batch_sampler>(d, 8 * world, true, 3);
  const auto s = shards(global, world, 0);
  REQUIRE(s[0].size() >= 5);
  REQUIRE(s[0].size() == s[1].size());
  for (std::size_t step = 0; step < s[0].size(); ++step) {
    std::set<std::string> seen;
    for (int r = 0; r < world; ++r) {
      CHECK(s[r][step].size() == 8);
      for (auto row : s[r][step]) {
        CHECK(seen.insert(d[row].get<a>()).second);
        CHECK(seen.insert(d[row].get<p>()).second);
      }
    }
  }
}

TEST_CASE("distributed_batch_sampler over group_by_label: each rank's slice keeps whole label pairs") {
  const auto d = labelled(120, 6);
  for (int world : {2, 4}) {
    auto global = std::make_shared<sbert::group_by_label_batch_sampler>(d, 4 * world, true, 11);
    const auto s = shards(global, world, 0);
    REQUIRE(!s[0].empty());
    for (int r = 0; r < world; ++r)
      for (const auto& slice : s[r]) {
        CHECK(slice.size() == 4);
        std::map<std::int64_t, int> counts;
        for (auto row : slice) ++counts[d[row].get<lab>()];
        // a Batch*Triplet loss on this rank finds every anchor's positive in its own slice
        for (auto& [l, c] : counts) CHECK(c % 2 == 0);
      }
  }
}
