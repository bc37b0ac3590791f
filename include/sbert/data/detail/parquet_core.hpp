// SPDX-License-Identifier: Apache-2.0
// IWYU pragma: private, include <sbert/data/parquet.hpp>
// The non-template core of read_parquet: open a file (or bytes in memory), read its footer,
// resolve the asked-for columns by name, and decode one row group of those columns at a time
// into per-row cells that the typed front end converts to column values.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <sbert/data/column.hpp>
#include <sbert/data/detail/parquet_format.hpp>
#include <sbert/data/detail/read_core.hpp>
#include <sbert/error.hpp>

namespace sbert::detail::pq {

/// Random access to the bytes of one file (or a buffer), so only the footer and the column
/// chunks asked for are read.
class byte_source {
 public:
  virtual ~byte_source() = default;
  virtual std::uint64_t size() const = 0;
  virtual void read(std::uint64_t offset, std::size_t n, std::uint8_t* out) = 0;
};

class file_source final : public byte_source {
 public:
  explicit file_source(const std::string& path) : in_(path, std::ios::binary) {
    if (!in_) throw std::runtime_error("cannot open the file");
    in_.seekg(0, std::ios::end);
    size_ = static_cast<std::uint64_t>(in_.tellg());
  }
  std::uint64_t size() const override { return size_; }
  void read(std::uint64_t offset, std::size_t n, std::uint8_t* out) override {
    in_.seekg(static_cast<std::streamoff>(offset));
    in_.read(reinterpret_cast<char*>(out), static_cast<std::streamsize>(n));
    if (!in_ || static_cast<std::size_t>(in_.gcount()) != n) throw std::runtime_error("reading the file failed");
  }

 private:
  std::ifstream in_;
  std::uint64_t size_ = 0;
};

class memory_source final : public byte_source {
 public:
  explicit memory_source(std::string_view bytes) : b_(bytes) {}
  std::uint64_t size() const override { return b_.size(); }
  void read(std::uint64_t offset, std::size_t n, std::uint8_t* out) override {
    if (offset > b_.size() || n > b_.size() - offset) throw std::runtime_error("read past the end");
    if (n) std::memcpy(out, b_.data() + offset, n);
  }

 private:
  std::string_view b_;
};

/// What a schema column needs from its file column.
enum class want { text, number, integer, text_list, number_list };

inline want want_for(column_kind k) {
  switch (k) {
    case column_kind::text: return want::text;
    case column_kind::text_list: return want::text_list;
    case column_kind::score: return want::number;
    case column_kind::class_label: return want::integer;
    case column_kind::vector: return want::number_list;
  }
  return want::text;
}

/// A resolved file column: its leaf, and the levels that tell nulls, empty lists and elements apart.
struct column_plan {
  std::string field;       // the file field name (for messages)
  std::size_t leaf = 0;    // index of the column chunk in each row group
  std::int32_t type = -1;  // physical type
  int max_def = 0, max_rep = 0;
  int list_def = 0;        // def level at which the list exists (lists only)
  bool is_list = false;
};

/// One row group of one column: for each row, null or a run of elements; each element is
/// null or an index into the values.
struct column_cells {
  std::int32_t type = -1;
  bool is_list = false;
  std::vector<std::uint8_t> row_null;
  std::vector<std::size_t> row_begin;  // rows + 1 offsets into elem
  std::vector<std::int64_t> elem;      // value index, or -1 for a null element
  std::vector<std::int64_t> ints;      // BOOLEAN, INT32, INT64
  std::vector<double> reals;           // FLOAT, DOUBLE
  std::vector<std::string_view> strings;  // BYTE_ARRAY, into `buffers`
  std::vector<std::vector<std::uint8_t>> buffers;
  std::size_t used_buffers = 0;
  // decoding scratch, kept with the cells so the next row group reuses its memory
  std::vector<std::uint32_t> defs, reps;
  std::vector<std::int64_t> value_index;
  std::size_t rows() const { return row_null.size(); }

