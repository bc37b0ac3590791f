// SPDX-License-Identifier: Apache-2.0
// IWYU pragma: private, include <sbert/data/arrow.hpp>
// The non-template core of the Arrow IPC reader: a bounds-checked FlatBuffers table reader,
// the metadata of the Arrow format (Schema, Field, Message, RecordBatch, DictionaryBatch,
// Footer) as described by the public Schema.fbs/Message.fbs/File.fbs, and typed access to the
// values of one array. Every offset and length is checked against its buffer; malformed bytes
// throw sbert::input_error, never read outside the input.
#pragma once
#include <lz4frame.h>
#include <simdjson.h>
#include <zstd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <stdexcept>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <sbert/error.hpp>

namespace sbert::detail::arrow {

/// Thrown for malformed bytes; the reader adds the file name.
struct format_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] inline void bad(const std::string& why) { throw format_error(why); }

template <class T>
T load_le(const std::uint8_t* p) {  // the format is little-endian; so are the hosts we build for
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// ---- FlatBuffers ---------------------------------------------------------------------------
// A table is found through a signed offset to its vtable; fields through the vtable's
// uint16 slots; strings, vectors and sub-tables through uint32 offsets forward.
struct fb_table {
  const std::uint8_t* buf = nullptr;
  std::size_t size = 0, pos = 0, vt = 0, vt_size = 0;

  static fb_table at(const std::uint8_t* b, std::size_t n, std::size_t pos) {
    fb_table t;
    t.buf = b;
    t.size = n;
    t.pos = pos;
    if (pos > n || n - pos < 4) bad("a metadata table lies outside the metadata");
    const std::int64_t vt = static_cast<std::int64_t>(pos) - load_le<std::int32_t>(b + pos);
    if (vt < 0 || static_cast<std::uint64_t>(vt) + 4 > n) bad("a metadata vtable lies outside the metadata");
    t.vt = static_cast<std::size_t>(vt);
    t.vt_size = load_le<std::uint16_t>(b + t.vt);
    if (t.vt_size < 4 || t.vt_size % 2 || t.vt + t.vt_size > n) bad("a metadata vtable has a bad size");
    return t;
  }
  static fb_table root(const std::uint8_t* b, std::size_t n) {
    if (n < 4) bad("the metadata is shorter than its root offset");
    return at(b, n, load_le<std::uint32_t>(b));
  }
  // Position of field `i`, or 0 when absent.
  std::size_t field(int i) const {
    const std::size_t slot = 4 + 2 * static_cast<std::size_t>(i);
    if (slot + 2 > vt_size) return 0;
    const std::uint16_t off = load_le<std::uint16_t>(buf + vt + slot);
    if (!off) return 0;
    if (pos + off > size) bad("a metadata field lies outside the metadata");
    return pos + off;
  }
  template <class T>
  T scalar(int i, T dflt = {}) const {
    const std::size_t p = field(i);
    if (!p) return dflt;
    if (p + sizeof(T) > size) bad("a metadata field lies outside the metadata");
    return load_le<T>(buf + p);
  }
  std::size_t indirect(std::size_t p) const {
    if (p + 4 > size) bad("a metadata offset lies outside the metadata");
    const std::uint64_t target = p + static_cast<std::uint64_t>(load_le<std::uint32_t>(buf + p));
    if (target >= size) bad("a metadata offset points outside the metadata");
    return static_cast<std::size_t>(target);
  }
  bool has(int i) const { return field(i) != 0; }
  fb_table table(int i) const {
    const std::size_t p = field(i);
    if (!p) bad("a required metadata table is missing");
    return at(buf, size, indirect(p));
  }
  std::string_view string(int i) const {
    const std::size_t p = field(i);
    if (!p) return {};
    const std::size_t s = indirect(p);
    if (s + 4 > size) bad("a metadata string lies outside the metadata");
    const std::uint32_t n = load_le<std::uint32_t>(buf + s);
    if (n > size - s - 4) bad("a metadata string lies outside the metadata");
    return {reinterpret_cast<const char*>(buf + s + 4), n};
  }
  // A vector: (position of the first element, element count), checked for `elem` bytes each.
  std::pair<std::size_t, std::size_t> vector(int i, std::size_t elem) const {
    const std::size_t p = field(i);
    if (!p) return {0, 0};
    const std::size_t s = indirect(p);
    if (s + 4 > size) bad("a metadata vector lies outside the metadata");
    const std::uint32_t n = load_le<std::uint32_t>(buf + s);
    if (static_cast<std::uint64_t>(n) * elem > size - s - 4) bad("a metadata vector lies outside the metadata");
    return {s + 4, n};
  }
  fb_table table_in_vector(std::size_t first, std::size_t k) const {
    return at(buf, size, indirect(first + 4 * k));
  }
};

// ---- the Arrow schema ---------------------------------------------------------------------
// Type union tags of Schema.fbs.
enum class type_id : std::uint8_t {
  none = 0, null = 1, int_ = 2, floating = 3, binary = 4, utf8 = 5, bool_ = 6, decimal = 7, date = 8,
  time = 9, timestamp = 10, interval = 11, list = 12, struct_ = 13, union_ = 14, fixed_binary = 15,
  fixed_list = 16, map = 17, duration = 18, large_binary = 19, large_utf8 = 20, large_list = 21,
  run_end_encoded = 22, binary_view = 23, utf8_view = 24, list_view = 25, large_list_view = 26,
};

inline std::string type_name(type_id t, int bits = 0, bool is_signed = true) {
  switch (t) {
    case type_id::null: return "Null";
    case type_id::int_: return std::string(is_signed ? "Int" : "UInt") + std::to_string(bits);
    case type_id::floating: return bits == 16 ? "Float16" : bits == 32 ? "Float32" : "Float64";
    case type_id::binary: return "Binary";
    case type_id::utf8: return "Utf8";
    case type_id::bool_: return "Bool";
    case type_id::decimal: return "Decimal";
    case type_id::date: return "Date";
    case type_id::time: return "Time";
    case type_id::timestamp: return "Timestamp";
    case type_id::interval: return "Interval";
    case type_id::list: return "List";
    case type_id::struct_: return "Struct";
    case type_id::union_: return "Union";
    case type_id::fixed_binary: return "FixedSizeBinary";
    case type_id::fixed_list: return "FixedSizeList";
    case type_id::map: return "Map";
    case type_id::duration: return "Duration";
    case type_id::large_binary: return "LargeBinary";
    case type_id::large_utf8: return "LargeUtf8";
    case type_id::large_list: return "LargeList";
    case type_id::run_end_encoded: return "RunEndEncoded";
    case type_id::binary_view: return "BinaryView";
    case type_id::utf8_view: return "Utf8View";
    case type_id::list_view: return "ListView";
    case type_id::large_list_view: return "LargeListView";
    default: return "unknown type #" + std::to_string(static_cast<int>(t));
  }
}

struct field_desc {
  std::string name;
  type_id type = type_id::none;
  int bits = 0;          // Int bit width; Float 16/32/64
  bool is_signed = true;
  std::int32_t list_size = 0;  // FixedSizeList
  bool dense_union = false;
  // Dictionary encoding: the id, and the index type (the field's own type is the value type).
  bool dict = false;
  std::int64_t dict_id = 0;
  int index_bits = 32;
  bool index_signed = true;
  std::vector<field_desc> children;

  std::string describe() const {
    std::string s = type_name(type, bits, is_signed);
    if (type == type_id::list || type == type_id::large_list || type == type_id::fixed_list)
      s += "<" + (children.empty() ? std::string("?") : children[0].describe()) + ">";
    if (dict) s = "Dictionary<" + type_name(type_id::int_, index_bits, index_signed) + ", " + s + ">";
    return s;
  }
  // How many field nodes and buffers this field takes in a record batch (children included).
  void count(std::size_t& nodes, std::size_t& buffers) const {
    ++nodes;
    if (dict) { buffers += 2; return; }
    switch (type) {
      case type_id::null: case type_id::run_end_encoded: break;
      case type_id::struct_: case type_id::fixed_list: buffers += 1; break;
      case type_id::union_: buffers += dense_union ? 2 : 1; break;
      case type_id::binary: case type_id::utf8: case type_id::large_binary: case type_id::large_utf8: buffers += 3; break;
      case type_id::binary_view: case type_id::utf8_view: case type_id::list_view: case type_id::large_list_view:
        bad("field '" + name + "' has type " + type_name(type) + ", which this reader cannot skip");
      default: buffers += 2; break;  // validity + values or offsets
    }
    for (const auto& c : children) c.count(nodes, buffers);
  }
};

// `budget` bounds the fields parsed in all: a vector of children may point at one table many
// times, which would otherwise blow up exponentially with the depth.
inline field_desc parse_field(const fb_table& f, int depth, std::size_t& budget) {
  if (depth > 64) bad("the schema nests too deeply");
  if (budget == 0) bad("the schema has too many fields");
  --budget;
  field_desc d;
  d.name = std::string(f.string(0));
  d.type = static_cast<type_id>(f.scalar<std::uint8_t>(2));
  if (f.has(3)) {
    const fb_table t = f.table(3);
    if (d.type == type_id::int_) {
      d.bits = t.scalar<std::int32_t>(0);
      d.is_signed = t.scalar<std::uint8_t>(1) != 0;
      if (d.bits != 8 && d.bits != 16 && d.bits != 32 && d.bits != 64) bad("field '" + d.name + "' has an Int of " + std::to_string(d.bits) + " bits");
    } else if (d.type == type_id::floating) {
      const auto p = t.scalar<std::int16_t>(0);
      d.bits = p == 0 ? 16 : p == 1 ? 32 : 64;
    } else if (d.type == type_id::fixed_list) {
      d.list_size = t.scalar<std::int32_t>(0);
      if (d.list_size < 0) bad("field '" + d.name + "' has a negative FixedSizeList size");
    } else if (d.type == type_id::union_) {
      d.dense_union = t.scalar<std::int16_t>(0) == 1;
    }
  } else if (d.type == type_id::int_ || d.type == type_id::floating) {
    bad("field '" + d.name + "' has no type parameters");
  }
  if (f.has(4)) {
    const fb_table e = f.table(4);
    d.dict = true;
    d.dict_id = e.scalar<std::int64_t>(0);
    if (e.has(1)) {
      const fb_table it = e.table(1);
      d.index_bits = it.scalar<std::int32_t>(0);
      d.index_signed = it.scalar<std::uint8_t>(1) != 0;
      if (d.index_bits != 8 && d.index_bits != 16 && d.index_bits != 32 && d.index_bits != 64)
        bad("field '" + d.name + "' has a dictionary index of " + std::to_string(d.index_bits) + " bits");
    }
  }
  const auto [first, n] = f.vector(5, 4);
  for (std::size_t k = 0; k < n; ++k) d.children.push_back(parse_field(f.table_in_vector(first, k), depth + 1, budget));
  const bool nested = d.type == type_id::list || d.type == type_id::large_list || d.type == type_id::fixed_list;
  if (nested && d.children.size() != 1) bad("field '" + d.name + "' is a list without exactly one child");
  return d;
}

inline std::vector<field_desc> parse_schema(const fb_table& s) {
  if (s.scalar<std::int16_t>(0) != 0) bad("the file is big-endian, which this reader does not read");
  std::vector<field_desc> out;
  std::size_t budget = 100000;
  const auto [first, n] = s.vector(1, 4);
  for (std::size_t k = 0; k < n; ++k) out.push_back(parse_field(s.table_in_vector(first, k), 0, budget));
  return out;
}

// ---- arrays ---------------------------------------------------------------------------------
struct bytes {
  const std::uint8_t* p = nullptr;
  std::size_t n = 0;
};

/// One array of a record batch: its field node and buffers, checked against the body.
struct array_ref {
  const field_desc* f = nullptr;
  std::int64_t length = 0, null_count = 0;
  bytes validity, b1, b2;  // b1: values or offsets; b2: string data
  std::vector<array_ref> children;

  bool is_null(std::int64_t i) const {
    if (null_count == 0) return false;
    return !((validity.p[i >> 3] >> (i & 7)) & 1);
  }
};

// ---- compressed bodies (BodyCompression, method BUFFER) ------------------------------------
enum class body_codec : std::int8_t { none = -1, lz4_frame = 0, zstd = 1 };

/// One compressed buffer's bytes after its 8-byte length prefix, decompressed. The output grows
/// with what the frame really yields (never allocated from the stated length alone, which a
/// malformed file could set to anything) and must come to exactly `stated` bytes, from exactly
/// one frame that fills the buffer.
inline std::vector<std::uint8_t> decompress_buffer(body_codec codec, const std::uint8_t* src, std::size_t n, std::size_t stated) {
  const char* name = codec == body_codec::lz4_frame ? "LZ4_FRAME" : "ZSTD";
  std::vector<std::uint8_t> out(std::min<std::size_t>(stated, std::max<std::size_t>(4 * n, 4096)));
  std::size_t produced = 0, consumed = 0;
  std::uint8_t spare = 0;  // output space once `stated` bytes are in: any byte there is one too many
  auto step = [&](auto&& call) {
    for (;;) {
      if (produced == out.size() && out.size() < stated) out.resize(std::min(stated, 2 * out.size()));
      const bool full = produced == out.size();
      std::uint8_t* dst = full ? &spare : out.data() + produced;
      const std::size_t room = full ? 1 : out.size() - produced;
      std::size_t made = 0;
      const std::size_t before = consumed;
      const bool done = call(dst, room, made);
      if (full && made > 0) bad(std::string("a ") + name + " buffer decompresses to more than its stated " + std::to_string(stated) + " bytes");
      produced += made;
      if (done) break;
      // no byte in and none out: the decoder needs input the buffer does not have
      if (made == 0 && consumed == before) bad(std::string("a ") + name + " buffer ends inside its frame");
    }
  };
  if (codec == body_codec::lz4_frame) {
    LZ4F_dctx* raw = nullptr;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&raw, LZ4F_VERSION))) throw std::bad_alloc();
    std::unique_ptr<LZ4F_dctx, decltype(&LZ4F_freeDecompressionContext)> ctx(raw, &LZ4F_freeDecompressionContext);
    step([&](std::uint8_t* dst, std::size_t room, std::size_t& made) {
      std::size_t dst_size = room, src_size = n - consumed;
      const std::size_t r = LZ4F_decompress(ctx.get(), dst, &dst_size, src + consumed, &src_size, nullptr);
      if (LZ4F_isError(r)) bad(std::string("a corrupt LZ4_FRAME buffer (") + LZ4F_getErrorName(r) + ")");
      consumed += src_size;
      made = dst_size;
      return r == 0;  // the frame is complete
    });
  } else {
    std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> ctx(ZSTD_createDCtx(), &ZSTD_freeDCtx);
    if (!ctx) throw std::bad_alloc();
    step([&](std::uint8_t* dst, std::size_t room, std::size_t& made) {
      ZSTD_outBuffer o{dst, room, 0};
      ZSTD_inBuffer i{src + consumed, n - consumed, 0};
      const std::size_t r = ZSTD_decompressStream(ctx.get(), &o, &i);
      if (ZSTD_isError(r)) bad(std::string("a corrupt ZSTD buffer (") + ZSTD_getErrorName(r) + ")");
      consumed += i.pos;
      made = o.pos;
      return r == 0;  // a frame is complete and flushed
    });
  }
  if (produced != stated)
    bad(std::string("a ") + name + " buffer decompresses to " + std::to_string(produced) + " bytes, not its stated " + std::to_string(stated));
  if (consumed != n) bad(std::string("a ") + name + " buffer holds bytes after its frame");
  return out;
}

