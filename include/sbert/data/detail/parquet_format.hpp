// SPDX-License-Identifier: Apache-2.0
// IWYU pragma: private, include <sbert/data/parquet.hpp>
// Parquet building blocks, written from the parquet-format specification: the Thrift compact
// protocol (for the footer and page headers), the RLE/bit-packed hybrid (levels, dictionary
// indices, RLE booleans) and page decompression. Every length read from a file is checked
// against the bytes that are there; a bad one is a std::runtime_error the caller words.
#pragma once
#include <lz4.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sbert::detail::pq {

struct format_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// ---- Thrift compact protocol --------------------------------------------------------------
enum ttype : std::uint8_t {
  t_stop = 0, t_true = 1, t_false = 2, t_byte = 3, t_i16 = 4, t_i32 = 5, t_i64 = 6,
  t_double = 7, t_binary = 8, t_list = 9, t_set = 10, t_map = 11, t_struct = 12
};

class thrift_reader {
 public:
  thrift_reader(const std::uint8_t* p, std::size_t n) : p_(p), end_(p + n), begin_(p) {}
  std::size_t consumed() const { return static_cast<std::size_t>(p_ - begin_); }

  std::uint8_t byte() {
    if (p_ >= end_) throw format_error("truncated Thrift data");
    return *p_++;
  }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const std::uint8_t b = byte();
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    throw format_error("a Thrift varint is too long");
  }
  std::int64_t zigzag() {
    const std::uint64_t v = varint();
    return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
  }
  std::int32_t i32() {
    const std::int64_t v = zigzag();
    if (v < INT32_MIN || v > INT32_MAX) throw format_error("a Thrift i32 is out of range");
    return static_cast<std::int32_t>(v);
  }
  std::string_view binary() {
    const std::uint64_t n = varint();
    if (n > static_cast<std::uint64_t>(end_ - p_)) throw format_error("a Thrift string runs past its data");
    std::string_view s(reinterpret_cast<const char*>(p_), static_cast<std::size_t>(n));
    p_ += n;
    return s;
  }
  /// Next field of a struct: false at its end. `last` is the previous field id (delta coding).
  bool field(std::int16_t& id, std::uint8_t& type, std::int16_t& last) {
    const std::uint8_t b = byte();
    type = b & 0x0f;
    if (type == t_stop) return false;
    const int delta = b >> 4;
    if (delta) id = static_cast<std::int16_t>(last + delta);
    else {
      const std::int64_t v = zigzag();
      if (v < INT16_MIN || v > INT16_MAX) throw format_error("a Thrift field id is out of range");
      id = static_cast<std::int16_t>(v);
    }
    last = id;
    return true;
  }
  /// A list header: element count and element type.
  std::size_t list(std::uint8_t& elem) {
    const std::uint8_t b = byte();
    elem = b & 0x0f;
    std::uint64_t n = b >> 4;
    if (n == 15) n = varint();
    // every element takes at least one byte, so a count beyond the data is malformed
    if (n > static_cast<std::uint64_t>(end_ - p_)) throw format_error("a Thrift list is longer than its data");
    return static_cast<std::size_t>(n);
  }
  bool boolean(std::uint8_t type) {  // a bool field carries its value in the type nibble
    if (type == t_true) return true;
    if (type == t_false) return false;
    throw format_error("a Thrift field has the wrong type");
  }
  void skip(std::uint8_t type, int depth = 0) {
    if (depth > 32) throw format_error("Thrift data nests too deeply");
    switch (type) {
      case t_true: case t_false: return;
      case t_byte: byte(); return;
      case t_i16: case t_i32: case t_i64: varint(); return;
      case t_double: advance(8); return;
      case t_binary: binary(); return;
      case t_list: case t_set: {
        std::uint8_t e = 0;
        const std::size_t n = list(e);
        for (std::size_t i = 0; i < n; ++i) {
          if (e == t_true || e == t_false) byte();  // bools in lists take a byte each
          else skip(e, depth + 1);
        }
        return;
      }
      case t_map: {
        const std::uint64_t n = varint();
        if (n == 0) return;
        if (n > static_cast<std::uint64_t>(end_ - p_)) throw format_error("a Thrift map is longer than its data");
        const std::uint8_t kv = byte();
        for (std::uint64_t i = 0; i < n; ++i) {
          skip(kv >> 4, depth + 1);
          skip(kv & 0x0f, depth + 1);
        }
        return;
      }
      case t_struct: {
        std::int16_t id = 0, last = 0;
        std::uint8_t t = 0;
        while (field(id, t, last)) skip(t, depth + 1);
        return;
      }
      default: throw format_error("unknown Thrift type " + std::to_string(type));
    }
  }
  void expect(std::uint8_t got, std::uint8_t want) {
    if (got != want) throw format_error("a Thrift field has the wrong type");
  }

 private:
  void advance(std::size_t n) {
    if (n > static_cast<std::size_t>(end_ - p_)) throw format_error("truncated Thrift data");
    p_ += n;
  }
  const std::uint8_t* p_;
  const std::uint8_t* end_;
  const std::uint8_t* begin_;
};

