// GPU checks of the model stack (run by benchmarks/gpu/run_device_check.sh on a CUDA machine):
// reference parity on the CPU and on CUDA (all 12 pooling variants), fp16/bf16 deviations,
// and sbert-written folders (for python_compare.py to load in the Python library).
//
//   device_check <shared_dir> <out_dir>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <csignal>
#include <execinfo.h>
#include <unistd.h>

#include <simdjson.h>
#include <torch/cuda.h>

#include <sbert/models/sentence_transformer.hpp>

namespace fs = std::filesystem;
using namespace sbert::models;

namespace {
at::Tensor matrix(simdjson::dom::array rows) {
  std::vector<double> v;
  std::int64_t n = 0, m = 0;
  for (auto r : rows) {
    m = 0;
    for (auto x : r.get_array()) { v.push_back(double(x)); ++m; }
    ++n;
  }
  return at::from_blob(v.data(), {n, m}, at::kDouble).to(at::kFloat);
}
double diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kCPU).to(at::kDouble) - b.to(at::kCPU).to(at::kDouble)).abs().max().item<double>();
}
void write_matrix(const std::string& path, const at::Tensor& t) {
  auto c = t.to(at::kCPU).to(at::kFloat).contiguous();
  std::ofstream f(path);
  f << "[";
  for (std::int64_t i = 0; i < c.size(0); ++i) {
    f << (i ? ",\n[" : "[");
    for (std::int64_t j = 0; j < c.size(1); ++j) {
      char buf[32];
      auto [e, ec] = std::to_chars(buf, buf + 32, c[i][j].item<float>());
      f << (j ? "," : "") << std::string(buf, e);
    }
    f << "]";
  }
  f << "]\n";
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: device_check <shared_dir> <out_dir> [encoder_reference_dir]\n");
    return 2;
  }
  std::setvbuf(stdout, nullptr, _IONBF, 0);  // progress survives a crash
  std::signal(SIGSEGV, [](int) {
    void* frames[64];
    const int n = backtrace(frames, 64);
    backtrace_symbols_fd(frames, n, STDERR_FILENO);
    _exit(139);
  });
  const std::string shared = argv[1], out = argv[2];
  const std::string refdir = shared + "/reference";
  simdjson::dom::parser parser;
  simdjson::dom::element ref = parser.load(refdir + "/embeddings.json");
  std::vector<std::string> s;
  for (auto x : ref["sentences"].get_array()) s.emplace_back(std::string_view(x.get_string()));
  const bool cuda = torch::cuda::is_available();
  std::printf("libtorch %s, CUDA available: %s\n", TORCH_VERSION, cuda ? "yes" : "no");
  const c10::Device gpu = cuda ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  int failures = 0;
  auto check = [&](const char* what, double d, double tol) {
    const bool ok = d <= tol;
    failures += !ok;
    std::printf("%-58s max|diff| %.3g  (tol %.0e) %s\n", what, d, tol, ok ? "ok" : "FAIL");
  };

  for (const char* mode : {"mean", "cls", "max", "mean_sqrt_len_tokens", "weightedmean", "lasttoken"}) {
    for (bool norm : {false, true}) {
      const std::string variant = std::string(mode) + (norm ? "-normalize" : "");
      std::printf("-- %s\n", variant.c_str());
      const auto dir = out + "/variant-" + variant;
      fs::copy(refdir + "/tiny-bert-st", dir, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
      for (const char* f : {"modules.json", "1_Pooling/config.json"})
        fs::copy_file(refdir + "/tiny-bert-st-variants/" + variant + "/" + f, dir + "/" + f,
                      fs::copy_options::overwrite_existing);
      auto m = sentence_transformer::load(dir, c10::Device(c10::kCPU));
      const auto expected = matrix(ref["embeddings"][mode][norm ? "normalized" : "plain"].get_array());
      const auto cpu = m->encode(s, {.batch_size = 40});
      check((variant + " cpu fp32 vs Python").c_str(), diff(cpu, expected), norm ? 1e-6 : 1e-5);
      m->to(gpu);
      const auto g = m->encode(s, {.batch_size = 40});
      check((variant + " cuda fp32 vs cpu").c_str(), diff(g, cpu), 1e-4);
      check((variant + " cuda fp32 vs Python").c_str(), diff(g, expected), 1e-4);
    }
  }

  // Folders for the Python library: the re-saved tiny model, and a new model from parts.
  auto tiny = sentence_transformer::load(refdir + "/tiny-bert-st", c10::Device(c10::kCPU));
  tiny->save(out + "/sbert-tiny");
  write_matrix(out + "/sbert-tiny.json", tiny->encode(s, {.batch_size = 40}));

  at::manual_seed(1);
  bert_config c;
  c.hidden_size = 96; c.num_hidden_layers = 3; c.num_attention_heads = 3; c.intermediate_size = 192;
  auto t = std::make_shared<transformer>(std::make_shared<bert_model>(c), load_tokenizer(refdir + "/tiny-bert-st"),
                                         transformer_options{.max_seq_length = 48});
  auto mods = std::vector<std::shared_ptr<module>>{
      t, std::make_shared<pooling>(pooling::mode(96, "weightedmean")),
      std::make_shared<dense>(dense::options{.in_features = 96, .out_features = 32}), std::make_shared<normalize>()};
  auto fresh = std::make_shared<sentence_transformer>(mods);
  fresh->prompts = {{"query", "query: "}, {"document", ""}};
  fresh->similarity_fn = sbert::similarity_function::dot;
  fresh->save(out + "/sbert-new");
  write_matrix(out + "/sbert-new.json", fresh->encode(s, {.batch_size = 40}));
  write_matrix(out + "/sbert-new-query.json", fresh->encode(s, {.batch_size = 40, .prompt_name = "query"}));

  {  // An MPNet sentence model (MPNetTokenizer layout over tiny-bert's vocabulary, bias table at
     // std 1 so it matters), for Python to load: transformers' MPNetModel against mpnet_model.
    const std::string tokdir = out + "/mpnet-tokenizer";
    fs::create_directories(tokdir);
    std::ifstream vin(refdir + "/tiny-bert-st/vocab.txt", std::ios::binary);
    std::string vocab((std::istreambuf_iterator<char>(vin)), std::istreambuf_iterator<char>());
    if (!vocab.empty() && vocab.back() != '\n') vocab += '\n';
    std::ofstream(tokdir + "/vocab.txt", std::ios::binary) << "<s>\n<pad>\n</s>\n<unk>\n" << vocab << "<mask>\n";
    std::ofstream(tokdir + "/tokenizer_config.json")
        << R"({"tokenizer_class": "MPNetTokenizer", "do_lower_case": true, "model_max_length": 512})";
    auto tok = std::make_shared<wordpiece_tokenizer>(
        wordpiece_tokenizer::from_vocab_file(tokdir + "/vocab.txt", tokdir + "/tokenizer_config.json"));
    at::manual_seed(2);
    mpnet_config mc;
    mc.vocab_size = static_cast<std::int64_t>(tok->vocab_size());
    mc.hidden_size = 64; mc.num_hidden_layers = 2; mc.num_attention_heads = 4; mc.intermediate_size = 128;
    mc.max_position_embeddings = 130;
    auto enc = std::make_shared<mpnet_model>(mc);
    {
      at::NoGradGuard ng;
      enc->relative_attention_bias->weight.normal_(0.0, 1.0);
    }
    auto mp = sentence_transformer::from_parts(
        std::make_shared<transformer>(enc, tok, transformer_options{.max_seq_length = 64}), "mean", true);
    mp->save(out + "/sbert-mpnet");
    write_matrix(out + "/sbert-mpnet.json", mp->encode(s, {.batch_size = 40}));
  }
  if (cuda) {  // half precision last (CPU half LayerNorm is missing in libtorch 1.13)
    auto h = sentence_transformer::load(refdir + "/tiny-bert-st", c10::Device(c10::kCPU));
    h->to(gpu);
    const auto base = h->encode(s, {.batch_size = 40});
    h->to(at::kHalf);
    std::printf("%-58s max|diff| %.3g (information)\n", "mean cuda fp16 vs fp32", diff(h->encode(s, {.batch_size = 40}), base));
    h->to(at::kBFloat16);
    std::printf("%-58s max|diff| %.3g (information)\n", "mean cuda bf16 vs fp32", diff(h->encode(s, {.batch_size = 40}), base));
  }
  if (argc == 4) {  // RoBERTa / XLM-R / DistilBERT / MPNet checkpoints from transformers (encoder_reference.py)
    for (const char* name : {"roberta", "xlm-roberta", "distilbert", "mpnet"}) {
      const std::string dir = std::string(argv[3]) + "/" + name;
      simdjson::dom::parser p2;
      simdjson::dom::element r = p2.load(dir + "/reference.json");
      auto ids = matrix(r["input_ids"].get_array()).to(at::kLong);
      auto mask = matrix(r["attention_mask"].get_array()).to(at::kLong);
      std::vector<at::Tensor> rows;
      for (auto x : r["last_hidden_state"].get_array()) rows.push_back(matrix(x.get_array()));
      auto expected = at::stack(rows);
      auto enc = load_encoder(dir);
      enc->eval();
      at::NoGradGuard ng;
      auto h = enc->forward(ids, mask, {});
      // Only attended positions: HF's padded rows are not meaningful.
      auto m = mask.unsqueeze(-1).to(at::kFloat);
      check((std::string(name) + " cpu fp32 vs transformers").c_str(), diff(h * m, expected * m), 1e-5);
      enc->to(gpu);
      auto hg = enc->forward(ids.to(gpu), mask.to(gpu), {}).to(at::kCPU);
      check((std::string(name) + " cuda fp32 vs transformers").c_str(), diff(hg * m, expected * m), 1e-4);
    }
  }
  std::printf("device_check: %d failure(s)\n", failures);
  return failures ? 1 : 0;
}
