// SPDX-License-Identifier: Apache-2.0
// Datasets to Arrow IPC and to Hugging Face `save_to_disk` folders: write_arrow writes one
// Arrow IPC *stream* (the format `Dataset.save_to_disk` writes; uncompressed unless asked), save_to_disk a
// folder of data-NNNNN-of-NNNNN.arrow shards with the state.json and dataset_info.json that
// Python's `datasets.load_from_disk` reads, and save_dataset_dict_to_disk a DatasetDict
// folder. Column types: text -> Utf8, text list -> List<Utf8>, score -> Float32 (or Float64),
// class -> Int64, vector -> List<Float32>; no nulls. See docs/arrow.md.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <sbert/data/dataset.hpp>
#include <sbert/data/dataset_dict.hpp>
#include <sbert/data/detail/arrow_format.hpp>
#include <sbert/data/detail/hf_features.hpp>
#include <sbert/error.hpp>
#include <sbert/io/json_writer.hpp>

namespace sbert {

/// Body compression of the record batches (Arrow's BodyCompression, one frame per buffer).
enum class arrow_compression { none, lz4_frame, zstd };

struct arrow_write_options {
  /// Rows per record batch (1000: datasets' default writer batch size).
  std::size_t batch_rows = 1000;
  /// none (as datasets writes), lz4_frame (pyarrow's Feather default) or zstd. A buffer that
  /// does not shrink is stored as it is, with the length prefix -1, as the format allows.
  arrow_compression compression = arrow_compression::none;
  /// LZ4 / Zstd level; 0: the library's default (LZ4 fast, Zstd 1, as Arrow C++).
  int compression_level = 0;
  /// save_to_disk: how many data-NNNNN-of-NNNNN.arrow files the rows are split into.
  std::size_t num_shards = 1;
  /// Score columns as Float64 instead of Float32.
  bool float64_scores = false;
};

namespace detail::arrow {

/// A forward-only FlatBuffers builder: each table's vtable precedes it and its strings,
/// vectors and sub-tables follow it, so every uoffset points forward as the format requires.
class fb_builder {
 public:
  struct field {
    int id;
    int size;  // 1, 2, 4 or 8 bytes; 0 for a uoffset linked later
    std::uint64_t value;
  };
  std::string b;
  std::size_t last = 0;   // where the last table starts
  std::size_t start = 0;  // where the last string or vector starts

  fb_builder() { raw<std::uint32_t>(0); }  // the root offset, linked to the first table
  void pad(std::size_t a) { b.append((a - b.size() % a) % a, '\0'); }
  template <class T>
  void raw(T v) { b.append(reinterpret_cast<const char*>(&v), sizeof v); }
  template <class T>
  void put(std::size_t pos, T v) { std::memcpy(b.data() + pos, &v, sizeof v); }
  /// Points the uoffset at `slot` to `target` (which lies after it).
  void link(std::size_t slot, std::size_t target) { put<std::uint32_t>(slot, static_cast<std::uint32_t>(target - slot)); }

