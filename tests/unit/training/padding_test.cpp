// Training batches without padding waste (issue 14): padding rounded to a multiple of 8 leaves
// the loss and its gradients unchanged, the token cache gives bit-identical batches and
// training, and the trainer's group_by_length sampler pads far less than random batches.
#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <ATen/ops/equal.h>

#include <sbert/data/readers.hpp>
#include <sbert/losses/multiple_negatives_ranking.hpp>
#include <sbert/training/trainer.hpp>

#undef CHECK
#include "catch.hpp"

namespace fs = std::filesystem;
namespace {
using triplets = sbert::schema<sbert::columns::anchor, sbert::columns::positive, sbert::columns::negative>;
struct query : sbert::text_column<"query"> {};
struct docs : sbert::text_list_column<"docs"> {};
using query_docs = sbert::schema<query, docs>;

std::shared_ptr<sbert::models::sentence_transformer> tiny() {
  return sbert::models::sentence_transformer::load(sbert::test::reference_dir() + "/tiny-bert-st");
}
sbert::dataset<triplets> nli(std::size_t n) {
  return sbert::read_tsv<triplets>(sbert::test::shared_dir() + "/data/nli/nli_dev_triplets.tsv").select_range(0, n);
}
std::vector<std::size_t> iota_rows(std::size_t from, std::size_t n) {
  std::vector<std::size_t> r(n);
  for (std::size_t i = 0; i < n; ++i) r[i] = from + i;
  return r;
}
/// The loss of the rows and the gradient of every weight (dropout off: model in eval mode).
std::pair<double, std::vector<at::Tensor>> loss_and_grads(sbert::models::sentence_transformer& m, const sbert::dataset<triplets>& d,
                                                          const std::vector<std::size_t>& rows, std::int64_t multiple) {
  m.zero_grad();
  sbert::multiple_negatives_ranking_loss loss;
  auto sl = sbert::detail::batch_loss(m, loss, d, rows, {}, {.cache = nullptr, .pad_to_multiple_of = multiple});
  sl.loss.backward();
  std::vector<at::Tensor> g;
  for (auto& p : m.parameters())
    if (p.grad().defined()) g.push_back(p.grad().clone());
  return {sl.loss.item<double>(), g};
}
}  // namespace

TEST_CASE("padding: rounding each batch to a multiple of 8 leaves the loss and gradients unchanged (1e-5)") {
  auto m = tiny();
  m->eval();  // dropout would draw differently for the longer padding
  const auto d = nli(48);
  // the padding really grows: the rows' longest anchor is no multiple of 8 (else rounding is moot)
  const auto rows = iota_rows(0, 16);
  const auto anchors = sbert::detail::column_texts<triplets, 0>(d, rows);
  const auto plain = m->tokenize(anchors).input_ids.size(1), eight = m->tokenize(anchors, 8).input_ids.size(1);
  REQUIRE(plain % 8 != 0);
  CHECK(eight == (plain + 7) / 8 * 8);
  CHECK(m->tokenize(anchors, 1).input_ids.size(1) == plain);
  CHECK(m->tokenize(anchors, 4096).input_ids.size(1) == m->max_seq_length());  // never beyond max_seq_length
  for (std::int64_t multiple : {8, 64}) {
    for (const auto& batch : {rows, iota_rows(16, 16), iota_rows(32, 16)}) {
      auto [l0, g0] = loss_and_grads(*m, d, batch, 0);
      auto [l8, g8] = loss_and_grads(*m, d, batch, multiple);
      INFO("multiple " << multiple << ", rows from " << batch.front());
      CHECK(l8 == Approx(l0).epsilon(1e-5));
      REQUIRE(g0.size() == g8.size());
      REQUIRE(!g0.empty());
      double scale = 0, diff = 0;
      for (std::size_t i = 0; i < g0.size(); ++i) {
        scale = std::max(scale, g0[i].abs().max().item<double>());
        diff = std::max(diff, (g0[i] - g8[i]).abs().max().item<double>());
      }
      INFO("max |grad| " << scale << ", max |grad diff| " << diff);
      CHECK(scale > 0);
      CHECK(diff <= 1e-5 * std::max(1.0, scale));
    }
  }
}

