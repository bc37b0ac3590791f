// SPDX-License-Identifier: Apache-2.0
// Datasets to Parquet, written natively: PLAIN values (optionally a dictionary for strings),
// data pages v1, UNCOMPRESSED / SNAPPY / GZIP / ZSTD, row groups of a chosen row count, and a
// Thrift-compact footer with the schema, row counts and column chunk metadata (no statistics).
// Column types: text -> BYTE_ARRAY (STRING), text list -> LIST<BYTE_ARRAY (STRING)>, score ->
// FLOAT (or DOUBLE), class -> INT64, vector -> LIST<FLOAT>; every column required, lists in
// the three-level layout pyarrow writes. The footer carries datasets' "huggingface" features
// key. See docs/data_formats.md.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include <sbert/data/dataset.hpp>
#include <sbert/data/detail/hf_features.hpp>
#include <sbert/data/detail/parquet_format.hpp>
#include <sbert/error.hpp>

namespace sbert {

enum class parquet_codec : std::int32_t { uncompressed = 0, snappy = 1, gzip = 2, zstd = 6 };

struct parquet_write_options {
  parquet_codec codec = parquet_codec::snappy;  // pyarrow's default
  /// Rows per row group (pyarrow's default: 1Mi).
  std::size_t row_group_rows = std::size_t{1} << 20;
  /// Target size of a data page's values before compression (pages end at row boundaries).
  std::size_t page_bytes = std::size_t{1} << 20;
  /// Text (and text-list) columns as a dictionary page plus RLE_DICTIONARY indices.
  bool dictionary = false;
  /// Gzip/Zstd level; 0: the codec's default as pyarrow uses it (Gzip 6, Zstd 1).
  int compression_level = 0;
  /// Score columns as DOUBLE instead of FLOAT.
  bool float64_scores = false;
};

namespace detail::pq {

/// The Thrift compact protocol, writing: structs are begun and ended explicitly (field ids
/// are delta-coded against the previous field of the same struct).
class thrift_writer {
 public:
  std::string out;

  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      out.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<char>(v));
  }
  void zigzag(std::int64_t v) { varint((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63)); }
  void str(std::string_view s) {
    varint(s.size());
    out.append(s);
  }
  void field(std::int16_t id, std::uint8_t type) {
    const int delta = id - last_;
    if (delta > 0 && delta <= 15) out.push_back(static_cast<char>(delta << 4 | type));
    else {
      out.push_back(static_cast<char>(type));
      zigzag(id);
    }
    last_ = id;
  }
  void begin() {  // a struct: top level, a list element, or after struct_field
    stack_.push_back(last_);
    last_ = 0;
  }
  void end() {
    out.push_back(static_cast<char>(t_stop));
    last_ = stack_.back();
    stack_.pop_back();
  }
  void struct_field(std::int16_t id) {
    field(id, t_struct);
    begin();
  }
  void i16(std::int16_t id, std::int64_t v) { field(id, t_i16); zigzag(v); }
  void i32(std::int16_t id, std::int64_t v) { field(id, t_i32); zigzag(v); }
  void i64(std::int16_t id, std::int64_t v) { field(id, t_i64); zigzag(v); }
  void binary(std::int16_t id, std::string_view s) { field(id, t_binary); str(s); }
  void list(std::int16_t id, std::uint8_t elem, std::size_t n) {
    field(id, t_list);
    if (n < 15) out.push_back(static_cast<char>(n << 4 | elem));
    else {
      out.push_back(static_cast<char>(0xf0 | elem));
      varint(n);
    }
  }

 private:
  std::int16_t last_ = 0;
  std::vector<std::int16_t> stack_;
};

/// `v` as one bit-packed run of the RLE/bit-packed hybrid (padded to a multiple of 8 values).
inline void put_bitpacked(std::string& out, const std::uint32_t* v, std::size_t n, int width) {
  if (n == 0) return;
  const std::size_t groups = (n + 7) / 8;
  std::uint64_t header = (static_cast<std::uint64_t>(groups) << 1) | 1;
  while (header >= 0x80) {
    out.push_back(static_cast<char>((header & 0x7f) | 0x80));
    header >>= 7;
  }
  out.push_back(static_cast<char>(header));
  std::uint64_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < groups * 8; ++i) {
    acc |= static_cast<std::uint64_t>(i < n ? v[i] : 0) << bits;
    for (bits += width; bits >= 8; bits -= 8, acc >>= 8) out.push_back(static_cast<char>(acc & 0xff));
  }
}

