// SPDX-License-Identifier: Apache-2.0
// The safetensors format (Hugging Face): 8-byte little-endian header length N, N bytes of JSON,
// then the tensor bytes. Torch-free. The reader memory-maps the file and checks every offset,
// size and shape against it before handing out a byte range, so a corrupt or hostile file is a
// model_error naming the file and tensor, never an out-of-bounds read. The writer lays files
// out as the Python/Rust library does (tensors by descending dtype then name, header padded
// with spaces to 8 bytes), so sbert and Python write identical bytes for the same tensors.
#pragma once
#include <sbert/detail/compiled.hpp>
#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <simdjson.h>

#include <sbert/error.hpp>
#include <sbert/io/json_writer.hpp>

namespace sbert::safetensors {

static_assert(std::endian::native == std::endian::little,
              "safetensors stores little-endian data; sbert reads it in place");

/// Element types, in the order of the Rust crate's Dtype enum (the writer sorts by it).
enum class dtype : std::uint8_t {
  BOOL, U8, I8, F8_E5M2, F8_E4M3, F8_E8M0, I16, U16, F16, BF16, I32, U32, F32, C64, F64, I64, U64
};

inline constexpr std::pair<dtype, std::string_view> dtype_names[] = {
    {dtype::BOOL, "BOOL"}, {dtype::U8, "U8"},   {dtype::I8, "I8"},
    {dtype::F8_E5M2, "F8_E5M2"}, {dtype::F8_E4M3, "F8_E4M3"}, {dtype::F8_E8M0, "F8_E8M0"},
    {dtype::I16, "I16"},   {dtype::U16, "U16"}, {dtype::F16, "F16"},  {dtype::BF16, "BF16"},
    {dtype::I32, "I32"},   {dtype::U32, "U32"}, {dtype::F32, "F32"},  {dtype::C64, "C64"},
    {dtype::F64, "F64"},   {dtype::I64, "I64"}, {dtype::U64, "U64"}};

[[nodiscard]] constexpr std::size_t element_size(dtype t) {
  switch (t) {
    case dtype::BOOL: case dtype::U8: case dtype::I8:
    case dtype::F8_E5M2: case dtype::F8_E4M3: case dtype::F8_E8M0: return 1;
    case dtype::I16: case dtype::U16: case dtype::F16: case dtype::BF16: return 2;
    case dtype::I32: case dtype::U32: case dtype::F32: return 4;
    case dtype::C64: case dtype::F64: case dtype::I64: case dtype::U64: return 8;
  }
  return 0;
}

[[nodiscard]] constexpr std::string_view name_of(dtype t) {
  for (auto [d, n] : dtype_names)
    if (d == t) return n;
  return "?";
}

[[nodiscard]] constexpr std::optional<dtype> parse_dtype(std::string_view s) {
  for (auto [d, n] : dtype_names)
    if (n == s) return d;
  return std::nullopt;
}

/// One tensor's entry in the header, already checked against the file.
struct tensor_info {
  std::string name;
  dtype type = dtype::F32;
  std::vector<std::int64_t> shape;
  std::size_t begin = 0;  // byte offsets into the data section
  std::size_t end = 0;