TEST_CASE("token cache: batches collated from cached token ids are bit-identical to tokenizing the texts") {
  auto m = tiny();
  const auto d = nli(40);
  const sbert::detail::column_prompts prompts{{"query: ", m->prompt_length("query: ")}, {}, {"doc: ", m->prompt_length("doc: ")}};
  sbert::detail::token_cache cache;
  for (std::int64_t multiple : {0, 8}) {
    // twice over the same rows: the second pass reads every text from the cache
    for (int pass = 0; pass < 2; ++pass)
      for (const auto& rows : {iota_rows(0, 16), std::vector<std::size_t>{39, 3, 3, 17}, iota_rows(24, 16)}) {
        const sbert::detail::collate_config uncached{.cache = nullptr, .pad_to_multiple_of = multiple},
            cached{.cache = &cache, .pad_to_multiple_of = multiple};
        auto want = sbert::detail::column_features(*m, d, rows, prompts, uncached, std::make_index_sequence<3>{});
        auto got = sbert::detail::column_features(*m, d, rows, prompts, cached, std::make_index_sequence<3>{});
        REQUIRE(got.size() == 3);
        for (std::size_t c = 0; c < 3; ++c) {
          INFO("column " << c << ", pass " << pass << ", multiple " << multiple);
          CHECK(at::equal(got[c].input_ids, want[c].input_ids));
          CHECK(at::equal(got[c].attention_mask, want[c].attention_mask));
          CHECK(at::equal(got[c].token_type_ids, want[c].token_type_ids));
          CHECK(got[c].prompt_length == want[c].prompt_length);
        }
      }
  }
  CHECK(cache.bytes() > 0);
  // a text-list column: each text its own slot, an empty list no features
  auto q = sbert::dataset<query_docs>::from_columns(
      std::vector<std::string>{"what is a cat", "who", "none here"},
      std::vector<std::vector<std::string>>{{"a cat is an animal", "cats purr"}, {"someone"}, {}});
  sbert::detail::token_cache qcache;
  for (const auto& rows : {std::vector<std::size_t>{0, 1}, std::vector<std::size_t>{2}, std::vector<std::size_t>{1, 0, 2}}) {
    auto want = sbert::detail::column_features(*m, q, rows, {}, {}, std::make_index_sequence<2>{});
    auto got = sbert::detail::column_features(*m, q, rows, {}, {.cache = &qcache}, std::make_index_sequence<2>{});
    REQUIRE(got.size() == want.size());
    for (std::size_t c = 0; c < got.size(); ++c) {
      REQUIRE(got[c].input_ids.defined() == want[c].input_ids.defined());
      if (want[c].input_ids.defined()) CHECK(at::equal(got[c].input_ids, want[c].input_ids));
    }
  }
  // a changed max_seq_length tokenizes anew
  auto rows = iota_rows(0, 8);
  (void)sbert::detail::column_features(*m, d, rows, {}, {.cache = &cache}, std::make_index_sequence<3>{});
  m->first_transformer().set_max_seq_length(6);
  auto short_ids = sbert::detail::column_features(*m, d, rows, {}, {.cache = &cache}, std::make_index_sequence<3>{});
  CHECK(short_ids[0].input_ids.size(1) == 6);
}

TEST_CASE("token cache: training with and without it gives the same weights, bit for bit") {
  const auto d = nli(48);
  auto run = [&](bool cache) {
    auto m = tiny();  // dropout on: the same draws either way
    const auto out = fs::temp_directory_path() / "sbert_padding_cache";
    fs::remove_all(out);
    sbert::training_args args{.output_dir = out.string(), .num_train_epochs = 2, .per_device_train_batch_size = 16,
                              .learning_rate = 1e-3, .cache_tokenization = cache,
                              .save_strategy = sbert::interval_strategy::no, .disable_progress_bar = true};
    sbert::trainer t{m, args, d, sbert::multiple_negatives_ranking_loss{}};
    t.train();
    std::vector<at::Tensor> w;
    for (auto& p : m->parameters()) w.push_back(p.detach().clone());
    return w;
  };
  const auto a = run(true), b = run(false);
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(at::equal(a[i], b[i]));
}

TEST_CASE("group_by_length: the trainer's sampler on NLI triplets pads far less, keeps no_duplicates, each row once") {
  auto m = tiny();
  const auto d = nli(512);
  sbert::detail::token_cache cache;
  // tokens computed (rows x padded length, per column) over an epoch of the sampler's batches
  auto waste = [&](sbert::batch_sampler_base& s) {
    double real = 0, padded = 0;
    for (const auto& rows : s.batches(0))
      for (auto& f : sbert::detail::column_features(*m, d, rows, {}, {.cache = &cache}, std::make_index_sequence<3>{})) {
        padded += static_cast<double>(f.input_ids.numel());
        real += f.attention_mask.sum().item<double>();
      }
    return 1.0 - real / padded;
  };
  for (auto bs : {sbert::batch_sampler::batch_sampler, sbert::batch_sampler::no_duplicates}) {
    sbert::training_args args{.per_device_train_batch_size = 16, .seed = 3, .batch_sampler = bs};
    auto random = sbert::detail::make_batch_sampler(args, d, *m, {}, cache);
    args.group_by_length = true;
    auto grouped = sbert::detail::make_batch_sampler(args, d, *m, {}, cache);
    REQUIRE(dynamic_cast<sbert::length_grouped_batch_sampler*>(grouped.get()));
    const auto b = grouped->batches(0);
    std::multiset<std::size_t> seen;
    for (const auto& rows : b) {
      seen.insert(rows.begin(), rows.end());
      if (bs == sbert::batch_sampler::no_duplicates) {
        std::set<std::string> texts;
        for (auto r : rows)
          for (const auto& t : {d[r].get<sbert::columns::anchor>(), d[r].get<sbert::columns::positive>(), d[r].get<sbert::columns::negative>()})
            CHECK(texts.insert(t).second);
      }
    }
    CHECK(seen.size() == d.size());
    CHECK(std::set<std::size_t>(seen.begin(), seen.end()).size() == d.size());
    const double w_random = waste(*random), w_grouped = waste(*grouped);
    INFO("padding fraction: random " << w_random << ", grouped " << w_grouped);
    // each column pads to its own longest text, so grouping rows by one length cannot remove
    // all of it (a single-column set: see the samplers test); measured 0.25 vs 0.41
    CHECK(w_random > 0.3);
    CHECK(w_grouped < 0.7 * w_random);
  }
}