  /// Empties the cells for the next row group but keeps their memory: writing to pages
  /// touched before is much cheaper than faulting in fresh ones for every row group.
  void reset() {
    row_null.clear();
    row_begin.clear();
    elem.clear();
    ints.clear();
    reals.clear();
    strings.clear();
    defs.clear();
    reps.clear();
    value_index.clear();
    used_buffers = 0;
  }
  /// A byte buffer for this row group (an earlier row group's, when there is one).
  std::vector<std::uint8_t>& next_buffer() {
    if (used_buffers == buffers.size()) buffers.emplace_back();
    return buffers[used_buffers++];
  }
};

struct schema_node {
  const schema_element* e = nullptr;
  std::vector<std::size_t> children;
  std::size_t first_leaf = 0, leaf_count = 0;
};

class parquet_file {
 public:
  parquet_file(std::unique_ptr<byte_source> src, std::string name) : src_(std::move(src)), name_(std::move(name)) {
    try {
      read_footer();
    } catch (const format_error& e) {
      throw input_error(name_, 0, "", std::string("not a valid Parquet file: ") + e.what());
    } catch (const std::runtime_error& e) {
      throw input_error(name_, 0, "", e.what());
    }
  }

  const std::string& name() const { return name_; }
  std::size_t row_group_count() const { return meta_.row_groups.size(); }

  /// The file column a schema column reads; an error names the column and what is wrong.
  /// `position`: read the file's top-level field at that 0-based index instead of by name.
  column_plan resolve(std::string field, std::string_view column, want w, const std::size_t* position = nullptr) const {
    const schema_node& root = nodes_[0];
    const schema_node* top = nullptr;
    if (position) {
      if (*position >= root.children.size())
        throw input_error(name_, 0, "#" + std::to_string(*position), "the file has " + std::to_string(root.children.size()) +
                                                                     " top-level columns; column '" + std::string(column) +
                                                                     "' reads column " + std::to_string(*position));
      top = &nodes_[root.children[*position]];
      field = top->e->name;
    }
    for (std::size_t c : root.children)
      if (!top && nodes_[c].e->name == field) top = &nodes_[c];
    if (!top) {
      std::string have;
      for (std::size_t c : root.children) have += (have.empty() ? "" : ", ") + nodes_[c].e->name;
      throw input_error(name_, 0, field, "no such column in the file (column '" + std::string(column) + "'; the file has: " + have + ")");
    }
    auto fail = [&](const std::string& why) {
      throw input_error(name_, 0, field, why + " (column '" + std::string(column) + "')");
    };
    if (top->leaf_count != 1) fail("a struct, map or other nested group with " + std::to_string(top->leaf_count) + " leaf columns is not supported");
    column_plan p;
    p.field = field;
    p.leaf = top->first_leaf;
    // walk down to the leaf, counting levels
    const schema_node* n = top;
    int repeated_nodes = 0;
    for (;;) {
      const auto rep = n->e->repetition;
      if (rep == repeated) {
        ++repeated_nodes;
        p.list_def = p.max_def;  // the list exists at the level above this node
        ++p.max_def;
        ++p.max_rep;
      } else if (rep == optional) {
        ++p.max_def;
      }
      if (n->children.empty()) break;
      n = &nodes_[n->children[0]];
    }
    if (repeated_nodes > 1) fail("a nested list (a list of lists) is not supported");
    p.is_list = repeated_nodes == 1;
    p.type = n->e->type;
    const auto t = p.type;
    const bool list_wanted = w == want::text_list || w == want::number_list;
    if (p.is_list && !list_wanted) fail("the file column is a list of " + type_name(t) + ", the schema column wants one value per row");
    if (!p.is_list && list_wanted) fail("the file column holds one " + type_name(t) + " per row, the schema column wants a list");
    if (t == int96 || t == fixed_len_byte_array || t < 0 || t > fixed_len_byte_array)
      fail("unsupported physical type " + type_name(t));
    if (n->e->converted_type == 5 || (n->e->has_logical && n->e->logical == 5)) fail("unsupported DECIMAL values");
    const bool numeric = t == int32 || t == int64 || t == float32 || t == float64;
    switch (w) {
      case want::text:
      case want::text_list:
        if (t != byte_array) fail("expected strings (BYTE_ARRAY), the file column is " + type_name(t));
        break;
      case want::number:
        if (!numeric && t != byte_array) fail("expected numbers, the file column is " + type_name(t));
        break;
      case want::integer:
        if (t != int32 && t != int64 && t != boolean && t != byte_array)
          fail("expected integer class labels, the file column is " + type_name(t));
        break;
      case want::number_list:
        if (!numeric) fail("expected a list of numbers, the file column is a list of " + type_name(t));
        break;
    }
    return p;
  }