struct batch_reader {
  const std::uint8_t* body;
  std::size_t body_size;
  const std::uint8_t* nodes;  // 16-byte FieldNode structs
  std::size_t node_count, node_next = 0;
  const std::uint8_t* buffers;  // 16-byte Buffer structs
  std::size_t buffer_count, buffer_next = 0;
  std::int64_t batch_length;
  body_codec codec = body_codec::none;
  // decompressed buffers: the arrays read from this batch point into them, so whoever keeps
  // those arrays (a dictionary) keeps this too
  std::shared_ptr<std::deque<std::vector<std::uint8_t>>> owned;

  bytes next_buffer() {
    if (buffer_next >= buffer_count) bad("a record batch has fewer buffers than its schema needs");
    const std::uint8_t* b = buffers + 16 * buffer_next++;
    const auto off = load_le<std::int64_t>(b), len = load_le<std::int64_t>(b + 8);
    if (off < 0 || len < 0 || static_cast<std::uint64_t>(off) > body_size ||
        static_cast<std::uint64_t>(len) > body_size - static_cast<std::uint64_t>(off))
      bad("a buffer lies outside the message body");
    const bytes raw{body + off, static_cast<std::size_t>(len)};
    if (codec == body_codec::none || raw.n == 0) return raw;  // empty buffers carry no length prefix
    if (raw.n < 8) bad("a compressed buffer shorter than its 8-byte length prefix");
    const auto stated = load_le<std::int64_t>(raw.p);
    if (stated == -1) return {raw.p + 8, raw.n - 8};  // stored uncompressed
    if (stated < 0) bad("a compressed buffer states a negative length");
    if (!owned) owned = std::make_shared<std::deque<std::vector<std::uint8_t>>>();
    auto& v = owned->emplace_back(decompress_buffer(codec, raw.p + 8, raw.n - 8, static_cast<std::size_t>(stated)));
    return {v.data(), v.size()};
  }
  void skip(const field_desc& f) {
    std::size_t nn = 0, nb = 0;
    f.count(nn, nb);
    if (nn > node_count - node_next || nb > buffer_count - buffer_next) bad("a record batch has fewer nodes or buffers than its schema needs");
    node_next += nn;
    buffer_next += nb;
  }
  static void need(const bytes& b, std::uint64_t n, const char* what) {
    if (b.n < n) bad(std::string("a ") + what + " buffer is shorter than its array");
  }
  // Reads the array of `f` (decoding only the buffers of the types a data set can hold).
  array_ref read(const field_desc& f, int depth = 0) {
    if (depth > 64) bad("the arrays nest too deeply");
    if (node_next >= node_count) bad("a record batch has fewer field nodes than its schema needs");
    const std::uint8_t* nd = nodes + 16 * node_next++;
    array_ref a;
    a.f = &f;
    a.length = load_le<std::int64_t>(nd);
    a.null_count = load_le<std::int64_t>(nd + 8);
    if (a.length < 0 || a.null_count < 0 || a.null_count > a.length || a.length > (std::int64_t{1} << 40))
      bad("field '" + f.name + "' has a bad length or null count");
    const auto len = static_cast<std::uint64_t>(a.length);
    auto validity = [&] {
      a.validity = next_buffer();
      if (a.null_count) need(a.validity, (len + 7) / 8, "validity");
    };
    const type_id t = f.dict ? type_id::int_ : f.type;
    const int bits = f.dict ? f.index_bits : f.bits;
    switch (t) {
      case type_id::int_: case type_id::floating:
        validity();
        a.b1 = next_buffer();
        need(a.b1, len * static_cast<std::uint64_t>(bits / 8), "values");
        break;
      case type_id::bool_:
        validity();
        a.b1 = next_buffer();
        need(a.b1, (len + 7) / 8, "values");
        break;
      case type_id::utf8: case type_id::binary: case type_id::large_utf8: case type_id::large_binary: {
        validity();
        a.b1 = next_buffer();
        a.b2 = next_buffer();
        const bool large = t == type_id::large_utf8 || t == type_id::large_binary;
        if (len) need(a.b1, (len + 1) * (large ? 8 : 4), "offsets");
        break;
      }
      case type_id::list: case type_id::large_list: {
        validity();
        a.b1 = next_buffer();
        if (len) need(a.b1, (len + 1) * (t == type_id::large_list ? 8 : 4), "offsets");
        a.children.push_back(read(f.children[0], depth + 1));
        break;
      }
      case type_id::fixed_list:
        validity();
        a.children.push_back(read(f.children[0], depth + 1));
        // Size 0 would let a batch claim any number of rows without a byte to back them.
        if (f.list_size == 0) bad("field '" + f.name + "' is a FixedSizeList of size 0");
        if (a.children[0].length < 0 || len > static_cast<std::uint64_t>(a.children[0].length) / static_cast<std::uint64_t>(f.list_size))
          bad("field '" + f.name + "' has a FixedSizeList child shorter than its lists");
        break;
      default:
        --node_next;  // an unsupported type: step over it whole
        skip(f);
        a.length = -1;
        break;
    }
    return a;
  }
};

