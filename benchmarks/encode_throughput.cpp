// encode() throughput in sentences per second: the tiny reference BERT and a BERT-base-sized
// random model (768 hidden, 12 layers, 12 heads, 3072 intermediate), in fp32, under bf16
// autocast and with bf16 weights, on CPU and (when libtorch has CUDA and a GPU is present) on CUDA.
// Sentences: sentence1 of shared/data/stsbenchmark/sts-dev.csv (real lengths, ~10-30 tokens).
//
//   encode_throughput [n_tiny=2000] [n_base=256] [batch_size=32] [threads=0: one per hardware thread]
//
// fp32 runs again with encode_options::tokenize_ahead on and off, alternated (on: the next batch
// is tokenised on a worker thread while the model runs this one).
//
// On a loaded machine, OpenMP threads that outnumber the free cores spin against each other
// (measured here: 25 sentences/s with 2 threads at load 5 vs 990 with 1); pass threads=1 then.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <ATen/autocast_mode.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <sbert/models/sentence_transformer.hpp>

#ifndef SBERT_SHARED_DIR
#define SBERT_SHARED_DIR "../shared"
#endif

namespace {

std::vector<std::string> sts_sentences(std::size_t n) {
  std::ifstream f(std::string(SBERT_SHARED_DIR) + "/data/stsbenchmark/sts-dev.csv");
  std::vector<std::string> all;
  for (std::string line; std::getline(f, line);) {
    std::size_t p = 0;
    for (int k = 0; k < 5 && p != std::string::npos; ++k) p = line.find('\t', p) + 1;
    if (p == 0 || p == std::string::npos) continue;
    const auto e = line.find('\t', p);
    all.push_back(line.substr(p, e == std::string::npos ? std::string::npos : e - p));
  }
  if (all.empty()) {
    std::fprintf(stderr, "cannot read sts-dev.csv under %s\n", SBERT_SHARED_DIR);
    std::exit(1);
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; out.size() < n; ++i) out.push_back(all[i % all.size()]);
  return out;
}

struct autocast_scope {
  bool cuda;
  autocast_scope(bool on, bool is_cuda) : cuda(is_cuda) {
    if (!on) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    const auto t = cuda ? at::kCUDA : at::kCPU;  // the per-device API of libtorch >= 2.4
    at::autocast::set_autocast_dtype(t, at::kBFloat16);
    at::autocast::set_autocast_enabled(t, true);
#else
    if (cuda) {
      at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
      at::autocast::set_enabled(true);
    } else {
      at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
      at::autocast::set_cpu_enabled(true);
    }
#endif
  }
  ~autocast_scope() {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_enabled(at::kCUDA, false);
    at::autocast::set_autocast_enabled(at::kCPU, false);
#else
    at::autocast::set_enabled(false);
    at::autocast::set_cpu_enabled(false);
#endif
    at::autocast::clear_cache();
  }
};

enum class precision { fp32, bf16_autocast, bf16_weights };

void run(const char* name, sbert::models::sentence_transformer& m, const std::vector<std::string>& s,
         c10::Device dev, precision p, std::int64_t batch_size, std::optional<bool> ahead = {}) {
  m.to(dev);
  if (p == precision::bf16_weights) m.to(at::kBFloat16);
  autocast_scope ac(p == precision::bf16_autocast, dev.is_cuda());
  const std::vector<std::string> warm(s.begin(), s.begin() + std::min<std::size_t>(s.size(), 2 * batch_size));
  (void)m.encode(warm, {.batch_size = batch_size});  // first-call allocations, kernel selection
  if (dev.is_cuda()) torch::cuda::synchronize();
  const auto t0 = std::chrono::steady_clock::now();
  auto e = m.encode(s, {.batch_size = batch_size, .tokenize_ahead = ahead});
  if (dev.is_cuda()) torch::cuda::synchronize();
  const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (p == precision::bf16_weights) m.to(at::kFloat);
  const char* label = p == precision::fp32 ? "fp32" : p == precision::bf16_autocast ? "bf16-autocast" : "bf16-weights";
  std::printf("%-10s %-5s %-13s %6zu sentences  %8.3f s  %10.1f sentences/s  (dim %lld)%s\n", name,
              dev.is_cuda() ? "cuda" : "cpu", label, s.size(), sec, s.size() / sec,
              static_cast<long long>(e.size(1)), !ahead ? "" : *ahead ? "  tokenize_ahead on" : "  tokenize_ahead off");
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t n_tiny = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 2000;
  const std::size_t n_base = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 256;
  const std::int64_t batch = argc > 3 ? std::strtol(argv[3], nullptr, 10) : 32;
  const int threads = argc > 4 ? std::atoi(argv[4]) : 0;
  if (threads > 0) at::set_num_threads(threads);
  else sbert::models::set_threads_from_hardware();
  std::printf("%s\n", sbert::select_blas_kernel().describe().c_str());  // kernels in use
  std::printf("intra-op threads: %d, CUDA: %s\n", at::get_num_threads(),
              torch::cuda::is_available() ? "yes" : "no");

  const std::string tiny_dir = std::string(SBERT_SHARED_DIR) + "/reference/tiny-bert-st";
  auto tiny = sbert::models::sentence_transformer::load(tiny_dir);

  sbert::models::bert_config c;  // BertConfig() defaults = bert-base
  at::manual_seed(0);
  auto base = sbert::models::sentence_transformer::from_parts(std::make_shared<sbert::models::transformer>(
      std::make_shared<sbert::models::bert_model>(c), sbert::models::load_tokenizer(tiny_dir),
      sbert::models::transformer_options{.max_seq_length = 128}));

  // MPNet-base (MPNetConfig defaults, all-mpnet-base-v2's shape): BERT-base plus the relative
  // position bias, so the gap to bert-base is the cost of the bias.
  at::manual_seed(0);
  auto mpnet = sbert::models::sentence_transformer::from_parts(std::make_shared<sbert::models::transformer>(
      std::make_shared<sbert::models::mpnet_model>(sbert::models::mpnet_config{}), sbert::models::load_tokenizer(tiny_dir),
      sbert::models::transformer_options{.max_seq_length = 128}));

  std::vector<c10::Device> devices{c10::Device(c10::kCPU)};
  if (torch::cuda::is_available()) devices.emplace_back(c10::kCUDA, 0);
  for (auto dev : devices) {
    const std::size_t scale = dev.is_cuda() ? 16 : 1;
    for (auto p : {precision::fp32, precision::bf16_autocast, precision::bf16_weights}) {
      // bf16 weights on the CPU need libtorch >= 2 (1.13 lacks bf16 LayerNorm kernels there).
      if (p == precision::bf16_weights && !dev.is_cuda() && TORCH_VERSION_MAJOR < 2) continue;
      run("tiny", *tiny, sts_sentences(n_tiny * scale), dev, p, batch);
      run("bert-base", *base, sts_sentences(n_base * scale), dev, p, batch);
      run("mpnet-base", *mpnet, sts_sentences(n_base * scale), dev, p, batch);
      if (p == precision::fp32) {
        // tokenize_ahead on and off, alternated 3 times (the first runs of a program are slower,
        // so one pair in a fixed order would mislead)
        for (int round = 0; round < 3; ++round)
          for (bool on : {true, false}) {
            run("tiny", *tiny, sts_sentences(n_tiny * scale), dev, p, batch, on);
            run("bert-base", *base, sts_sentences(n_base * scale), dev, p, batch, on);
          }
      }
    }
  }
  return 0;
}