  std::size_t row_group_rows(std::size_t g) const { return static_cast<std::size_t>(meta_.row_groups[g].num_rows); }
  std::size_t total_rows() const {
    std::size_t n = 0;
    for (const auto& g : meta_.row_groups) n += static_cast<std::size_t>(g.num_rows);
    return n;
  }

  /// Decode one column of one row group into `c` (reusing its memory).
  void read(std::size_t g, const column_plan& p, column_cells& c) {
    try {
      read_chunk(g, p, c);
    } catch (const format_error& e) {
      throw input_error(name_, 0, p.field, std::string("row group ") + std::to_string(g) + ": " + e.what());
    } catch (const std::length_error&) {
      throw input_error(name_, 0, p.field, "row group " + std::to_string(g) + ": a size in the file is too large");
    } catch (const std::bad_alloc&) {
      throw input_error(name_, 0, p.field, "row group " + std::to_string(g) + ": a size in the file is too large");
    }
  }

 private:
  void read_footer() {
    const std::uint64_t size = src_->size();
    if (size < 12) throw format_error("the file is too short");
    std::uint8_t tail[8];
    src_->read(size - 8, 8, tail);
    std::uint8_t head[4];
    src_->read(0, 4, head);
    if (std::memcmp(tail + 4, "PAR1", 4) != 0 || std::memcmp(head, "PAR1", 4) != 0)
      throw format_error("no PAR1 magic (an encrypted footer, PARE, is not supported either)");
    const std::uint32_t len = static_cast<std::uint32_t>(tail[0]) | static_cast<std::uint32_t>(tail[1]) << 8 |
                              static_cast<std::uint32_t>(tail[2]) << 16 | static_cast<std::uint32_t>(tail[3]) << 24;
    if (len > size - 12) throw format_error("the footer length is larger than the file");
    std::vector<std::uint8_t> footer(len);
    src_->read(size - 8 - len, len, footer.data());
    meta_ = read_file_meta(footer.data(), footer.size());
    data_end_ = size - 8 - len;
    build_tree();
    for (const auto& g : meta_.row_groups) {
      if (g.num_rows < 0) throw format_error("a row group has a negative row count");
      if (g.columns.size() != leaf_count_) throw format_error("a row group has " + std::to_string(g.columns.size()) +
                                                              " column chunks, the schema has " + std::to_string(leaf_count_) + " leaf columns");
    }
  }

  void build_tree() {
    // schema elements are a depth-first list; num_children says how many follow as children
    nodes_.assign(meta_.schema.size(), {});
    std::size_t next = 0, leaf = 0;
    build(next, leaf, 0);
    if (next != meta_.schema.size()) throw format_error("the schema has elements outside its tree");
    leaf_count_ = leaf;
  }
  std::size_t build(std::size_t& next, std::size_t& leaf, int depth) {
    if (depth > 64) throw format_error("the schema nests too deeply");
    if (next >= meta_.schema.size()) throw format_error("the schema tree is truncated");
    const std::size_t me = next++;
    schema_node& n = nodes_[me];
    n.e = &meta_.schema[me];
    n.first_leaf = leaf;
    const std::int32_t kids = n.e->num_children;
    if (kids < 0) throw format_error("a schema element has a negative child count");
    if (kids == 0 && me != 0) {
      if (n.e->type < 0) throw format_error("a schema leaf has no physical type");
      ++leaf;
    }
    for (std::int32_t i = 0; i < kids; ++i) {
      const std::size_t c = build(next, leaf, depth + 1);
      nodes_[me].children.push_back(c);
    }
    nodes_[me].leaf_count = leaf - nodes_[me].first_leaf;
    return me;
  }