// ---- typed access ----------------------------------------------------------------------------
inline std::int64_t offset_at(const array_ref& a, std::int64_t i) {
  const bool large = a.f->type == type_id::large_utf8 || a.f->type == type_id::large_binary || a.f->type == type_id::large_list;
  return large ? load_le<std::int64_t>(a.b1.p + 8 * i) : load_le<std::int32_t>(a.b1.p + 4 * i);
}

/// Bytes of string `i` of a Utf8/LargeUtf8/Binary/LargeBinary array.
inline std::string_view string_at(const array_ref& a, std::int64_t i) {
  const std::int64_t b = offset_at(a, i), e = offset_at(a, i + 1);
  if (b < 0 || e < b || static_cast<std::uint64_t>(e) > a.b2.n) bad("field '" + a.f->name + "' has a string offset outside its data");
  return {reinterpret_cast<const char*>(a.b2.p + b), static_cast<std::size_t>(e - b)};
}

/// [begin, end) in the child of list `i`.
inline std::pair<std::int64_t, std::int64_t> list_range(const array_ref& a, std::int64_t i) {
  if (a.f->type == type_id::fixed_list) return {i * a.f->list_size, (i + 1) * a.f->list_size};
  const std::int64_t b = offset_at(a, i), e = offset_at(a, i + 1);
  if (b < 0 || e < b || e > a.children[0].length) bad("field '" + a.f->name + "' has a list offset outside its values");
  return {b, e};
}