  /// Writes a table; returns the slot position of each uoffset field (0 for scalars).
  std::vector<std::size_t> table(const std::vector<field>& fs) {
    int slots = 0;
    for (const auto& f : fs) slots = std::max(slots, f.id + 1);
    pad(4);
    const std::size_t vt = b.size();
    raw<std::uint16_t>(static_cast<std::uint16_t>(4 + 2 * slots));
    raw<std::uint16_t>(0);
    b.append(2 * static_cast<std::size_t>(slots), '\0');
    pad(8);
    const std::size_t t = last = b.size();
    raw<std::int32_t>(static_cast<std::int32_t>(t - vt));  // soffset: the vtable is before
    std::vector<std::size_t> where;
    for (const auto& f : fs) {
      const auto n = static_cast<std::size_t>(f.size ? f.size : 4);
      pad(n);
      put<std::uint16_t>(vt + 4 + 2 * static_cast<std::size_t>(f.id), static_cast<std::uint16_t>(b.size() - t));
      where.push_back(f.size ? 0 : b.size());
      b.append(reinterpret_cast<const char*>(&f.value), n);
    }
    put<std::uint16_t>(vt + 2, static_cast<std::uint16_t>(b.size() - t));
    return where;
  }
  /// A vector of `n` uoffsets; returns their slots.
  std::vector<std::size_t> offset_vector(std::size_t n) {
    pad(4);
    start = b.size();
    raw<std::uint32_t>(static_cast<std::uint32_t>(n));
    std::vector<std::size_t> slots;
    for (std::size_t i = 0; i < n; ++i) {
      slots.push_back(b.size());
      raw<std::uint32_t>(0);
    }
    return slots;
  }
  /// A vector of 16-byte structs of two int64 (FieldNode, Buffer).
  void pair_vector(const std::vector<std::int64_t>& pairs) {
    while ((b.size() + 4) % 8) b.push_back('\0');  // the structs start 8-aligned
    start = b.size();
    raw<std::uint32_t>(static_cast<std::uint32_t>(pairs.size() / 2));
    b.append(reinterpret_cast<const char*>(pairs.data()), pairs.size() * 8);
  }
  void string(std::string_view s) {
    pad(4);
    start = b.size();
    raw<std::uint32_t>(static_cast<std::uint32_t>(s.size()));
    b.append(s);
    b.push_back('\0');
  }
  /// Writes the string and points `slot` at it.
  void string_at(std::size_t slot, std::string_view s) {
    string(s);
    link(slot, start);
  }
};

inline constexpr std::uint64_t metadata_v5 = 4;

/// A field to write: Utf8, Int64, Float32/64 or List of one child.
struct out_field {
  std::string name;
  type_id type;
  int bits = 0;
  std::vector<out_field> children;
};

inline out_field out_field_for(std::string name, column_kind k, bool float64_scores) {
  switch (k) {
    case column_kind::text: return {std::move(name), type_id::utf8, 0, {}};
    case column_kind::text_list: return {std::move(name), type_id::list, 0, {{"item", type_id::utf8, 0, {}}}};
    case column_kind::score: return {std::move(name), type_id::floating, float64_scores ? 64 : 32, {}};
    case column_kind::class_label: return {std::move(name), type_id::int_, 64, {}};
    case column_kind::vector: return {std::move(name), type_id::list, 0, {{"item", type_id::floating, 32, {}}}};
  }
  return {};
}

inline void write_field(fb_builder& f, std::size_t slot, const out_field& d) {
  // Field: name 0, nullable 1, type_type 2, type 3, children 5 (Arrow C++ requires the vector)
  auto s = f.table({{0, 0, 0}, {1, 1, 1}, {2, 1, static_cast<std::uint64_t>(d.type)}, {3, 0, 0}, {5, 0, 0}});
  f.link(slot, f.last);
  f.string_at(s[0], d.name);
  if (d.type == type_id::int_) f.table({{0, 4, 64}, {1, 1, 1}});                  // Int{bitWidth, is_signed}
  else if (d.type == type_id::floating) f.table({{0, 2, d.bits == 64 ? 2u : 1u}});  // FloatingPoint{precision}
  else f.table({});                                                               // Utf8, List
  f.link(s[3], f.last);
  const auto kids = f.offset_vector(d.children.size());
  f.link(s[4], f.start);
  for (std::size_t i = 0; i < kids.size(); ++i) write_field(f, kids[i], d.children[i]);
}

/// One message: continuation marker, metadata length (padded so the body starts 8-aligned), body.
inline void frame(std::ostream& out, std::string meta, std::string_view body) {
  meta.append((8 - meta.size() % 8) % 8, '\0');
  const std::uint32_t head[2] = {0xFFFFFFFFu, static_cast<std::uint32_t>(meta.size())};
  out.write(reinterpret_cast<const char*>(head), 8);
  out.write(meta.data(), static_cast<std::streamsize>(meta.size()));
  out.write(body.data(), static_cast<std::streamsize>(body.size()));
}

inline std::string schema_message(const std::vector<out_field>& fields, std::string_view hf_metadata) {
  fb_builder f;
  auto m = f.table({{0, 2, metadata_v5}, {1, 1, 1 /* Schema */}, {2, 0, 0}, {3, 8, 0}});
  f.link(0, f.last);
  auto s = f.table({{0, 2, 0 /* little-endian */}, {1, 0, 0}, {2, 0, 0}});
  f.link(m[2], f.last);
  const auto slots = f.offset_vector(fields.size());
  f.link(s[1], f.start);
  for (std::size_t i = 0; i < fields.size(); ++i) write_field(f, slots[i], fields[i]);
  const auto kv = f.offset_vector(1);
  f.link(s[2], f.start);
  auto pair = f.table({{0, 0, 0}, {1, 0, 0}});  // KeyValue{key, value}
  f.link(kv[0], f.last);
  f.string_at(pair[0], "huggingface");
  f.string_at(pair[1], hf_metadata);
  return f.b;
}

/// A record batch body under construction: field nodes, buffers (offset, length), bytes.
struct batch_body {
  std::vector<std::int64_t> nodes, buffers;
  std::string bytes;