// ---- the metadata this reader uses (field ids from parquet.thrift) ------------------------
enum physical_type : std::int32_t { boolean = 0, int32 = 1, int64 = 2, int96 = 3, float32 = 4, float64 = 5, byte_array = 6, fixed_len_byte_array = 7 };
enum repetition : std::int32_t { required = 0, optional = 1, repeated = 2 };

inline std::string type_name(std::int32_t t) {
  static const char* names[] = {"BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
  return t >= 0 && t < 8 ? names[t] : "physical type " + std::to_string(t);
}
inline std::string encoding_name(std::int32_t e) {
  static const char* names[] = {"PLAIN", "GROUP_VAR_INT", "PLAIN_DICTIONARY", "RLE", "BIT_PACKED", "DELTA_BINARY_PACKED",
                                "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY", "RLE_DICTIONARY", "BYTE_STREAM_SPLIT"};
  return e >= 0 && e < 10 ? names[e] : "encoding " + std::to_string(e);
}
inline std::string codec_name(std::int32_t c) {
  static const char* names[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"};
  return c >= 0 && c < 8 ? names[c] : "codec " + std::to_string(c);
}

struct schema_element {
  std::int32_t type = -1;  // -1: a group
  std::int32_t repetition = required;
  std::string name;
  std::int32_t num_children = 0;
  std::int32_t converted_type = -1;
  bool has_logical = false;
  std::int16_t logical = 0;  // the LogicalType union member's field id
};

struct column_meta {
  std::int32_t type = -1;
  std::vector<std::string> path;
  std::int32_t codec = 0;
  std::int64_t num_values = 0;
  std::int64_t total_compressed_size = 0;
  std::int64_t data_page_offset = -1;
  std::int64_t dictionary_page_offset = 0;
};

struct row_group_meta {
  std::vector<column_meta> columns;
  std::int64_t num_rows = 0;
};

struct file_meta {
  std::vector<schema_element> schema;
  std::int64_t num_rows = 0;
  std::vector<row_group_meta> row_groups;
};

inline schema_element read_schema_element(thrift_reader& r) {
  schema_element e;
  std::int16_t id = 0, last = 0;
  std::uint8_t t = 0;
  while (r.field(id, t, last)) {
    if (id == 1 && t == t_i32) e.type = r.i32();
    else if (id == 3 && t == t_i32) e.repetition = r.i32();
    else if (id == 4 && t == t_binary) e.name = std::string(r.binary());
    else if (id == 5 && t == t_i32) e.num_children = r.i32();
    else if (id == 6 && t == t_i32) e.converted_type = r.i32();
    else if (id == 10 && t == t_struct) {
      // LogicalType is a union: remember which member is set
      std::int16_t lid = 0, llast = 0;
      std::uint8_t lt = 0;
      while (r.field(lid, lt, llast)) {
        e.has_logical = true;
        e.logical = lid;
        r.skip(lt);
      }
    } else r.skip(t);
  }
  return e;
}

inline column_meta read_column_meta(thrift_reader& r) {
  column_meta m;
  std::int16_t id = 0, last = 0;
  std::uint8_t t = 0;
  while (r.field(id, t, last)) {
    if (id == 1 && t == t_i32) m.type = r.i32();
    else if (id == 3 && t == t_list) {
      std::uint8_t e = 0;
      const std::size_t n = r.list(e);
      r.expect(e, t_binary);
      for (std::size_t i = 0; i < n; ++i) m.path.emplace_back(r.binary());
    } else if (id == 4 && t == t_i32) m.codec = r.i32();
    else if (id == 5 && t == t_i64) m.num_values = r.zigzag();
    else if (id == 7 && t == t_i64) m.total_compressed_size = r.zigzag();
    else if (id == 9 && t == t_i64) m.data_page_offset = r.zigzag();
    else if (id == 11 && t == t_i64) m.dictionary_page_offset = r.zigzag();
    else r.skip(t);
  }
  return m;
}

inline row_group_meta read_row_group(thrift_reader& r) {
  row_group_meta g;
  std::int16_t id = 0, last = 0;
  std::uint8_t t = 0;
  while (r.field(id, t, last)) {
    if (id == 1 && t == t_list) {
      std::uint8_t e = 0;
      const std::size_t n = r.list(e);
      r.expect(e, t_struct);
      for (std::size_t i = 0; i < n; ++i) {
        column_meta m;
        bool has_meta = false;
        std::int16_t cid = 0, clast = 0;
        std::uint8_t ct = 0;
        while (r.field(cid, ct, clast)) {
          if (cid == 1 && ct == t_binary) {
            if (!r.binary().empty()) throw format_error("column chunks in other files (ColumnChunk.file_path) are not supported");
          } else if (cid == 3 && ct == t_struct) {
            m = read_column_meta(r);
            has_meta = true;
          } else r.skip(ct);
        }
        if (!has_meta) throw format_error("a column chunk has no metadata");
        g.columns.push_back(std::move(m));
      }
    } else if (id == 3 && t == t_i64) g.num_rows = r.zigzag();
    else r.skip(t);
  }
  return g;
}

inline file_meta read_file_meta(const std::uint8_t* p, std::size_t n) {
  thrift_reader r(p, n);
  file_meta f;
  std::int16_t id = 0, last = 0;
  std::uint8_t t = 0;
  while (r.field(id, t, last)) {
    if ((id == 2 || id == 4) && t == t_list) {
      std::uint8_t e = 0;
      const std::size_t count = r.list(e);
      r.expect(e, t_struct);
      for (std::size_t i = 0; i < count; ++i) {
        if (id == 2) f.schema.push_back(read_schema_element(r));
        else f.row_groups.push_back(read_row_group(r));
      }
    } else if (id == 3 && t == t_i64) f.num_rows = r.zigzag();
    else r.skip(t);
  }
  if (f.schema.empty()) throw format_error("the footer has no schema");
  return f;
}

enum page_type : std::int32_t { data_page = 0, index_page = 1, dictionary_page = 2, data_page_v2 = 3 };

struct page_header {
  std::int32_t type = -1;
  std::int32_t uncompressed_size = -1;
  std::int32_t compressed_size = -1;
  std::int32_t num_values = -1;
  std::int32_t encoding = 0;
  std::int32_t def_encoding = 3, rep_encoding = 3;
  std::int32_t def_bytes = 0, rep_bytes = 0;  // v2
  bool is_compressed = true;                   // v2
  std::size_t header_size = 0;
};

inline page_header read_page_header(const std::uint8_t* p, std::size_t n) {
  thrift_reader r(p, n);
  page_header h;
  std::int16_t id = 0, last = 0;
  std::uint8_t t = 0;
  while (r.field(id, t, last)) {
    if (id == 1 && t == t_i32) h.type = r.i32();
    else if (id == 2 && t == t_i32) h.uncompressed_size = r.i32();
    else if (id == 3 && t == t_i32) h.compressed_size = r.i32();
    else if ((id == 5 || id == 7 || id == 8) && t == t_struct) {
      std::int16_t sid = 0, slast = 0;
      std::uint8_t st = 0;
      while (r.field(sid, st, slast)) {
        if (sid == 1 && st == t_i32) h.num_values = r.i32();
        else if (id == 5 && sid == 2 && st == t_i32) h.encoding = r.i32();
        else if (id == 5 && sid == 3 && st == t_i32) h.def_encoding = r.i32();
        else if (id == 5 && sid == 4 && st == t_i32) h.rep_encoding = r.i32();
        else if (id == 7 && sid == 2 && st == t_i32) h.encoding = r.i32();
        else if (id == 8 && sid == 4 && st == t_i32) h.encoding = r.i32();
        else if (id == 8 && sid == 5 && st == t_i32) h.def_bytes = r.i32();
        else if (id == 8 && sid == 6 && st == t_i32) h.rep_bytes = r.i32();
        else if (id == 8 && sid == 7 && (st == t_true || st == t_false)) h.is_compressed = r.boolean(st);
        else r.skip(st);
      }
    } else r.skip(t);
  }
  if (h.uncompressed_size < 0 || h.compressed_size < 0) throw format_error("a page header has a negative or missing page size");
  h.header_size = r.consumed();
  return h;
}

// ---- RLE / bit-packed hybrid ---------------------------------------------------------------
inline int bit_width(std::uint64_t max_value) {
  int w = 0;
  while (max_value) { ++w; max_value >>= 1; }
  return w;
}

/// Decode exactly `count` values of `width` bits from `data` into `out` (appended).
inline void decode_hybrid(const std::uint8_t* p, std::size_t n, int width, std::size_t count, std::vector<std::uint32_t>& out) {
  if (width < 0 || width > 32) throw format_error("an RLE bit width of " + std::to_string(width) + " is out of range");
  const std::uint8_t* end = p + n;
  const std::size_t start = out.size();
  const std::size_t value_bytes = static_cast<std::size_t>((width + 7) / 8);
  while (out.size() - start < count) {
    std::uint64_t header = 0;
    for (int shift = 0;; shift += 7) {
      if (p >= end) throw format_error("RLE data ends before all its values");
      if (shift > 35) throw format_error("an RLE run header is too long");
      const std::uint8_t b = *p++;
      header |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    const std::size_t left = count - (out.size() - start);
    if (header & 1) {  // bit-packed: groups of 8 values
      const std::uint64_t groups = header >> 1;
      if (groups == 0) throw format_error("an empty bit-packed run");
      const std::uint64_t bytes = groups * static_cast<std::uint64_t>(width);
      const std::uint64_t values = groups * 8;
      // the last run may be cut short by the page end when its padding is not written
      const std::size_t have = static_cast<std::size_t>(end - p);
      const std::size_t use_bytes = bytes > have ? have : static_cast<std::size_t>(bytes);
      std::size_t take = values < left ? static_cast<std::size_t>(values) : left;
      if (width > 0 && static_cast<std::uint64_t>(take) * static_cast<std::uint64_t>(width) > use_bytes * 8ull)
        throw format_error("a bit-packed run runs past its data");
      std::uint64_t acc = 0;
      int bits = 0;
      const std::uint8_t* q = p;
      const std::uint32_t mask = width == 32 ? 0xffffffffu : ((1u << width) - 1u);
      for (std::size_t i = 0; i < take; ++i) {
        while (bits < width) {
          acc |= static_cast<std::uint64_t>(*q++) << bits;
          bits += 8;
        }
        out.push_back(static_cast<std::uint32_t>(acc) & mask);
        acc = width == 0 ? acc : acc >> width;
        bits -= width;
      }
      p += use_bytes;
    } else {
      const std::uint64_t run = header >> 1;
      if (value_bytes > static_cast<std::size_t>(end - p)) throw format_error("an RLE run value runs past its data");
      std::uint32_t v = 0;
      for (std::size_t i = 0; i < value_bytes; ++i) v |= static_cast<std::uint32_t>(p[i]) << (8 * i);
      p += value_bytes;
      if (width < 32 && (v >> width)) throw format_error("an RLE run value is wider than its bit width");
      const std::size_t take = run < left ? static_cast<std::size_t>(run) : left;
      if (run == 0) throw format_error("an empty RLE run");
      out.insert(out.end(), take, v);
    }
  }
}

// ---- decompression -------------------------------------------------------------------------
/// One LZ4 block that must decode to exactly `expected` bytes (LZ4_decompress_safe never
/// writes past `expected` nor reads past `n`).
inline bool lz4_block(const std::uint8_t* src, std::size_t n, std::uint8_t* dst, std::size_t expected) {
  if (n > static_cast<std::size_t>(LZ4_MAX_INPUT_SIZE) || expected > static_cast<std::size_t>(INT32_MAX)) return false;
  const int r = LZ4_decompress_safe(reinterpret_cast<const char*>(src), reinterpret_cast<char*>(dst), static_cast<int>(n),
                                    static_cast<int>(expected));
  return r >= 0 && static_cast<std::size_t>(r) == expected;
}

/// Hadoop's LZ4 framing: blocks of [big-endian uint32 decompressed size][uint32 compressed
/// size][LZ4 block], filling exactly `expected` bytes from exactly `n`.
inline bool lz4_hadoop(const std::uint8_t* src, std::size_t n, std::uint8_t* dst, std::size_t expected) {
  auto be32 = [](const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
  };
  std::size_t in = 0, out = 0;
  while (n - in >= 8) {
    const std::size_t raw = be32(src + in), packed = be32(src + in + 4);
    in += 8;
    if (packed > n - in || raw > expected - out) return false;
    if (!lz4_block(src + in, packed, dst + out, raw)) return false;
    in += packed;
    out += raw;
  }
  return in == n && out == expected;
}

inline void decompress(std::int32_t codec, const std::uint8_t* src, std::size_t n, std::vector<std::uint8_t>& out,
                       std::size_t expected) {
  // the stated size is checked against what the stream can hold before any allocation
  if (codec == 1) {
    std::size_t len = 0;
    if (snappy_uncompressed_length(reinterpret_cast<const char*>(src), n, &len) != SNAPPY_OK || len != expected)
      throw format_error("a Snappy page does not decompress to its stated size");
  } else if (codec == 6) {
    const unsigned long long len = ZSTD_getFrameContentSize(src, n);
    if (len == ZSTD_CONTENTSIZE_ERROR || (len != ZSTD_CONTENTSIZE_UNKNOWN && len != expected))
      throw format_error("a Zstd page does not decompress to its stated size");
  } else if (codec == 2 && expected / 1100 > n + 64) {  // deflate expands at most ~1032:1
    throw format_error("a GZIP page states a size its data cannot hold");
  } else if ((codec == 5 || codec == 7) && expected / 256 > n + 16) {  // an LZ4 block expands at most ~255:1
    throw format_error("an " + codec_name(codec) + " page states a size its data cannot hold");
  }
  out.resize(expected);
  switch (codec) {
    case 1: {  // SNAPPY
      std::size_t len = expected;
      if (snappy_uncompress(reinterpret_cast<const char*>(src), n, reinterpret_cast<char*>(out.data()), &len) != SNAPPY_OK ||
          len != expected)
        throw format_error("a Snappy page is corrupt");
      return;
    }
    case 6: {  // ZSTD
      const std::size_t r = ZSTD_decompress(out.data(), expected, src, n);
      if (ZSTD_isError(r) || r != expected)
        throw format_error(std::string("a Zstd page is corrupt or has the wrong size") +
                           (ZSTD_isError(r) ? std::string(": ") + ZSTD_getErrorName(r) : std::string()));
      return;
    }
    case 2: {  // GZIP; concatenated members continue the same output
      z_stream z{};
      if (inflateInit2(&z, 15 + 32) != Z_OK) throw format_error("zlib initialisation failed");
      z.next_in = const_cast<Bytef*>(src);
      z.avail_in = static_cast<uInt>(n);
      z.next_out = out.data();
      z.avail_out = static_cast<uInt>(expected);
      for (;;) {
        const int rc = inflate(&z, Z_NO_FLUSH);
        if (rc == Z_STREAM_END) {
          if (z.avail_in == 0) break;
          inflateReset(&z);  // the next gzip member continues the output
          continue;
        }
        if (rc == Z_OK) continue;
        // Z_BUF_ERROR: out of input, or the output is full with input left
        inflateEnd(&z);
        throw format_error(rc == Z_BUF_ERROR ? "a GZIP page does not decompress to its stated size" : "a GZIP page is corrupt");
      }
      const std::size_t got = expected - z.avail_out;
      inflateEnd(&z);
      if (got != expected) throw format_error("a GZIP page does not decompress to its stated size");
      return;
    }
    case 7: {  // LZ4_RAW: one LZ4 block, no framing
      if (!lz4_block(src, n, out.data(), expected)) throw format_error("an LZ4_RAW page is corrupt or has the wrong size");
      return;
    }
    case 5: {  // LZ4 (deprecated): Hadoop's framing, or else one raw block (older parquet-cpp wrote that)
      if (!lz4_hadoop(src, n, out.data(), expected) && !lz4_block(src, n, out.data(), expected))
        throw format_error("an LZ4 page is corrupt or has the wrong size (neither Hadoop-framed nor a raw LZ4 block)");
      return;
    }
    default: throw format_error("unsupported codec " + codec_name(codec));
  }
}

}  // namespace sbert::detail::pq