inline std::int64_t int_at(const array_ref& a, std::int64_t i) {
  const int bits = a.f->dict ? a.f->index_bits : a.f->bits;
  const bool sgn = a.f->dict ? a.f->index_signed : a.f->is_signed;
  const std::uint8_t* p = a.b1.p;
  switch (bits) {
    case 8: return sgn ? std::int64_t{load_le<std::int8_t>(p + i)} : std::int64_t{load_le<std::uint8_t>(p + i)};
    case 16: return sgn ? std::int64_t{load_le<std::int16_t>(p + 2 * i)} : std::int64_t{load_le<std::uint16_t>(p + 2 * i)};
    case 32: return sgn ? std::int64_t{load_le<std::int32_t>(p + 4 * i)} : std::int64_t{load_le<std::uint32_t>(p + 4 * i)};
    default: {
      if (!sgn && load_le<std::uint64_t>(p + 8 * i) > static_cast<std::uint64_t>(INT64_MAX))
        throw std::invalid_argument("a UInt64 value is out of the int64 range");
      return load_le<std::int64_t>(p + 8 * i);
    }
  }
}

inline bool bool_at(const array_ref& a, std::int64_t i) { return (a.b1.p[i >> 3] >> (i & 7)) & 1; }

/// A number as a float label: finite and in float's range (a cast out of range is undefined).
inline float to_float(double v) {
  if (!std::isfinite(v)) throw std::invalid_argument("a score must be finite");
  if (std::fabs(v) > 3.4028234663852886e38) throw std::invalid_argument("a value is out of the float range");
  return static_cast<float>(v);
}