  void read_chunk(std::size_t g, const column_plan& p, column_cells& c) {
    const row_group_meta& rg = meta_.row_groups[g];
    const column_meta& m = rg.columns[p.leaf];
    if (m.type != p.type) throw format_error("the column chunk's type differs from the schema's");
    if (m.codec != 0 && m.codec != 1 && m.codec != 2 && m.codec != 5 && m.codec != 6 && m.codec != 7)
      throw format_error("unsupported compression codec " + codec_name(m.codec) + " (supported: UNCOMPRESSED, SNAPPY, GZIP, LZ4, ZSTD, LZ4_RAW)");
    if (m.num_values < 0) throw format_error("a negative value count");
    // levels of flat columns are one per row; a cap keeps a lying header from exhausting memory
    if (p.max_rep == 0 && m.num_values != rg.num_rows)
      throw format_error("the column chunk holds " + std::to_string(m.num_values) + " values for " +
                         std::to_string(rg.num_rows) + " rows");
    if (m.num_values > max_chunk_values)
      throw format_error("a column chunk of more than " + std::to_string(max_chunk_values) + " values is not supported");
    c.reset();
    c.type = p.type;
    c.is_list = p.is_list;
    if (m.num_values == 0) {  // an empty chunk need not point at any pages
      if (rg.num_rows != 0) throw format_error("an empty column chunk in a row group of " + std::to_string(rg.num_rows) + " rows");
      c.row_begin.push_back(0);
      return;
    }
    // the chunk starts at its dictionary page when it has one (an offset of 0 means none)
    std::int64_t start = m.data_page_offset;
    if (m.dictionary_page_offset > 0 && m.dictionary_page_offset < start) start = m.dictionary_page_offset;
    if (start < 4 || m.total_compressed_size < 0 || static_cast<std::uint64_t>(start) > data_end_ ||
        static_cast<std::uint64_t>(m.total_compressed_size) > data_end_ - static_cast<std::uint64_t>(start))
      throw format_error("the column chunk's offset or size lies outside the file");
    std::vector<std::uint8_t>& raw = c.next_buffer();
    raw.resize(static_cast<std::size_t>(m.total_compressed_size));
    src_->read(static_cast<std::uint64_t>(start), raw.size(), raw.data());
    const std::uint8_t* base = raw.data();  // stays valid: later buffers move the vectors, not their bytes
    const std::size_t total = raw.size();

    std::vector<std::uint32_t>& defs = c.defs;
    std::vector<std::uint32_t>& reps = c.reps;
    const auto values_hint = static_cast<std::size_t>(m.num_values);
    defs.reserve(values_hint);
    if (p.max_rep > 0) reps.reserve(values_hint);
    if (p.type == byte_array) c.strings.reserve(values_hint);
    else if (p.type == float32 || p.type == float64) c.reals.reserve(values_hint);
    else c.ints.reserve(values_hint);
    // dictionary values, as indices into ints/reals/strings decoded from the dictionary page
    bool have_dict = false;
    std::size_t dict_size = 0;
    std::vector<std::int64_t>& value_index = c.value_index;  // per non-null value: its index into c's vectors
    value_index.reserve(values_hint);
    std::size_t pos = 0;
    std::int64_t levels_seen = 0;
    while (pos < total && levels_seen < m.num_values) {
      const page_header h = read_page_header(base + pos, total - pos);
      pos += h.header_size;
      if (static_cast<std::size_t>(h.compressed_size) > total - pos) throw format_error("a page runs past its column chunk");
      const std::uint8_t* page = base + pos;
      const std::size_t page_len = static_cast<std::size_t>(h.compressed_size);
      pos += page_len;
      if (h.type == index_page) continue;
      if (h.num_values < 0) throw format_error("a page has a negative or missing value count");
      if (h.type == dictionary_page) {
        if (have_dict) throw format_error("a second dictionary page");
        if (h.encoding != 0 && h.encoding != 2) throw format_error("a dictionary page in encoding " + encoding_name(h.encoding));
        const std::uint8_t* data = page;
        std::size_t len = page_len;
        if (m.codec != 0) {
          auto& out = c.next_buffer();
          decompress(m.codec, page, page_len, out, static_cast<std::size_t>(h.uncompressed_size));
          data = out.data();
          len = out.size();
        }
        decode_plain(p.type, data, len, static_cast<std::size_t>(h.num_values), c);
        have_dict = true;
        dict_size = static_cast<std::size_t>(h.num_values);
        continue;
      }
      if (h.type != data_page && h.type != data_page_v2) throw format_error("unknown page type " + std::to_string(h.type));
      const std::size_t n = static_cast<std::size_t>(h.num_values);
      if (static_cast<std::int64_t>(n) > m.num_values - levels_seen) throw format_error("the pages hold more values than the column chunk says");
      levels_seen += static_cast<std::int64_t>(n);
      const std::size_t level_start = defs.size();
      const std::uint8_t* values;
      std::size_t values_len;
      if (h.type == data_page) {
        const std::uint8_t* data = page;
        std::size_t len = page_len;
        if (m.codec != 0) {
          auto& out = c.next_buffer();
          decompress(m.codec, page, page_len, out, static_cast<std::size_t>(h.uncompressed_size));
          data = out.data();
          len = out.size();
        }
        std::size_t off = 0;
        if (p.max_rep > 0) off += read_v1_levels(h.rep_encoding, data + off, len - off, p.max_rep, n, reps);
        if (p.max_def > 0) off += read_v1_levels(h.def_encoding, data + off, len - off, p.max_def, n, defs);
        values = data + off;
        values_len = len - off;
      } else {
        if (h.def_bytes < 0 || h.rep_bytes < 0 ||
            static_cast<std::size_t>(h.def_bytes) + static_cast<std::size_t>(h.rep_bytes) > page_len)
          throw format_error("a v2 page's level lengths exceed the page");
        const std::size_t rb = static_cast<std::size_t>(h.rep_bytes), db = static_cast<std::size_t>(h.def_bytes);
        if (p.max_rep > 0) decode_hybrid(page, rb, bit_width(static_cast<std::uint64_t>(p.max_rep)), n, reps);
        if (p.max_def > 0) decode_hybrid(page + rb, db, bit_width(static_cast<std::uint64_t>(p.max_def)), n, defs);
        const std::uint8_t* rest = page + rb + db;
        const std::size_t rest_len = page_len - rb - db;
        // a page of nulls only may carry no value bytes at all, not even an empty compressed stream
        if (m.codec != 0 && h.is_compressed && rest_len > 0) {
          if (static_cast<std::size_t>(h.uncompressed_size) < rb + db) throw format_error("a v2 page's level lengths exceed its size");
          auto& out = c.next_buffer();
          decompress(m.codec, rest, rest_len, out, static_cast<std::size_t>(h.uncompressed_size) - rb - db);
          values = out.data();
          values_len = out.size();
        } else {
          values = rest;
          values_len = rest_len;
        }
      }
      // how many values the page holds: the levels at the maximum definition level
      std::size_t present = n;
      if (p.max_def > 0) {
        present = 0;
        for (std::size_t i = level_start; i < defs.size(); ++i) {
          if (defs[i] > static_cast<std::uint32_t>(p.max_def)) throw format_error("a definition level above the maximum");
          present += defs[i] == static_cast<std::uint32_t>(p.max_def);
        }
      }
      if (p.max_rep > 0)
        for (std::size_t i = level_start; i < reps.size(); ++i)
          if (reps[i] > static_cast<std::uint32_t>(p.max_rep)) throw format_error("a repetition level above the maximum");
      if (h.encoding == 2 || h.encoding == 8) {
        if (!have_dict) throw format_error("a dictionary-encoded page without a dictionary page");
        if (present == 0) continue;
        if (values_len < 1) throw format_error("a dictionary page has no bit width");
        std::vector<std::uint32_t> idx;
        decode_hybrid(values + 1, values_len - 1, values[0], present, idx);
        for (std::uint32_t i : idx) {
          if (i >= dict_size) throw format_error("a dictionary index is out of range");
          value_index.push_back(static_cast<std::int64_t>(i));
        }
      } else if (h.encoding == 0) {
        const std::size_t first = value_count(c);
        decode_plain(p.type, values, values_len, present, c);
        for (std::size_t i = 0; i < present; ++i) value_index.push_back(static_cast<std::int64_t>(first + i));
      } else if (h.encoding == 3 && p.type == boolean) {
        if (values_len < 4) throw format_error("an RLE boolean page has no length");
        std::uint32_t len = 0;
        std::memcpy(&len, values, 4);
        if (len > values_len - 4) throw format_error("an RLE boolean run length exceeds its page");
        std::vector<std::uint32_t> bits;
        decode_hybrid(values + 4, len, 1, present, bits);
        const std::size_t first = c.ints.size();
        for (auto b : bits) c.ints.push_back(b);
        for (std::size_t i = 0; i < present; ++i) value_index.push_back(static_cast<std::int64_t>(first + i));
      } else {
        throw format_error("unsupported encoding " + encoding_name(h.encoding) + " for " + type_name(p.type) +
                           " (supported: PLAIN, PLAIN_DICTIONARY, RLE_DICTIONARY, RLE for booleans)");
      }
    }
    if (levels_seen != m.num_values) throw format_error("the column chunk ends before all its values");
    if (p.max_def == 0) defs.assign(static_cast<std::size_t>(levels_seen), 0);
    if (p.max_rep == 0) reps.assign(static_cast<std::size_t>(levels_seen), 0);
    assemble(p, defs, reps, value_index, c);
    if (c.rows() != static_cast<std::size_t>(rg.num_rows))
      throw format_error("the column holds " + std::to_string(c.rows()) + " rows, its row group " + std::to_string(rg.num_rows));
  }

