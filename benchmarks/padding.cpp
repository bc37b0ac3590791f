// Padding waste in training (issue 14): samples/s and the tokens the encoder computes against
// the real (unpadded) tokens, for MultipleNegativesRankingLoss on NLI triplets, in four setups:
//   baseline     tokenize every batch, pad to the longest, random batches (sbert before issue 14)
//   +cache       tokenize each text once per run (training_args::cache_tokenization)
//   +multiple-8  the same, batches padded to a multiple of 8 (pad_to_multiple_of = 8)
//   +by-length   the cache and group_by_length, padded to the longest
//   +both        the cache, group_by_length and multiples of 8
//
//   padding [rows_tiny=1600] [steps_base=4] [batch_size=16]
//
// The tiny model trains one whole epoch of the first rows_tiny rows, so every setup computes
// the same real tokens and samples/s compare; BERT-base runs steps_base steps, where
// group_by_length takes the longest batches first: compare its real tokens/s.
// The tiny reference BERT shows the tokenizer's share (its forward pass is cheap); the random
// BERT-base-sized model the encoder's. Samples/s count every step (a warm-up pass comes
// first); group_by_length's one-off tokenizing of the whole set is shown apart ("set-up").
// Run it on an idle machine (scripts/env.sh sourced).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include <sbert/data/readers.hpp>
#include <sbert/losses/multiple_negatives_ranking.hpp>
#include <sbert/models/bert.hpp>
#include <sbert/models/tokenizers/wordpiece.hpp>
#include <sbert/training/trainer.hpp>

#ifndef SBERT_SHARED_DIR
#define SBERT_SHARED_DIR "../shared"
#endif

namespace {
using triplets = sbert::schema<sbert::columns::anchor, sbert::columns::positive, sbert::columns::negative>;

/// MNRL in its feature form, counting the tokens of every forward pass: computed (rows x padded
/// length) and real (attention mask ones).
struct counting_mnrl {
  static constexpr sbert::inputs_spec inputs = sbert::multiple_negatives_ranking_loss::inputs;
  static constexpr std::string_view name = sbert::multiple_negatives_ranking_loss::name;
  std::shared_ptr<double> computed = std::make_shared<double>(0), real = std::make_shared<double>(0);
  at::Tensor operator()(sbert::models::sentence_transformer& m, std::span<sbert::models::features> f, const at::Tensor& y) {
    std::vector<at::Tensor> emb;
    for (auto& x : f) {
      *computed += static_cast<double>(x.input_ids.numel());
      *real += x.attention_mask.sum().item<double>();
      emb.push_back(m.forward(x).sentence_embedding);
    }
    return sbert::multiple_negatives_ranking_loss{}(std::span<const at::Tensor>(emb), y);
  }
};

std::shared_ptr<sbert::models::sentence_transformer> base_model() {
  sbert::models::bert_config cfg;  // BERT-base sizes are the defaults
  auto enc = std::make_shared<sbert::models::bert_model>(cfg);
  auto tok = std::make_shared<sbert::models::wordpiece_tokenizer>(
      sbert::models::load_wordpiece(std::string(SBERT_SHARED_DIR) + "/models/bert-base-uncased"));
  auto t = std::make_shared<sbert::models::transformer>(enc, tok, sbert::models::transformer_options{.max_seq_length = 128});
  return sbert::models::sentence_transformer::from_parts(t, "mean");
}

struct setup {
  const char* name;
  bool cache, by_length;
  std::int64_t multiple;
};

void run(const char* model_name, const std::function<std::shared_ptr<sbert::models::sentence_transformer>()>& make,
         const sbert::dataset<triplets>& data, std::int64_t max_steps, std::int64_t bs) {
  for (const setup s : {setup{"baseline", false, false, 0}, setup{"+cache", true, false, 0}, setup{"+multiple-8", true, false, 8},
                        setup{"+by-length", true, true, 0}, setup{"+both", true, true, 8}}) {
    auto model = make();
    sbert::training_args args{.output_dir = (std::filesystem::temp_directory_path() / "sbert_padding_bench").string(),
                              .num_train_epochs = 1,
                              .max_steps = max_steps,  // -1: the whole epoch
                              .per_device_train_batch_size = bs,
                              .learning_rate = 1e-5,
                              .group_by_length = s.by_length,
                              .pad_to_multiple_of = s.multiple,
                              .cache_tokenization = s.cache,
                              .save_strategy = sbert::interval_strategy::no,
                              .logging_steps = 1000,
                              .log_level = sbert::log_level::warning,
                              .disable_progress_bar = true};
    counting_mnrl loss;
    {  // warm up: the first forward and backward pass allocate
      const auto texts = sbert::detail::column_texts<triplets, 0>(data, std::vector<std::size_t>{0, 1, 2, 3});
      auto f = model->to_device(model->tokenize(texts));
      model->forward(f).sentence_embedding.sum().backward();
      model->zero_grad();
    }
    // what train() does first: group_by_length tokenizes the whole set (timed on its own)
    const auto s0 = std::chrono::steady_clock::now();
    {
      sbert::detail::token_cache c;
      (void)sbert::detail::make_batch_sampler(args, data, *model, {}, c);
    }
    const double setup_sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();
    sbert::trainer trainer{model, args, data, loss};
    const auto t0 = std::chrono::steady_clock::now();
    trainer.train();
    const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double sec = total - setup_sec;
    const double steps = static_cast<double>(trainer.state().global_step);
    const double real = *trainer.loss().real, computed = *trainer.loss().computed;
    std::printf("padding: %-9s batch %lld %-12s %7.2f samples/s, %8.0f real tokens/s (+%.2f s set-up), tokens computed %.0f, "
                "real %.0f, padding %.1f %%\n",
                model_name, static_cast<long long>(bs), s.name, steps * static_cast<double>(bs) / sec, real / sec, setup_sec,
                computed, real, 100.0 * (1.0 - real / computed));
    std::fflush(stdout);
  }
}
}  // namespace

int main(int argc, char** argv) {
  const std::size_t rows_tiny = argc > 1 ? static_cast<std::size_t>(std::atoll(argv[1])) : 1600;
  const std::int64_t steps_base = argc > 2 ? std::atoll(argv[2]) : 4;
  const std::int64_t bs = argc > 3 ? std::atoll(argv[3]) : 16;
  sbert::models::set_threads_from_hardware();
  std::printf("%s\n", sbert::select_blas_kernel().describe().c_str());  // kernels in use
  const auto data = sbert::read_tsv<triplets>(std::string(SBERT_SHARED_DIR) + "/data/nli/nli_dev_triplets.tsv");
  const auto device = sbert::models::default_device();
  run("tiny", [&] {
    auto m = sbert::models::sentence_transformer::load(std::string(SBERT_SHARED_DIR) + "/reference/tiny-bert-st");
    m->to(device);
    return m;
  }, data.select_range(0, std::min(rows_tiny, data.size())), -1, bs);
  if (steps_base > 0)
    run("BERT-base", [&] {
      auto m = base_model();
      m->to(device);
      return m;
    }, data, steps_base, bs);
}