/// A number of an Int/UInt/Float32/Float64/Bool array as a double.
inline double number_at(const array_ref& a, std::int64_t i) {
  if (a.f->type == type_id::floating)
    return a.f->bits == 32 ? double{load_le<float>(a.b1.p + 4 * i)} : load_le<double>(a.b1.p + 8 * i);
  if (a.f->type == type_id::bool_) return bool_at(a, i) ? 1.0 : 0.0;
  return static_cast<double>(int_at(a, i));
}

inline bool is_string(type_id t) {
  return t == type_id::utf8 || t == type_id::large_utf8 || t == type_id::binary || t == type_id::large_binary;
}
inline bool is_number(const field_desc& f) {
  return f.type == type_id::int_ || (f.type == type_id::floating && f.bits != 16) || f.type == type_id::bool_;
}
inline bool is_list(type_id t) { return t == type_id::list || t == type_id::large_list || t == type_id::fixed_list; }

/// The values of one dictionary: non-delta batches replace, delta batches append chunks.
struct dictionary {
  std::unique_ptr<field_desc> value_field;  // the field with its dictionary encoding removed
  std::vector<array_ref> chunks;
  std::vector<std::shared_ptr<std::deque<std::vector<std::uint8_t>>>> owned;  // chunks' decompressed buffers
  std::vector<std::int64_t> ends;  // cumulative lengths

