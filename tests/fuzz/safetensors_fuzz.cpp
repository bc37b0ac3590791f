// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the safetensors header parser: any byte string is a candidate file.
// The parser must either accept it (and then every tensor range lies inside the input) or
// throw sbert::model_error; anything else (a crash, an ASan report, another exception) is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include <sbert/io/safetensors.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> file(reinterpret_cast<const std::byte*>(data), size);
  try {
    const auto h = sbert::safetensors::parse_header(file, "fuzz.safetensors");
    for (const auto& t : h.tensors)
      if (h.data_start + t.end > size || t.begin > t.end) std::abort();
  } catch (const sbert::model_error&) {
  }
  return 0;
}

#ifdef SBERT_FUZZ_STANDALONE
// Without libFuzzer (gcc builds): replay the files named on the command line, then a fixed
// stream of pseudo-random mutations of a valid file, so ctest still exercises the target.
#include <algorithm>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>
int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::ifstream f(argv[i], std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(f)), {});
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  }
  std::vector<std::byte> payload(24);
  const auto seed = sbert::safetensors::serialize(
      {{"a", sbert::safetensors::dtype::F32, {2, 2}, std::span(payload).first(16)},
       {"b", sbert::safetensors::dtype::I16, {4}, std::span(payload).subspan(16, 8)}});
  std::mt19937 rng(12345);
  for (int iter = 0; iter < 200000; ++iter) {
    std::vector<std::uint8_t> m(reinterpret_cast<const std::uint8_t*>(seed.data()),
                                reinterpret_cast<const std::uint8_t*>(seed.data()) + seed.size());
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      switch (rng() % 4) {
        case 0: m[rng() % m.size()] = static_cast<std::uint8_t>(rng()); break;
        case 1: m.resize(rng() % (m.size() + 1)); if (m.empty()) m.push_back(0); break;
        case 2: m.insert(m.begin() + static_cast<long>(rng() % m.size()), static_cast<std::uint8_t>("0123456789,[]{}\":-e"[rng() % 19])); break;
        default: m[std::min<std::size_t>(rng() % 8, m.size() - 1)] ^= static_cast<std::uint8_t>(1u << (rng() % 8)); break;  // the length prefix
      }
    }
    LLVMFuzzerTestOneInput(m.data(), m.size());
  }
  return 0;
}
#endif