/// v1 levels: a 4-byte length, then the runs.
inline void put_levels(std::string& out, const std::vector<std::uint32_t>& levels) {
  const std::size_t at = out.size();
  out.append(4, '\0');
  put_bitpacked(out, levels.data(), levels.size(), 1);
  const auto len = static_cast<std::uint32_t>(out.size() - at - 4);
  std::memcpy(out.data() + at, &len, 4);
}

inline void compress(std::int32_t codec, int level, std::string_view in, std::string& out) {
  switch (codec) {
    case 1: {
      std::size_t n = snappy_max_compressed_length(in.size());
      out.resize(n);
      if (snappy_compress(in.data(), in.size(), out.data(), &n) != SNAPPY_OK) throw error("write_parquet: Snappy compression failed");
      out.resize(n);
      return;
    }
    case 6: {
      out.resize(ZSTD_compressBound(in.size()));
      const std::size_t r = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), level ? level : 1);
      if (ZSTD_isError(r)) throw error(std::string("write_parquet: Zstd compression failed: ") + ZSTD_getErrorName(r));
      out.resize(r);
      return;
    }
    case 2: {
      z_stream z{};
      if (deflateInit2(&z, level ? level : 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw error("write_parquet: zlib initialisation failed");
      out.resize(deflateBound(&z, static_cast<uLong>(in.size())));
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
      z.avail_in = static_cast<uInt>(in.size());
      z.next_out = reinterpret_cast<Bytef*>(out.data());
      z.avail_out = static_cast<uInt>(out.size());
      const int rc = deflate(&z, Z_FINISH);
      out.resize(z.total_out);
      deflateEnd(&z);
      if (rc != Z_STREAM_END) throw error("write_parquet: Gzip compression failed");
      return;
    }
    default: out.assign(in); return;
  }
}

/// One column of one row group, flattened: the values of every row (list elements in order)
/// and, for lists, how many elements each row has.
struct leaf_column {
  std::int32_t type = byte_array;
  bool is_list = false;
  std::vector<std::uint32_t> row_elems;
  std::vector<std::string_view> strings;
  std::vector<std::int64_t> ints;
  std::vector<float> floats;
  std::vector<double> doubles;

  std::size_t values() const {
    return type == byte_array ? strings.size() : type == int64 ? ints.size() : type == float32 ? floats.size() : doubles.size();
  }
  std::size_t value_bytes(std::size_t i) const {
    return type == byte_array ? 4 + strings[i].size() : type == float32 ? 4 : 8;
  }
  void plain(std::string& out, std::size_t b, std::size_t e) const {
    auto raw = [&](const auto& v) { out.append(reinterpret_cast<const char*>(v.data() + b), (e - b) * sizeof(v[0])); };
    if (type == int64) raw(ints);
    else if (type == float32) raw(floats);
    else if (type == float64) raw(doubles);
    else
      for (std::size_t i = b; i < e; ++i) {
        if (strings[i].size() > static_cast<std::size_t>(INT32_MAX)) throw error("write_parquet: a string is larger than 2 GiB");
        const auto n = static_cast<std::uint32_t>(strings[i].size());
        out.append(reinterpret_cast<const char*>(&n), 4);
        out.append(strings[i]);
      }
  }
};