  // The chunk and the position in it of dictionary entry `k`.
  std::pair<const array_ref*, std::int64_t> locate(std::int64_t k) const {
    std::int64_t begin = 0;
    for (std::size_t c = 0; c < chunks.size(); ++c) {
      if (k >= begin && k < ends[c]) return {&chunks[c], k - begin};
      begin = ends[c];
    }
    throw std::invalid_argument("dictionary index " + std::to_string(k) + " is outside the dictionary (" +
                                std::to_string(begin) + " entries)");
  }
};

// ---- messages --------------------------------------------------------------------------------
enum class header_type : std::uint8_t { none = 0, schema = 1, dictionary_batch = 2, record_batch = 3 };

struct message {
  fb_table meta;
  header_type type = header_type::none;
  fb_table header;
  bytes body;
  std::size_t end = 0;  // where the next message starts
  bool eos = false;
};

/// The message at `pos`: an optional 0xFFFFFFFF continuation marker (absent before Arrow
/// 0.15), the metadata length, the Message flatbuffer, then its body.
inline message read_message(const std::uint8_t* data, std::size_t size, std::size_t pos) {
  message m;
  if (pos == size) { m.eos = true; return m; }  // a stream may end without an end marker
  if (size - pos < 4) bad("a message is cut short at byte " + std::to_string(pos));
  std::uint32_t len = load_le<std::uint32_t>(data + pos);
  pos += 4;
  if (len == 0xFFFFFFFFu) {
    if (size - pos < 4) bad("a message is cut short at byte " + std::to_string(pos));
    len = load_le<std::uint32_t>(data + pos);
    pos += 4;
  }
  if (len == 0) { m.eos = true; m.end = pos; return m; }
  if (len > size - pos) bad("a message's metadata (" + std::to_string(len) + " bytes at byte " + std::to_string(pos) + ") runs past the end of the file");
  m.meta = fb_table::root(data + pos, len);
  pos += len;
  const auto version = m.meta.scalar<std::int16_t>(0);
  if (version < 1 || version > 4) bad("unknown metadata version " + std::to_string(version));
  m.type = static_cast<header_type>(m.meta.scalar<std::uint8_t>(1));
  const auto body_len = m.meta.scalar<std::int64_t>(3);
  if (body_len < 0 || static_cast<std::uint64_t>(body_len) > size - pos)
    bad("a message body (" + std::to_string(body_len) + " bytes at byte " + std::to_string(pos) + ") runs past the end of the file");
  if (m.type == header_type::schema || m.type == header_type::dictionary_batch || m.type == header_type::record_batch)
    m.header = m.meta.table(2);
  else
    bad("unsupported message type " + std::to_string(static_cast<int>(m.type)));
  m.body = {data + pos, static_cast<std::size_t>(body_len)};
  m.end = pos + static_cast<std::size_t>(body_len);
  return m;
}

