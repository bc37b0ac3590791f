// Small file helpers shared by the torch-free logging tests: a fresh per-process temporary
// folder, a file's bytes, and bytes as hex for known-answer checks.
#pragma once
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include <unistd.h>

namespace sbert::test {

/// `{tmp}/sbert_test_{name}_{pid}`, emptied and created.
inline std::filesystem::path fresh_dir(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() / ("sbert_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

/// The whole file, byte for byte.
inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

/// Lower-case hex of the bytes.
inline std::string hex(std::string_view s) {
  static constexpr char d[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

}  // namespace sbert::test