template <class C>
leaf_column leaf_for(const std::vector<typename C::value_type>& v, std::size_t b, std::size_t e, bool f64) {
  leaf_column c;
  const auto first = v.begin() + static_cast<std::ptrdiff_t>(b), last = v.begin() + static_cast<std::ptrdiff_t>(e);
  if constexpr (C::kind == column_kind::text) {
    c.strings.assign(first, last);
  } else if constexpr (C::kind == column_kind::score) {
    c.type = f64 ? float64 : float32;
    if (f64) c.doubles.assign(first, last);
    else c.floats.assign(first, last);
  } else if constexpr (C::kind == column_kind::class_label) {
    c.type = int64;
    c.ints.assign(first, last);
  } else {
    c.is_list = true;
    c.type = C::kind == column_kind::text_list ? byte_array : float32;
    for (auto i = first; i != last; ++i) {
      c.row_elems.push_back(static_cast<std::uint32_t>(i->size()));
      if constexpr (C::kind == column_kind::text_list) c.strings.insert(c.strings.end(), i->begin(), i->end());
      else c.floats.insert(c.floats.end(), i->begin(), i->end());
    }
  }
  return c;
}

struct chunk_meta {
  std::int32_t type = 0, codec = 0;
  std::vector<std::string> path;
  std::vector<std::int32_t> encodings;
  std::int64_t num_values = 0, uncompressed = 0, compressed = 0;
  std::int64_t data_page_offset = 0, dictionary_page_offset = 0;
};

/// Writes pages to a file, counting its bytes.
class page_sink {
 public:
  page_sink(std::ofstream& out, const parquet_write_options& o) : out_(out), codec_(static_cast<std::int32_t>(o.codec)), level_(o.compression_level) {}
  std::uint64_t pos = 0;

  void write(std::string_view s) {
    out_.write(s.data(), static_cast<std::streamsize>(s.size()));
    pos += s.size();
  }
  /// A page: its header, then its content (compressed with the file's codec).
  void page(chunk_meta& m, const std::string& content, std::int32_t num_values, std::int32_t encoding, bool dictionary) {
    const std::string* body = &content;
    if (codec_ != 0) {
      compress(codec_, level_, content, packed_);
      body = &packed_;
    }
    if (content.size() > static_cast<std::size_t>(INT32_MAX) || body->size() > static_cast<std::size_t>(INT32_MAX))
      throw error("write_parquet: a page is larger than 2 GiB; lower parquet_write_options::page_bytes");
    thrift_writer h;
    h.begin();
    h.i32(1, dictionary ? dictionary_page : data_page);
    h.i32(2, static_cast<std::int64_t>(content.size()));
    h.i32(3, static_cast<std::int64_t>(body->size()));
    h.struct_field(dictionary ? 7 : 5);
    h.i32(1, num_values);
    h.i32(2, encoding);
    if (!dictionary) {
      h.i32(3, 3);  // levels in RLE
      h.i32(4, 3);
    }
    h.end();
    h.end();
    m.uncompressed += static_cast<std::int64_t>(h.out.size() + content.size());
    m.compressed += static_cast<std::int64_t>(h.out.size() + body->size());
    write(h.out);
    write(*body);
  }

 private:
  std::ofstream& out_;
  std::int32_t codec_;
  int level_;
  std::string packed_;
};