/// A RecordBatch table over its body.
inline batch_reader open_batch(const fb_table& rb, const bytes& body) {
  batch_reader r{};
  if (rb.has(3)) {  // BodyCompression{codec: LZ4_FRAME (default) | ZSTD, method: BUFFER}
    const fb_table c = rb.table(3);
    const auto codec = c.scalar<std::int8_t>(0);
    if (codec != 0 && codec != 1) bad("the record batch body is compressed with unknown codec " + std::to_string(codec) + " (known: LZ4_FRAME, ZSTD)");
    if (const auto method = c.scalar<std::int8_t>(1); method != 0)
      bad("the record batch body uses compression method " + std::to_string(method) + " (known: BUFFER)");
    r.codec = static_cast<body_codec>(codec);
  }
  r.body = body.p;
  r.body_size = body.n;
  r.batch_length = rb.scalar<std::int64_t>(0);
  if (r.batch_length < 0) bad("a record batch has a negative length");
  const auto [nf, nn] = rb.vector(1, 16);
  const auto [bf, bn] = rb.vector(2, 16);
  r.nodes = rb.buf + nf;
  r.node_count = nn;
  r.buffers = rb.buf + bf;
  r.buffer_count = bn;
  return r;
}

/// The layout of the whole input: the schema and, in order, the dictionary and record batch
/// messages (from the stream, or from the file footer's blocks).
struct ipc_layout {
  std::vector<field_desc> fields;
  std::vector<message> messages;  // dictionary and record batches, in reading order
};