  static std::size_t value_count(const column_cells& c) {
    if (c.type == byte_array) return c.strings.size();
    if (c.type == float32 || c.type == float64) return c.reals.size();
    return c.ints.size();
  }

  /// v1 levels: a 4-byte length, then the hybrid runs. Returns the bytes consumed.
  static std::size_t read_v1_levels(std::int32_t encoding, const std::uint8_t* p, std::size_t n, int max_level,
                                    std::size_t count, std::vector<std::uint32_t>& out) {
    if (encoding != 3) throw format_error("levels in encoding " + encoding_name(encoding) + " are not supported (only RLE)");
    if (n < 4) throw format_error("a level block has no length");
    std::uint32_t len = 0;
    std::memcpy(&len, p, 4);  // little-endian on every platform this builds for
    if (len > n - 4) throw format_error("a level block runs past its page");
    decode_hybrid(p + 4, len, bit_width(static_cast<std::uint64_t>(max_level)), count, out);
    return 4 + len;
  }

  static void decode_plain(std::int32_t type, const std::uint8_t* p, std::size_t n, std::size_t count, column_cells& c) {
    auto need = [&](std::size_t width) {
      if (count > n / width) throw format_error("a PLAIN page holds fewer values than its levels say");
    };
    switch (type) {
      case boolean:
        if (count > n * 8) throw format_error("a PLAIN page holds fewer values than its levels say");
        for (std::size_t i = 0; i < count; ++i) c.ints.push_back((p[i / 8] >> (i % 8)) & 1);
        return;
      case int32:
        need(4);
        for (std::size_t i = 0; i < count; ++i) {
          std::int32_t v;
          std::memcpy(&v, p + 4 * i, 4);
          c.ints.push_back(v);
        }
        return;
      case int64:
        need(8);
        for (std::size_t i = 0; i < count; ++i) {
          std::int64_t v;
          std::memcpy(&v, p + 8 * i, 8);
          c.ints.push_back(v);
        }
        return;
      case float32:
        need(4);
        for (std::size_t i = 0; i < count; ++i) {
          float v;
          std::memcpy(&v, p + 4 * i, 4);
          c.reals.push_back(v);
        }
        return;
      case float64:
        need(8);
        for (std::size_t i = 0; i < count; ++i) {
          double v;
          std::memcpy(&v, p + 8 * i, 8);
          c.reals.push_back(v);
        }
        return;
      case byte_array: {
        std::size_t off = 0;
        for (std::size_t i = 0; i < count; ++i) {
          if (n - off < 4) throw format_error("a PLAIN string runs past its page");
          std::uint32_t len;
          std::memcpy(&len, p + off, 4);
          off += 4;
          if (len > n - off) throw format_error("a PLAIN string runs past its page");
          c.strings.emplace_back(reinterpret_cast<const char*>(p + off), len);
          off += len;
        }
        return;
      }
      default: throw format_error("unsupported physical type " + type_name(type));
    }
  }

