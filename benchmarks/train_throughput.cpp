// Training throughput in samples/s: MultipleNegativesRankingLoss on NLI triplets, for the tiny
// reference BERT (128 hidden, 2 layers) and a BERT-base-sized random model (768/12/12/3072),
// in fp32 and under bf16 autocast, on CPU (and CUDA when present).
//
//   train_throughput [steps_tiny=20] [steps_base=3] [batch_size=16]
//
// On a busy machine the figures drop sharply (OpenMP threads spin against other processes):
// run it on an idle machine.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
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

std::shared_ptr<sbert::models::sentence_transformer> base_model() {
  sbert::models::bert_config cfg;  // BERT-base sizes are the defaults
  auto enc = std::make_shared<sbert::models::bert_model>(cfg);
  auto tok = std::make_shared<sbert::models::wordpiece_tokenizer>(
      sbert::models::load_wordpiece(std::string(SBERT_SHARED_DIR) + "/models/bert-base-uncased"));
  auto t = std::make_shared<sbert::models::transformer>(enc, tok, sbert::models::transformer_options{.max_seq_length = 128});
  return sbert::models::sentence_transformer::from_parts(t, "mean");
}

double samples_per_second(std::shared_ptr<sbert::models::sentence_transformer> model, const sbert::dataset<triplets>& data,
                          std::int64_t steps, std::int64_t bs, bool bf16) {
  sbert::training_args args{.output_dir = (std::filesystem::temp_directory_path() / "sbert_train_bench").string(),
                            .max_steps = steps + 1,
                            .per_device_train_batch_size = bs,
                            .learning_rate = 1e-5,
                            .bf16 = bf16,
                            .save_strategy = sbert::interval_strategy::no,
                            .logging_steps = 1000,
                            .disable_progress_bar = true};
  sbert::trainer trainer{model, args, data, sbert::multiple_negatives_ranking_loss{}};
  std::chrono::steady_clock::time_point t0;
  trainer.add_callback({.on_step_end = [&](sbert::train_state& s) {
    if (s.global_step == 1) t0 = std::chrono::steady_clock::now();  // the first step warms up
  }});
  trainer.train();
  const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return static_cast<double>(steps * bs) / sec;
}
}  // namespace

int main(int argc, char** argv) {
  const std::int64_t steps_tiny = argc > 1 ? std::atoll(argv[1]) : 20;
  const std::int64_t steps_base = argc > 2 ? std::atoll(argv[2]) : 3;
  const std::int64_t bs = argc > 3 ? std::atoll(argv[3]) : 16;
  sbert::models::set_threads_from_hardware();
  std::printf("%s\n", sbert::select_blas_kernel().describe().c_str());  // kernels in use
  auto data = sbert::read_tsv<triplets>(std::string(SBERT_SHARED_DIR) + "/data/nli/nli_dev_triplets.tsv");
  const auto device = sbert::models::default_device();
  for (bool bf16 : {false, true}) {
    auto tiny = sbert::models::sentence_transformer::load(std::string(SBERT_SHARED_DIR) + "/reference/tiny-bert-st");
    tiny->to(device);
    std::printf("train_throughput: tiny BERT, %s, %s, batch %lld: %.1f samples/s\n", device.str().c_str(),
                bf16 ? "bf16 autocast" : "fp32", static_cast<long long>(bs), samples_per_second(tiny, data, steps_tiny, bs, bf16));
    std::fflush(stdout);
    auto base = base_model();
    base->to(device);
    std::printf("train_throughput: BERT-base, %s, %s, batch %lld: %.2f samples/s\n", device.str().c_str(),
                bf16 ? "bf16 autocast" : "fp32", static_cast<long long>(bs), samples_per_second(base, data, steps_base, bs, bf16));
    std::fflush(stdout);
  }
}