inline ipc_layout read_layout(const std::uint8_t* data, std::size_t size) {
  ipc_layout out;
  static constexpr char magic[] = "ARROW1";
  if (size >= 6 && std::memcmp(data, magic, 6) == 0) {
    // File format: magic, padding, a stream, the Footer, its int32 length, magic.
    if (size < 8 + 10 || std::memcmp(data + size - 6, magic, 6) != 0) bad("an Arrow file (ARROW1 magic) without its closing magic: the file is cut short");
    const auto flen = load_le<std::int32_t>(data + size - 10);
    if (flen <= 0 || static_cast<std::size_t>(flen) > size - 18) bad("the Arrow file footer length is out of range");
    const std::size_t fpos = size - 10 - static_cast<std::size_t>(flen);
    const fb_table footer = fb_table::root(data + fpos, static_cast<std::size_t>(flen));
    out.fields = parse_schema(footer.table(1));
    for (int which : {2, 3}) {  // dictionaries first, then record batches
      const auto [first, n] = footer.vector(which, 24);
      for (std::size_t k = 0; k < n; ++k) {
        const std::uint8_t* blk = footer.buf + first + 24 * k;
        const auto off = load_le<std::int64_t>(blk);
        if (off < 8 || static_cast<std::uint64_t>(off) >= fpos) bad("a footer block points outside the file");
        message m = read_message(data, fpos, static_cast<std::size_t>(off));
        if (m.eos || m.type != (which == 2 ? header_type::dictionary_batch : header_type::record_batch))
          bad("a footer block does not point at a " + std::string(which == 2 ? "dictionary" : "record") + " batch");
        out.messages.push_back(m);
      }
    }
    return out;
  }
  message first = read_message(data, size, 0);
  if (first.eos || first.type != header_type::schema) bad("not an Arrow IPC stream or file: it does not start with a schema message");
  out.fields = parse_schema(first.header);
  std::size_t pos = first.end;
  for (;;) {
    message m = read_message(data, size, pos);
    if (m.eos) break;
    if (m.type == header_type::schema) bad("a second schema message in the stream");
    pos = m.end;
    out.messages.push_back(m);
  }
  return out;
}

}  // namespace sbert::detail::arrow