  void node(std::size_t length) { nodes.insert(nodes.end(), {static_cast<std::int64_t>(length), 0}); }
  void no_validity() { buffers.insert(buffers.end(), {static_cast<std::int64_t>(bytes.size()), 0}); }
  void buffer(const void* p, std::size_t n) {
    buffers.insert(buffers.end(), {static_cast<std::int64_t>(bytes.size()), static_cast<std::int64_t>(n)});
    bytes.append(static_cast<const char*>(p), n);
    bytes.append((8 - bytes.size() % 8) % 8, '\0');  // every buffer starts 8-aligned
  }
  static std::int32_t offset(std::size_t n, const char* what) {
    if (n > static_cast<std::size_t>(INT32_MAX))
      throw error(std::string("write_arrow: a record batch holds more than 2 GiB of ") + what + "; lower arrow_write_options::batch_rows");
    return static_cast<std::int32_t>(n);
  }
  template <class It>
  void strings(It b, It e) {
    node(static_cast<std::size_t>(e - b));
    no_validity();
    std::vector<std::int32_t> offs;
    offs.reserve(static_cast<std::size_t>(e - b) + 1);
    std::size_t total = 0;
    offs.push_back(0);
    for (It i = b; i != e; ++i) offs.push_back(offset(total += i->size(), "text"));
    buffer(offs.data(), offs.size() * 4);
    const std::size_t at = bytes.size();
    buffers.insert(buffers.end(), {static_cast<std::int64_t>(at), static_cast<std::int64_t>(total)});
    bytes.reserve(at + total + 8);
    for (It i = b; i != e; ++i) bytes.append(*i);
    bytes.append((8 - bytes.size() % 8) % 8, '\0');
  }
  template <class T>
  void numbers(const std::vector<T>& v) {
    node(v.size());
    no_validity();
    buffer(v.data(), v.size() * sizeof(T));
  }
  /// A List: its offsets, then its child from the concatenated rows.
  template <class It, class Child>
  void list(It b, It e, Child child) {
    node(static_cast<std::size_t>(e - b));
    no_validity();
    std::vector<std::int32_t> offs{0};
    std::size_t total = 0;
    for (It i = b; i != e; ++i) offs.push_back(offset(total += i->size(), "list elements"));
    buffer(offs.data(), offs.size() * 4);
    child(total);
  }
};

template <class C>
void put_column(batch_body& body, const std::vector<typename C::value_type>& v, std::size_t b, std::size_t e, bool float64) {
  const auto first = v.begin() + static_cast<std::ptrdiff_t>(b), last = v.begin() + static_cast<std::ptrdiff_t>(e);
  if constexpr (C::kind == column_kind::text) {
    body.strings(first, last);
  } else if constexpr (C::kind == column_kind::score) {
    if (float64) body.numbers(std::vector<double>(first, last));
    else body.numbers(std::vector<float>(first, last));
  } else if constexpr (C::kind == column_kind::class_label) {
    body.numbers(std::vector<std::int64_t>(first, last));
  } else if constexpr (C::kind == column_kind::text_list) {
    body.list(first, last, [&](std::size_t n) {
      std::vector<std::string_view> all;
      all.reserve(n);
      for (auto i = first; i != last; ++i) all.insert(all.end(), i->begin(), i->end());
      body.strings(all.begin(), all.end());
    });
  } else {
    body.list(first, last, [&](std::size_t n) {
      std::vector<float> all;
      all.reserve(n);
      for (auto i = first; i != last; ++i) all.insert(all.end(), i->begin(), i->end());
      body.numbers(all);
    });
  }
}

/// The body with each non-empty buffer as an 8-byte uncompressed length and one LZ4 or Zstd
/// frame (or -1 and the bytes as they are, when the frame would not be smaller).
inline batch_body compress_body(const batch_body& in, arrow_compression c, int level) {
  batch_body out;
  out.nodes = in.nodes;
  std::string frame_bytes;
  for (std::size_t k = 0; k + 1 < in.buffers.size(); k += 2) {
    const auto* src = in.bytes.data() + in.buffers[k];
    const auto n = static_cast<std::size_t>(in.buffers[k + 1]);
    if (n == 0) {  // empty buffers stay empty, without a prefix
      out.buffers.insert(out.buffers.end(), {static_cast<std::int64_t>(out.bytes.size()), 0});
      continue;
    }
    if (c == arrow_compression::lz4_frame) {
      LZ4F_preferences_t prefs{};
      prefs.compressionLevel = level;
      frame_bytes.resize(LZ4F_compressFrameBound(n, &prefs));
      const std::size_t r = LZ4F_compressFrame(frame_bytes.data(), frame_bytes.size(), src, n, &prefs);
      if (LZ4F_isError(r)) throw error(std::string("write_arrow: LZ4 compression failed: ") + LZ4F_getErrorName(r));
      frame_bytes.resize(r);
    } else {
      frame_bytes.resize(ZSTD_compressBound(n));
      const std::size_t r = ZSTD_compress(frame_bytes.data(), frame_bytes.size(), src, n, level == 0 ? 1 : level);
      if (ZSTD_isError(r)) throw error(std::string("write_arrow: Zstd compression failed: ") + ZSTD_getErrorName(r));
      frame_bytes.resize(r);
    }
    const bool smaller = frame_bytes.size() < n;
    const std::int64_t prefix = smaller ? static_cast<std::int64_t>(n) : -1;
    std::string piece(reinterpret_cast<const char*>(&prefix), 8);
    piece.append(smaller ? std::string_view(frame_bytes) : std::string_view(src, n));
    out.buffer(piece.data(), piece.size());
  }
  return out;
}

inline std::string batch_message(std::size_t rows, const batch_body& body, arrow_compression c = arrow_compression::none) {
  fb_builder f;
  auto m = f.table({{0, 2, metadata_v5}, {1, 1, 3 /* RecordBatch */}, {2, 0, 0}, {3, 8, body.bytes.size()}});
  f.link(0, f.last);
  const bool compressed = c != arrow_compression::none;
  auto r = compressed ? f.table({{0, 8, rows}, {1, 0, 0}, {2, 0, 0}, {3, 0, 0}}) : f.table({{0, 8, rows}, {1, 0, 0}, {2, 0, 0}});
  f.link(m[2], f.last);
  f.pair_vector(body.nodes);
  f.link(r[1], f.start);
  f.pair_vector(body.buffers);
  f.link(r[2], f.start);
  if (compressed) {  // BodyCompression{codec: LZ4_FRAME 0 / ZSTD 1, method: BUFFER 0}
    f.table({{0, 1, c == arrow_compression::zstd ? 1u : 0u}, {1, 1, 0}});
    f.link(r[3], f.last);
  }
  return f.b;
}

template <class S>
std::vector<out_field> out_fields(bool float64_scores) {
  std::vector<out_field> out;
  std::apply([&](auto... c) { (out.push_back(out_field_for(std::string(decltype(c)::name), decltype(c)::kind, float64_scores)), ...); },
             typename S::columns{});
  return out;
}

/// Rows [b, e) as an IPC stream: schema, record batches of o.batch_rows, end-of-stream marker.
template <class S>
void write_stream(std::ostream& out, const dataset<S>& d, std::size_t b, std::size_t e, const arrow_write_options& o) {
  frame(out, schema_message(out_fields<S>(o.float64_scores), hf_schema_metadata<S>(o.float64_scores)), {});
  const std::size_t step = std::max<std::size_t>(o.batch_rows, 1);
  for (std::size_t lo = b; lo < e; lo += step) {
    const std::size_t hi = std::min(e, lo + step);
    batch_body body;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (put_column<std::tuple_element_t<I, typename S::columns>>(body, std::get<I>(d.columns()), lo, hi, o.float64_scores), ...);
    }(std::make_index_sequence<S::column_count>{});
    if (o.compression != arrow_compression::none) body = compress_body(body, o.compression, o.compression_level);
    frame(out, batch_message(hi - lo, body, o.compression), body.bytes);
  }
  const std::uint32_t eos[2] = {0xFFFFFFFFu, 0};
  out.write(reinterpret_cast<const char*>(eos), 8);
}

inline std::ofstream open_for_writing(const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw error("cannot open '" + path + "' for writing");
  return out;
}
inline void finish_writing(std::ofstream& out, const std::string& path) {
  out.close();
  if (!out) throw error("writing '" + path + "' failed");
}

inline void write_json_file(const std::string& path, const json::value& v) {
  auto out = open_for_writing(path);
  json::dump_options o;
  o.indent = 2;
  const std::string s = json::dump(v, o);
  out.write(s.data(), static_cast<std::streamsize>(s.size()));
  finish_writing(out, path);
}

}  // namespace detail::arrow

