// CUDA checks of the model stack, run on the GPU machine by run.sh:
//  1. the tiny reference model gives the same embeddings on CUDA as on CPU;
//  2. a BERT-base-sized model (made and saved by Python sentence-transformers) gives the
//     same embeddings as Python on the same GPU;
//  3. encode() throughput of that model on CUDA, fp32 and bf16 autocast.
// Usage: gpu_check TINY_DIR BASE_DIR SENTENCES_FILE OUT_JSON
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <ATen/autocast_mode.h>
#include <torch/cuda.h>

#include <sbert/io/json_writer.hpp>
#include <sbert/models/sentence_transformer.hpp>

namespace {
std::vector<std::string> lines(const std::string& path) {
  std::ifstream f(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(f, l);) out.push_back(l);
  return out;
}
sbert::json::value matrix(const at::Tensor& t) {
  auto c = t.to(at::kCPU).to(at::kFloat).contiguous();
  sbert::json::value rows = sbert::json::value::make_array();
  for (std::int64_t i = 0; i < c.size(0); ++i) {
    sbert::json::value r = sbert::json::value::make_array();
    for (std::int64_t j = 0; j < c.size(1); ++j) r.push(static_cast<double>(c[i][j].item<float>()));
    rows.push(r);
  }
  return rows;
}
double timed_encode(sbert::models::sentence_transformer& m, const std::vector<std::string>& s, bool bf16) {
  if (bf16) {
    at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
    at::autocast::set_autocast_enabled(at::kCUDA, true);
  }
  (void)m.encode(std::vector<std::string>(s.begin(), s.begin() + 128), {.batch_size = 64});  // warm-up
  torch::cuda::synchronize();
  const auto t0 = std::chrono::steady_clock::now();
  (void)m.encode(s, {.batch_size = 64});
  torch::cuda::synchronize();
  const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (bf16) at::autocast::set_autocast_enabled(at::kCUDA, false);
  return static_cast<double>(s.size()) / sec;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) return 2;
  if (!torch::cuda::is_available()) {
    std::fprintf(stderr, "no CUDA device\n");
    return 1;
  }
  const auto sentences = lines(argv[3]);
  const c10::Device cuda(c10::kCUDA, 0);
  sbert::json::value out = sbert::json::value::make_object();

  auto tiny = sbert::models::sentence_transformer::load(argv[1]);
  tiny->eval();
  std::vector<std::string> first(sentences.begin(), sentences.begin() + 256);
  const auto cpu = tiny->encode(first, {.batch_size = 64});
  tiny->to(cuda);
  const auto gpu = tiny->encode(first, {.batch_size = 64});
  const double tiny_diff = (cpu - gpu).abs().max().item<double>();
  out.set("tiny_cpu_vs_cuda_max_abs_diff", tiny_diff);
  std::printf("tiny model, CPU vs CUDA: max |diff| = %.3g\n", tiny_diff);

  auto base = sbert::models::sentence_transformer::load(argv[2]);
  base->eval();
  base->to(cuda);
  std::vector<std::string> probe(sentences.begin(), sentences.begin() + 16);
  out.set("base_first16_fp32", matrix(base->encode(probe, {.batch_size = 16})));
  const double fp32 = timed_encode(*base, sentences, false);
  const double bf16 = timed_encode(*base, sentences, true);
  out.set("cpp_base_fp32_sentences_per_s", fp32).set("cpp_base_bf16_autocast_sentences_per_s", bf16);
  out.set("n_sentences", static_cast<std::int64_t>(sentences.size()));
  std::printf("BERT-base on CUDA: fp32 %.0f sentences/s, bf16 autocast %.0f sentences/s\n", fp32, bf16);
  std::ofstream(argv[4]) << sbert::json::dump(out) << '\n';
}
