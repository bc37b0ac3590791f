// Encode the lines of a text file with any sentence-transformers model folder and write the
// embeddings as JSON Lines (one array of floats per input line), for use from scripts.
//
//   encode <model_dir> <input.txt> [output.jsonl] [--batch-size N] [--normalize]
//          [--truncate-dim K] [--prompt-name NAME] [--device cpu|cuda] [--dtype fp32|fp16|bf16]
//
// Without an output path the lines go to stdout. Empty input lines are encoded too (as "").
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include <sbert/models/sentence_transformer.hpp>

namespace {

int usage() {
  std::cerr << "usage: encode <model_dir> <input.txt> [output.jsonl] [--batch-size N] [--normalize]\n"
               "              [--truncate-dim K] [--prompt-name NAME] [--device cpu|cuda] [--dtype fp32|fp16|bf16]\n";
  return 2;
}

std::int64_t to_int(std::string_view s, const char* flag) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v <= 0)
    throw std::invalid_argument(std::string(flag) + " needs a positive integer, got '" + std::string(s) + "'");
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> pos;
  sbert::models::encode_options opt;
  std::string device_name, dtype_name = "fp32";
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string_view a = argv[i];
      auto next = [&]() -> std::string_view {
        if (i + 1 >= argc) throw std::invalid_argument(std::string(a) + " needs a value");
        return argv[++i];
      };
      if (a == "--batch-size") opt.batch_size = to_int(next(), "--batch-size");
      else if (a == "--normalize") opt.normalize_embeddings = true;
      else if (a == "--truncate-dim") opt.truncate_dim = to_int(next(), "--truncate-dim");
      else if (a == "--prompt-name") opt.prompt_name = std::string(next());
      else if (a == "--device") device_name = next();
      else if (a == "--dtype") dtype_name = next();
      else if (a == "-h" || a == "--help") return usage(), 0;
      else if (a.starts_with("--")) throw std::invalid_argument("unknown option " + std::string(a));
      else pos.emplace_back(a);
    }
    if (pos.size() < 2 || pos.size() > 3) return usage();

    std::ifstream in(pos[1]);
    if (!in) throw std::runtime_error(pos[1] + ": cannot open");
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      lines.push_back(std::move(line));
    }

    auto model = sbert::models::sentence_transformer::load(pos[0]);
    c10::Device device = sbert::models::default_device();
    if (device_name == "cpu") device = c10::Device(c10::kCPU);
    else if (device_name == "cuda") device = c10::Device(c10::kCUDA, 0);
    else if (!device_name.empty()) throw std::invalid_argument("--device must be cpu or cuda");
    if (device.is_cpu()) sbert::models::set_threads_from_hardware();
    model->to(device);
    if (dtype_name == "fp16") model->to(at::kHalf);
    else if (dtype_name == "bf16") model->to(at::kBFloat16);
    else if (dtype_name != "fp32") throw std::invalid_argument("--dtype must be fp32, fp16 or bf16");

    const auto emb = model->encode(lines, opt).to(at::kFloat).contiguous();
    std::ofstream file;
    if (pos.size() == 3) {
      file.open(pos[2], std::ios::binary | std::ios::trunc);
      if (!file) throw std::runtime_error(pos[2] + ": cannot open for writing");
    }
    std::ostream& out = pos.size() == 3 ? static_cast<std::ostream&>(file) : std::cout;
    const float* p = emb.data_ptr<float>();
    const auto n = emb.size(0), d = emb.size(1);
    std::string buf;
    for (std::int64_t i = 0; i < n; ++i) {
      buf = "[";
      for (std::int64_t j = 0; j < d; ++j) {
        char num[32];
        // Shortest text that reads back as the same float32.
        auto [end, ec] = std::to_chars(num, num + sizeof num, p[i * d + j]);
        if (j) buf += ',';
        buf.append(num, end);
      }
      buf += "]\n";
      out << buf;
    }
    out.flush();
    if (!out) throw std::runtime_error("write failed");
  } catch (const std::exception& e) {
    std::cerr << "encode: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