/// One column chunk: an optional dictionary page, then data pages of about o.page_bytes.
inline chunk_meta write_chunk(page_sink& sink, const leaf_column& c, std::vector<std::string> path, const parquet_write_options& o) {
  chunk_meta m;
  m.type = c.type;
  m.codec = static_cast<std::int32_t>(o.codec);
  m.path = std::move(path);
  m.encodings = {0};  // PLAIN
  if (c.is_list) m.encodings.push_back(3);  // RLE levels
  const std::size_t rows = c.is_list ? c.row_elems.size() : c.values();
  // dictionary indices of the values, when dictionary-encoded
  std::vector<std::uint32_t> idx;
  int width = 0;
  if (o.dictionary && c.type == byte_array) {
    std::unordered_map<std::string_view, std::uint32_t> seen;
    leaf_column dict;
    idx.reserve(c.strings.size());
    for (auto s : c.strings) {
      auto [it, fresh] = seen.try_emplace(s, static_cast<std::uint32_t>(dict.strings.size()));
      if (fresh) dict.strings.push_back(s);
      idx.push_back(it->second);
    }
    width = std::max(1, bit_width(dict.strings.size() > 1 ? dict.strings.size() - 1 : 1));
    std::string content;
    dict.plain(content, 0, dict.strings.size());
    m.dictionary_page_offset = static_cast<std::int64_t>(sink.pos);
    sink.page(m, content, static_cast<std::int32_t>(dict.strings.size()), 0, true);
    m.encodings.push_back(8);  // RLE_DICTIONARY
  }
  m.data_page_offset = static_cast<std::int64_t>(sink.pos);
  std::string content;
  std::vector<std::uint32_t> reps, defs;
  std::size_t row = 0, value = 0;
  while (row < rows) {
    // rows [row, r) whose values [value, v) fill about page_bytes
    std::size_t r = row, v = value, bytes = 0;
    while (r < rows && (r == row || bytes < o.page_bytes)) {
      const std::size_t n = c.is_list ? c.row_elems[r] : 1;
      for (std::size_t k = 0; k < n; ++k) bytes += idx.empty() ? c.value_bytes(v + k) : 4;
      v += n;
      ++r;
    }
    content.clear();
    std::size_t levels = r - row;
    if (c.is_list) {
      reps.clear();
      defs.clear();
      for (std::size_t i = row; i < r; ++i) {
        if (c.row_elems[i] == 0) {  // an empty list: one level below the element level
          reps.push_back(0);
          defs.push_back(0);
        }
        for (std::uint32_t k = 0; k < c.row_elems[i]; ++k) {
          reps.push_back(k ? 1 : 0);
          defs.push_back(1);
        }
      }
      levels = reps.size();
      put_levels(content, reps);
      put_levels(content, defs);
    }
    if (idx.empty()) {
      c.plain(content, value, v);
    } else {
      content.push_back(static_cast<char>(width));
      put_bitpacked(content, idx.data() + value, v - value, width);
    }
    if (levels > static_cast<std::size_t>(INT32_MAX)) throw error("write_parquet: a page holds more than 2^31 values; lower page_bytes");
    sink.page(m, content, static_cast<std::int32_t>(levels), idx.empty() ? 0 : 8, false);
    m.num_values += static_cast<std::int64_t>(levels);
    row = r;
    value = v;
  }
  return m;
}

/// A schema element of a required leaf (strings annotated as STRING).
inline void leaf_element(thrift_writer& w, std::int32_t type, std::string_view name) {
  w.begin();
  w.i32(1, type);
  w.i32(3, required);
  w.binary(4, name);
  if (type == byte_array) {
    w.i32(6, 0);  // converted type UTF8
    w.struct_field(10);
    w.struct_field(1);  // LogicalType STRING
    w.end();
    w.end();
  }
  w.end();
}

inline void schema_elements(thrift_writer& w, const std::string& name, std::int32_t type, bool is_list) {
  if (!is_list) return leaf_element(w, type, name);
  // name (LIST) > repeated group "list" > required "element", as pyarrow writes lists
  w.begin();
  w.i32(3, required);
  w.binary(4, name);
  w.i32(5, 1);
  w.i32(6, 3);  // converted type LIST
  w.struct_field(10);
  w.struct_field(3);  // LogicalType LIST
  w.end();
  w.end();
  w.end();
  w.begin();
  w.i32(3, repeated);
  w.binary(4, "list");
  w.i32(5, 1);
  w.end();
  leaf_element(w, type, "element");
}

struct row_group_out {
  std::vector<chunk_meta> chunks;
  std::int64_t rows = 0;
};