  /// Levels -> rows. Flat columns: one level per row. Lists: repetition level 0 starts a row;
  /// below list_def the row is null, at list_def the list is empty, between it and max_def an
  /// element is null.
  static void assemble(const column_plan& p, const std::vector<std::uint32_t>& defs, const std::vector<std::uint32_t>& reps,
                       const std::vector<std::int64_t>& value_index, column_cells& c) {
    if (defs.size() != reps.size()) throw format_error("repetition and definition levels differ in count");
    const auto max_def = static_cast<std::uint32_t>(p.max_def);
    std::size_t v = 0;
    if (!p.is_list) c.row_null.reserve(defs.size());
    c.row_begin.reserve(c.row_begin.size() + (p.is_list ? 0 : defs.size()) + 1);
    c.elem.reserve(value_index.size());
    c.row_begin.push_back(0);
    for (std::size_t i = 0; i < defs.size(); ++i) {
      const std::uint32_t d = defs[i];
      if (!p.is_list) {
        const bool null = d < max_def;
        c.row_null.push_back(null);
        if (!null) {
          if (v >= value_index.size()) throw format_error("fewer values than levels");
          c.elem.push_back(value_index[v++]);
        }
        c.row_begin.push_back(c.elem.size());
        continue;
      }
      if (reps[i] == 0) {
        if (i > 0) c.row_begin.push_back(c.elem.size());
        c.row_null.push_back(d < static_cast<std::uint32_t>(p.list_def));
      } else if (i == 0) {
        throw format_error("a column chunk starts inside a list");
      }
      if (d == max_def) {
        if (v >= value_index.size()) throw format_error("fewer values than levels");
        c.elem.push_back(value_index[v++]);
      } else if (d > static_cast<std::uint32_t>(p.list_def)) {
        c.elem.push_back(-1);
      }
    }
    if (p.is_list && !defs.empty()) c.row_begin.push_back(c.elem.size());
    if (v != value_index.size()) throw format_error("more values than levels");
  }