  [[nodiscard]] std::size_t numel() const {
    std::size_t n = 1;
    for (auto d : shape) n *= static_cast<std::size_t>(d);
    return n;
  }
  [[nodiscard]] std::size_t nbytes() const { return end - begin; }
};

/// The parsed header. `tensors` keeps the header's order; `data_start` = 8 + N.
struct header {
  std::vector<tensor_info> tensors;
  std::vector<std::pair<std::string, std::string>> metadata;
  std::size_t data_start = 0;
};

/// The Rust crate's limit; a larger header is treated as corrupt, not allocated.
inline constexpr std::uint64_t max_header_size = 100'000'000;

/// Parses and validates the header of a whole file image `file` (named `path` in errors).
/// Checks: length prefix, header size, JSON syntax and UTF-8, known dtypes, non-negative
/// integer shapes and offsets, size = numel × element size, and that the tensors tile the data
/// section exactly (no gap, no overlap, nothing past the end, nothing left over).
#if SBERT_DEFINITIONS
[[nodiscard]] SBERT_INLINE header parse_header(std::span<const std::byte> file, const std::string& path) {
  auto fail = [&](const std::string& what, const std::string& tensor = {}) -> model_error {
    std::string m = path.empty() ? std::string("<memory>") : path;
    if (!tensor.empty()) m += ": tensor '" + tensor + "'";
    return model_error(m + ": " + what);
  };
  if (file.size() < 8)
    throw fail("not a safetensors file: " + std::to_string(file.size()) +
               " bytes, shorter than the 8-byte header length");
  std::uint64_t n = 0;
  std::memcpy(&n, file.data(), 8);
  if (n > max_header_size)
    throw fail("header length " + std::to_string(n) + " is absurd (limit " +
               std::to_string(max_header_size) + "); the file is corrupt or not safetensors");
  if (n > file.size() - 8)
    throw fail("header length " + std::to_string(n) + " runs past the end of the file (" +
               std::to_string(file.size()) + " bytes); the file is truncated");
  if (n < 2) throw fail("header of " + std::to_string(n) + " bytes cannot hold a JSON object");
  const std::string_view text(reinterpret_cast<const char*>(file.data()) + 8,
                              static_cast<std::size_t>(n));
  if (text.front() != '{') throw fail("header does not start with '{'");

  header h;
  h.data_start = 8 + static_cast<std::size_t>(n);
  const std::size_t data_size = file.size() - h.data_start;

  simdjson::dom::parser parser;
  simdjson::padded_string padded(text);
  simdjson::dom::element root;
  if (auto err = parser.parse(padded).get(root))
    throw fail(std::string("header is not valid JSON: ") + simdjson::error_message(err));
  simdjson::dom::object obj;
  if (root.get_object().get(obj)) throw fail("header is not a JSON object");

  std::unordered_set<std::string_view> seen;
  bool seen_metadata = false;
  for (auto [key, val] : obj) {
    const std::string name(key);
    if (key == "__metadata__") {
      if (seen_metadata) throw fail("__metadata__ appears twice");
      seen_metadata = true;
      if (val.is_null()) continue;
      simdjson::dom::object meta;
      if (val.get_object().get(meta)) throw fail("__metadata__ is not an object of strings");
      for (auto [mk, mv] : meta) {
        std::string_view s;
        if (mv.get_string().get(s))
          throw fail("__metadata__ value of '" + std::string(mk) + "' is not a string");
        h.metadata.emplace_back(std::string(mk), std::string(s));
      }
      continue;
    }
    if (!seen.insert(key).second) throw fail("tensor listed twice in the header", name);
    simdjson::dom::object t;
    if (val.get_object().get(t)) throw fail("header entry is not an object", name);

    tensor_info info;
    info.name = name;
    std::string_view dt;
    if (t["dtype"].get_string().get(dt)) throw fail("missing or non-string 'dtype'", name);
    auto parsed = parse_dtype(dt);
    if (!parsed) throw fail("unsupported dtype '" + std::string(dt) + "'", name);
    info.type = *parsed;

    simdjson::dom::array shape;
    if (t["shape"].get_array().get(shape)) throw fail("missing or non-array 'shape'", name);
    std::uint64_t numel = 1;
    bool overflow = false;
    for (auto d : shape) {
      std::uint64_t dim = 0;
      if (d.get_uint64().get(dim)) throw fail("shape holds a non-integer or negative dimension", name);
      if (dim > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        throw fail("shape dimension too large", name);
      if (dim != 0 && numel > std::numeric_limits<std::uint64_t>::max() / dim) overflow = true;
      else numel *= dim;
      info.shape.push_back(static_cast<std::int64_t>(dim));
    }
    if (overflow && numel != 0) throw fail("shape overflows the element count", name);
    if (std::find(info.shape.begin(), info.shape.end(), 0) != info.shape.end()) numel = 0;

    simdjson::dom::array offs;
    if (t["data_offsets"].get_array().get(offs)) throw fail("missing or non-array 'data_offsets'", name);
    std::uint64_t o[2];
    std::size_t k = 0;
    for (auto v : offs) {
      if (k == 2) throw fail("'data_offsets' must hold exactly two integers", name);
      if (v.get_uint64().get(o[k])) throw fail("'data_offsets' holds a non-integer or negative value", name);
      ++k;
    }
    if (k != 2) throw fail("'data_offsets' must hold exactly two integers", name);
    if (o[0] > o[1])
      throw fail("data_offsets [" + std::to_string(o[0]) + ", " + std::to_string(o[1]) +
                 "] end before they begin", name);
    if (o[1] > data_size)
      throw fail("data_offsets [" + std::to_string(o[0]) + ", " + std::to_string(o[1]) +
                 "] run past the data section (" + std::to_string(data_size) + " bytes)", name);
    const auto esize = element_size(info.type);
    if (numel > std::numeric_limits<std::uint64_t>::max() / esize ||
        numel * esize != o[1] - o[0])
      throw fail("size mismatch: shape and dtype " + std::string(name_of(info.type)) + " need " +
                 std::to_string(numel) + " x " + std::to_string(esize) + " bytes but data_offsets span " +
                 std::to_string(o[1] - o[0]), name);
    info.begin = static_cast<std::size_t>(o[0]);
    info.end = static_cast<std::size_t>(o[1]);
    h.tensors.push_back(std::move(info));
  }

  // The tensors must tile [0, data_size) exactly: sorted by offset, each starts where the
  // previous ended. This rules out overlaps (aliasing) and unaccounted bytes.
  std::vector<const tensor_info*> order;
  for (const auto& t : h.tensors) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  std::size_t pos = 0;
  for (const auto* t : order) {
    if (t->begin < pos) throw fail("overlaps the tensor before it in the file", t->name);
    if (t->begin > pos)
      throw fail("leaves a gap of " + std::to_string(t->begin - pos) + " bytes before it", t->name);
    pos = t->end;
  }
  if (pos != data_size)
    throw fail("the tensors cover " + std::to_string(pos) + " bytes but the data section holds " +
               std::to_string(data_size) + " (trailing or missing data)");
  return h;
}
#else
[[nodiscard]] header parse_header(std::span<const std::byte> file, const std::string& path);
#endif

/// A read-only safetensors file: memory-mapped from disk, or an owned byte buffer.
class reader {
 public:
  /// Maps `path` and validates its header.
  [[nodiscard]] static reader open(const std::string& path);

  /// Takes ownership of an in-memory file image (tests, fuzzing, downloads).
  [[nodiscard]] static reader from_bytes(std::vector<std::byte> bytes, std::string name = {});

  reader(reader&& o) noexcept { *this = std::move(o); }
  reader& operator=(reader&& o) noexcept {
    if (this != &o) {
      release();
      path_ = std::move(o.path_);
      owned_ = std::move(o.owned_);
      map_ = std::exchange(o.map_, nullptr);
      size_ = std::exchange(o.size_, 0);
      base_ = map_ ? static_cast<const std::byte*>(map_) : owned_.data();
      header_ = std::move(o.header_);
      o.base_ = nullptr;
    }
    return *this;
  }
  reader(const reader&) = delete;
  reader& operator=(const reader&) = delete;
  ~reader() { release(); }

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] const std::vector<tensor_info>& tensors() const { return header_.tensors; }
  [[nodiscard]] const std::vector<std::pair<std::string, std::string>>& metadata() const {
    return header_.metadata;
  }
  [[nodiscard]] const tensor_info* find(std::string_view name) const {
    for (const auto& t : header_.tensors)
      if (t.name == name) return &t;
    return nullptr;
  }
  [[nodiscard]] const tensor_info& at(std::string_view name) const {
    if (auto* t = find(name)) return *t;
    throw model_error((path_.empty() ? std::string("<memory>") : path_) + ": tensor '" +
                      std::string(name) + "' not found");
  }
  /// The tensor's bytes (validated by parse_header; valid while the reader lives).
  [[nodiscard]] std::span<const std::byte> data(const tensor_info& t) const {
    return {base_ + header_.data_start + t.begin, t.nbytes()};
  }
  [[nodiscard]] std::span<const std::byte> bytes() const { return {base_, size_}; }

 private:
  reader() = default;
  void release() {
    if (map_) ::munmap(map_, size_);
    map_ = nullptr;
  }

  std::string path_;
  std::vector<std::byte> owned_;
  void* map_ = nullptr;
  const std::byte* base_ = nullptr;
  std::size_t size_ = 0;
  header header_;
};

/// A tensor to write: its bytes are borrowed for the duration of the call.
struct tensor_ref {
  std::string name;
  dtype type = dtype::F32;
  std::vector<std::int64_t> shape;
  std::span<const std::byte> data;
};

/// The file image for `tensors` + `metadata`, laid out as the Python library does.
#if SBERT_DEFINITIONS
[[nodiscard]] SBERT_INLINE std::vector<std::byte> serialize(
    std::vector<tensor_ref> tensors,
    const std::vector<std::pair<std::string, std::string>>& metadata = {{"format", "pt"}}) {
  std::sort(tensors.begin(), tensors.end(), [](const tensor_ref& a, const tensor_ref& b) {
    return a.type != b.type ? a.type > b.type : a.name < b.name;
  });
  std::string h = "{";
  bool first = true;
  if (!metadata.empty()) {
    h += "\"__metadata__\":{";
    for (std::size_t i = 0; i < metadata.size(); ++i) {
      if (i) h += ',';
      json::write_string(h, metadata[i].first, false);
      h += ':';
      json::write_string(h, metadata[i].second, false);
    }
    h += '}';
    first = false;
  }
  std::size_t offset = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    if (i > 0 && t.name == tensors[i - 1].name)
      throw model_error("safetensors: tensor '" + t.name + "' given twice");
    std::size_t numel = 1;
    for (auto d : t.shape) {
      if (d < 0) throw model_error("safetensors: tensor '" + t.name + "' has a negative dimension");
      numel *= static_cast<std::size_t>(d);
    }
    if (numel * element_size(t.type) != t.data.size())
      throw model_error("safetensors: tensor '" + t.name + "' has " +
                        std::to_string(t.data.size()) + " bytes, its shape and dtype need " +
                        std::to_string(numel * element_size(t.type)));
    if (!first) h += ',';
    first = false;
    json::write_string(h, t.name, false);
    h += ":{\"dtype\":\"";
    h += name_of(t.type);
    h += "\",\"shape\":[";
    for (std::size_t k = 0; k < t.shape.size(); ++k) {
      if (k) h += ',';
      h += std::to_string(t.shape[k]);
    }
    h += "],\"data_offsets\":[" + std::to_string(offset) + "," +
         std::to_string(offset + t.data.size()) + "]}";
    offset += t.data.size();
  }
  h += '}';
  h.append((8 - h.size() % 8) % 8, ' ');  // data starts 8-byte aligned