/// The rows as one uncompressed Arrow IPC stream file (what read_arrow and pyarrow's
/// `ipc.open_stream` read).
template <Schema S>
void write_arrow(const dataset<S>& d, const std::string& path, const arrow_write_options& o = {}) {
  auto out = detail::arrow::open_for_writing(path);
  detail::arrow::write_stream(out, d, 0, d.size(), o);
  detail::arrow::finish_writing(out, path);
}

/// A `Dataset.save_to_disk` folder: data-NNNNN-of-NNNNN.arrow shards (o.num_shards, rows split
/// evenly in order), dataset_info.json (the features) and state.json, as datasets writes them,
/// so Python's `datasets.load_from_disk` and sbert::load_from_disk read it. `split` goes to
/// state.json's "_split" (empty: null). The folder is created; files in it are replaced.
template <Schema S>
void save_to_disk(const dataset<S>& d, const std::string& folder, const arrow_write_options& o = {}, const std::string& split = {}) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) throw error("save_to_disk: cannot create the folder '" + folder + "': " + ec.message());
  const std::size_t shards = std::max<std::size_t>(o.num_shards, 1);
  auto files = json::value::make_array();
  std::string names;
  for (std::size_t k = 0; k < shards; ++k) {
    char name[64];
    std::snprintf(name, sizeof name, "data-%05zu-of-%05zu.arrow", k, shards);
    const std::string path = (fs::path(folder) / name).string();
    auto out = detail::arrow::open_for_writing(path);
    // shard k holds rows [k*n/shards, (k+1)*n/shards), as datasets' contiguous shards do
    detail::arrow::write_stream(out, d, k * d.size() / shards, (k + 1) * d.size() / shards, o);
    detail::arrow::finish_writing(out, path);
    files.push(json::value::make_object().set("filename", std::string(name)));
    names += name;
  }
  const auto features = detail::hf_features<S>(o.float64_scores);
  detail::arrow::write_json_file((fs::path(folder) / "dataset_info.json").string(),
                                 json::value::make_object()
                                     .set("citation", "")
                                     .set("description", "")
                                     .set("features", features)
                                     .set("homepage", "")
                                     .set("license", ""));
  // datasets writes these keys sorted; an empty _format_kwargs and null format mean "python objects"
  detail::arrow::write_json_file(
      (fs::path(folder) / "state.json").string(),
      json::value::make_object()
          .set("_data_files", files)
          .set("_fingerprint", detail::fingerprint_hex(names + std::to_string(d.size()) + json::dump(features)))
          .set("_format_columns", nullptr)
          .set("_format_kwargs", json::value::make_object())
          .set("_format_type", nullptr)
          .set("_output_all_columns", false)
          .set("_split", split.empty() ? json::value() : json::value(split)));
}

/// A `DatasetDict.save_to_disk` folder: dataset_dict.json ({"splits": [...]}) and one
/// save_to_disk folder per split.
template <Schema S>
void save_dataset_dict_to_disk(const dataset_dict<S>& dd, const std::string& folder, const arrow_write_options& o = {}) {
  namespace fs = std::filesystem;
  auto splits = json::value::make_array();
  for (const auto& [name, d] : dd) {
    if (name.empty() || fs::path(name).has_parent_path() || name == "." || name == "..")
      throw error("save_dataset_dict_to_disk: the split name '" + name + "' is not a plain folder name");
    save_to_disk(d, (fs::path(folder) / name).string(), o, name);
    splits.push(name);
  }
  detail::arrow::write_json_file((fs::path(folder) / "dataset_dict.json").string(), json::value::make_object().set("splits", splits));
}

}  // namespace sbert