inline std::string file_footer(const std::vector<std::string>& names, const std::vector<std::pair<std::int32_t, bool>>& types,
                               const std::vector<row_group_out>& groups, std::int64_t rows, const std::string& hf_metadata) {
  thrift_writer w;
  w.begin();
  w.i32(1, 2);  // version
  std::size_t elements = 1;
  for (const auto& t : types) elements += t.second ? 3 : 1;
  w.list(2, t_struct, elements);
  w.begin();
  w.binary(4, "schema");
  w.i32(5, static_cast<std::int64_t>(names.size()));
  w.end();
  for (std::size_t i = 0; i < names.size(); ++i) schema_elements(w, names[i], types[i].first, types[i].second);
  w.i64(3, rows);
  w.list(4, t_struct, groups.size());
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const auto& rg = groups[g];
    w.begin();
    w.list(1, t_struct, rg.chunks.size());
    std::int64_t uncompressed = 0, compressed = 0;
    for (const auto& m : rg.chunks) {
      const std::int64_t start = m.dictionary_page_offset ? m.dictionary_page_offset : m.data_page_offset;
      uncompressed += m.uncompressed;
      compressed += m.compressed;
      w.begin();
      w.i64(2, start);  // file_offset
      w.struct_field(3);
      w.i32(1, m.type);
      w.list(2, t_i32, m.encodings.size());
      for (auto e : m.encodings) w.zigzag(e);
      w.list(3, t_binary, m.path.size());
      for (const auto& p : m.path) w.str(p);
      w.i32(4, m.codec);
      w.i64(5, m.num_values);
      w.i64(6, m.uncompressed);
      w.i64(7, m.compressed);
      w.i64(9, m.data_page_offset);
      if (m.dictionary_page_offset) w.i64(11, m.dictionary_page_offset);
      w.end();
      w.end();
    }
    w.i64(2, uncompressed);
    w.i64(3, rg.rows);
    if (!rg.chunks.empty()) {
      const auto& f = rg.chunks.front();
      w.i64(5, f.dictionary_page_offset ? f.dictionary_page_offset : f.data_page_offset);
    }
    w.i64(6, compressed);
    w.i16(7, static_cast<std::int64_t>(g));
    w.end();
  }
  w.list(5, t_struct, 1);  // key_value_metadata
  w.begin();
  w.binary(1, "huggingface");
  w.binary(2, hf_metadata);
  w.end();
  w.binary(6, "sbert");  // created_by
  w.end();
  return w.out;
}

}  // namespace detail::pq

/// The rows as one Parquet file (what read_parquet, pyarrow and datasets read).
template <Schema S>
void write_parquet(const dataset<S>& d, const std::string& path, const parquet_write_options& o = {}) {
  using cols = typename S::columns;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw error("write_parquet: cannot open '" + path + "' for writing");
  detail::pq::page_sink sink(out, o);
  sink.write("PAR1");
  std::vector<std::string> names(S::names.begin(), S::names.end());
  std::vector<std::pair<std::int32_t, bool>> types;
  std::vector<detail::pq::row_group_out> groups;
  const std::size_t step = std::max<std::size_t>(o.row_group_rows, 1);
  for (std::size_t lo = 0; lo < d.size(); lo += step) {
    const std::size_t hi = std::min(d.size(), lo + step);
    detail::pq::row_group_out rg;
    rg.rows = static_cast<std::int64_t>(hi - lo);
    types.clear();
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ([&] {
        using C = std::tuple_element_t<I, cols>;
        const auto leaf = detail::pq::leaf_for<C>(std::get<I>(d.columns()), lo, hi, o.float64_scores);
        std::vector<std::string> p{names[I]};
        if (leaf.is_list) p.insert(p.end(), {"list", "element"});
        types.emplace_back(leaf.type, leaf.is_list);
        rg.chunks.push_back(detail::pq::write_chunk(sink, leaf, std::move(p), o));
      }(), ...);
    }(std::make_index_sequence<S::column_count>{});
    groups.push_back(std::move(rg));
  }
  if (types.empty())  // no rows: the schema's types without a row group
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (types.emplace_back([&] {
        using C = std::tuple_element_t<I, cols>;
        const auto leaf = detail::pq::leaf_for<C>({}, 0, 0, o.float64_scores);
        return std::pair<std::int32_t, bool>(leaf.type, leaf.is_list);
      }()), ...);
    }(std::make_index_sequence<S::column_count>{});
  const std::string footer = detail::pq::file_footer(names, types, groups, static_cast<std::int64_t>(d.size()),
                                                     detail::hf_schema_metadata<S>(o.float64_scores));
  sink.write(footer);
  const auto len = static_cast<std::uint32_t>(footer.size());
  sink.write(std::string_view(reinterpret_cast<const char*>(&len), 4));
  sink.write("PAR1");
  out.close();
  if (!out) throw error("write_parquet: writing '" + path + "' failed");
}

}  // namespace sbert