  std::vector<std::byte> out(8 + h.size() + offset);
  const std::uint64_t n = h.size();
  std::memcpy(out.data(), &n, 8);
  std::memcpy(out.data() + 8, h.data(), h.size());
  std::byte* p = out.data() + 8 + h.size();
  for (const auto& t : tensors) {
    if (!t.data.empty()) std::memcpy(p, t.data.data(), t.data.size());
    p += t.data.size();
  }
  return out;
}
#else
[[nodiscard]] std::vector<std::byte> serialize(
    std::vector<tensor_ref> tensors,
    const std::vector<std::pair<std::string, std::string>>& metadata = {{"format", "pt"}});
#endif

/// Writes `tensors` to `path` (via a temporary file and rename, so a crash leaves no half file).
#if SBERT_DEFINITIONS
SBERT_INLINE void save_file(const std::string& path, std::vector<tensor_ref> tensors,
                      const std::vector<std::pair<std::string, std::string>>& metadata = {
                          {"format", "pt"}}) {
  const auto bytes = serialize(std::move(tensors), metadata);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw model_error(path + ": cannot open for writing");
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    f.flush();
    if (!f) throw model_error(path + ": write failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw model_error(path + ": cannot rename " + tmp + ": " + std::strerror(errno));
}
#else
void save_file(const std::string& path, std::vector<tensor_ref> tensors,
               const std::vector<std::pair<std::string, std::string>>& metadata = {
                   {"format", "pt"}});
#endif

#if SBERT_DEFINITIONS

SBERT_INLINE reader reader::open(const std::string& path) {
  reader r;
  r.path_ = path;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw model_error(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw model_error(path + ": not a regular file");
  }
  r.size_ = static_cast<std::size_t>(st.st_size);
  if (r.size_ > 0) {
    void* p = ::mmap(nullptr, r.size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      throw model_error(path + ": cannot map: " + std::strerror(errno));
    }
    r.map_ = p;
    r.base_ = static_cast<const std::byte*>(p);
  }
  ::close(fd);
  r.header_ = parse_header(r.bytes(), path);
  return r;
}

SBERT_INLINE reader reader::from_bytes(std::vector<std::byte> bytes, std::string name) {
  reader r;
  r.path_ = std::move(name);
  r.owned_ = std::move(bytes);
  r.base_ = r.owned_.data();
  r.size_ = r.owned_.size();
  r.header_ = parse_header(r.bytes(), r.path_);
  return r;
}
#endif  // SBERT_DEFINITIONS

}  // namespace sbert::safetensors