  static constexpr std::int64_t max_chunk_values = std::int64_t{1} << 27;

  std::unique_ptr<byte_source> src_;
  std::string name_;
  file_meta meta_;
  std::vector<schema_node> nodes_;
  std::size_t leaf_count_ = 0;
  std::uint64_t data_end_ = 0;
};

// ---- cells -> column values (std::invalid_argument; the caller adds file, row and column) ----
inline void require_present(const column_cells& c, std::size_t row) {
  if (c.row_null[row]) throw std::invalid_argument("null value (the schema column is required)");
}

inline std::string cell_text(const column_cells& c, std::size_t row) {
  require_present(c, row);
  return to_text(c.strings[static_cast<std::size_t>(c.elem[c.row_begin[row]])]);
}

inline double element_number(const column_cells& c, std::int64_t e) {
  if (e < 0) throw std::invalid_argument("a list holds a null element");
  const auto i = static_cast<std::size_t>(e);
  if (c.type == float32 || c.type == float64) return c.reals[i];
  if (c.type == byte_array) return to_score(c.strings[i]);
  return static_cast<double>(c.ints[i]);
}

inline float cell_score(const column_cells& c, std::size_t row) {
  require_present(c, row);
  const double v = element_number(c, c.elem[c.row_begin[row]]);
  if (!std::isfinite(v)) throw std::invalid_argument("a score must be finite");
  return static_cast<float>(v);
}

inline std::int64_t cell_class(const column_cells& c, std::size_t row, const std::vector<std::string>& names) {
  require_present(c, row);
  const auto i = static_cast<std::size_t>(c.elem[c.row_begin[row]]);
  if (c.type == byte_array) return to_class(c.strings[i], names);
  return c.ints[i];
}

inline std::vector<std::string> cell_text_list(const column_cells& c, std::size_t row) {
  require_present(c, row);
  std::vector<std::string> out;
  out.reserve(c.row_begin[row + 1] - c.row_begin[row]);
  for (std::size_t k = c.row_begin[row]; k < c.row_begin[row + 1]; ++k) {
    if (c.elem[k] < 0) throw std::invalid_argument("a list holds a null element");
    out.push_back(to_text(c.strings[static_cast<std::size_t>(c.elem[k])]));
  }
  return out;
}

inline std::vector<float> cell_vector(const column_cells& c, std::size_t row) {
  require_present(c, row);
  std::vector<float> out;
  out.reserve(c.row_begin[row + 1] - c.row_begin[row]);
  for (std::size_t k = c.row_begin[row]; k < c.row_begin[row + 1]; ++k) {
    const double v = element_number(c, c.elem[k]);
    if (!std::isfinite(v)) throw std::invalid_argument("a vector element must be finite");
    out.push_back(static_cast<float>(v));
  }
  return out;
}

/// A file, or every *.parquet file of a folder sorted by name.
inline std::vector<std::string> parquet_paths(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    require_file(path);
    return {path};
  }
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(path, ec))
    if (e.path().extension() == ".parquet" && !fs::is_directory(e.path(), ec)) out.push_back(e.path().string());
  if (ec) throw input_error(path, 0, "", "cannot list the folder: " + ec.message());
  std::sort(out.begin(), out.end());
  if (out.empty()) throw input_error(path, 0, "", "the folder holds no *.parquet files");
  return out;
}

}  // namespace sbert::detail::pq
