// write_parquet, write_arrow, save_to_disk and save_dataset_dict_to_disk: every column type and
// codec read back through the project's readers, several row groups / pages / batches / shards,
// the footer's column chunk layout, the JSON files datasets reads, and real Apache test files
// read, written back and read again.
#include "catch.hpp"

#include <simdjson.h>

#include <sbert/data/arrow.hpp>
#include <sbert/data/arrow_writer.hpp>
#include <sbert/data/parquet.hpp>
#include <sbert/data/parquet_writer.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace {
namespace fs = std::filesystem;
namespace pq = sbert::detail::pq;

struct text : sbert::text_column<"text"> {};
struct negs : sbert::text_list_column<"negs"> {};
struct score : sbert::score_column<"score"> {};
struct label : sbert::class_column<"label"> {};
struct emb : sbert::vector_column<"emb"> {};
using scored = sbert::schema<text, negs, score>;
using labelled = sbert::schema<text, label>;
using embedded = sbert::schema<text, emb>;

// Rows that exercise empty strings, empty lists, non-ASCII text, repeats (for the dictionary)
// and values that a float32/int64 round trip would change if a width or sign were wrong.
std::size_t row_count = 23;
std::string text_at(std::size_t i) {
  if (i % 7 == 3) return "";
  return (i % 5 == 0 ? std::string("répété ") : "row ") + std::to_string(i % 5 == 0 ? 0 : i) + (i % 4 ? "" : " ✓ 日本");
}
sbert::dataset<scored> scored_rows() {
  sbert::dataset<scored> d;
  for (std::size_t i = 0; i < row_count; ++i) {
    std::vector<std::string> n;
    for (std::size_t k = 0; k < i % 4; ++k) n.push_back(text_at(i + k));
    d.push_back(text_at(i), n, static_cast<float>(i) * 0.1f - 1.0f + 1e-7f);
  }
  return d;
}
sbert::dataset<labelled> labelled_rows() {
  sbert::dataset<labelled> d;
  for (std::size_t i = 0; i < row_count; ++i)
    d.push_back(text_at(i), static_cast<std::int64_t>(i % 3 == 0 ? -(std::int64_t{1} << 40) - static_cast<std::int64_t>(i) : static_cast<std::int64_t>(i)));
  return d;
}
sbert::dataset<embedded> embedded_rows() {
  sbert::dataset<embedded> d;
  for (std::size_t i = 0; i < row_count; ++i) {
    std::vector<float> v;
    for (std::size_t k = 0; k < (i * 3) % 5; ++k) v.push_back(static_cast<float>(i) / 3.0f - static_cast<float>(k));
    d.push_back(text_at(i), v);
  }
  return d;
}

fs::path scratch(const std::string& name) {
  const auto p = fs::temp_directory_path() / ("sbert_writer_test_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}
std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

pq::file_meta footer_of(const std::string& bytes) {
  std::uint32_t len = 0;
  std::memcpy(&len, bytes.data() + bytes.size() - 8, 4);
  REQUIRE(len + 12 <= bytes.size());
  return pq::read_file_meta(reinterpret_cast<const std::uint8_t*>(bytes.data()) + bytes.size() - 8 - len, len);
}

template <class S>
void parquet_round_trip(const sbert::dataset<S>& d, const fs::path& dir) {
  for (auto codec : {sbert::parquet_codec::uncompressed, sbert::parquet_codec::snappy, sbert::parquet_codec::gzip, sbert::parquet_codec::zstd})
    for (bool dict : {false, true})
      for (std::size_t group : {std::size_t{5}, std::size_t{1} << 20}) {
        INFO("codec " << static_cast<int>(codec) << ", dictionary " << dict << ", row groups of " << group);
        sbert::parquet_write_options o;
        o.codec = codec;
        o.dictionary = dict;
        o.row_group_rows = group;
        o.page_bytes = 40;  // several pages per chunk
        const auto path = (dir / "x.parquet").string();
        sbert::write_parquet(d, path, o);
        const auto back = sbert::read_parquet<S>(path);
        CHECK(back.columns() == d.columns());
        const auto meta = footer_of(slurp(path));
        CHECK(meta.num_rows == static_cast<std::int64_t>(d.size()));
        CHECK(meta.row_groups.size() == (d.size() + group - 1) / group);
        for (const auto& g : meta.row_groups)
          for (const auto& c : g.columns) CHECK(c.codec == static_cast<std::int32_t>(codec));
      }
}

/// The scored, labelled and embedded rows written to dir/{s,l,e}.arrow with `o`, each read back equal.
void arrow_round_trips(const fs::path& dir, const sbert::arrow_write_options& o) {
  const auto s = scored_rows();
  const auto l = labelled_rows();
  const auto e = embedded_rows();
  sbert::write_arrow(s, (dir / "s.arrow").string(), o);
  CHECK(sbert::read_arrow<scored>((dir / "s.arrow").string()).columns() == s.columns());
  sbert::write_arrow(l, (dir / "l.arrow").string(), o);
  CHECK(sbert::read_arrow<labelled>((dir / "l.arrow").string()).columns() == l.columns());
  sbert::write_arrow(e, (dir / "e.arrow").string(), o);
  CHECK(sbert::read_arrow<embedded>((dir / "e.arrow").string()).columns() == e.columns());
}
}  // namespace

TEST_CASE("write_parquet: every column type and codec, row groups and pages, read back") {
  const auto dir = scratch("parquet");
  parquet_round_trip(scored_rows(), dir);
  parquet_round_trip(labelled_rows(), dir);
  parquet_round_trip(embedded_rows(), dir);
  // float64 scores: a DOUBLE column, read back as the same floats
  sbert::parquet_write_options o;
  o.float64_scores = true;
  const auto d = scored_rows();
  sbert::write_parquet(d, (dir / "f64.parquet").string(), o);
  CHECK(sbert::read_parquet<scored>((dir / "f64.parquet").string()).columns() == d.columns());
  CHECK(footer_of(slurp(dir / "f64.parquet")).row_groups[0].columns[2].type == pq::float64);
  // no rows: a schema and no row group
  sbert::write_parquet(sbert::dataset<scored>{}, (dir / "empty.parquet").string());
  CHECK(sbert::read_parquet<scored>((dir / "empty.parquet").string()).empty());
  fs::remove_all(dir);
}

TEST_CASE("write_parquet: the footer's chunks tile the file and its schema is pyarrow's list layout") {
  const auto dir = scratch("layout");
  sbert::parquet_write_options o;
  o.row_group_rows = 10;
  o.dictionary = true;
  sbert::write_parquet(scored_rows(), (dir / "x.parquet").string(), o);
  const std::string bytes = slurp(dir / "x.parquet");
  const auto meta = footer_of(bytes);
  REQUIRE(meta.row_groups.size() == 3);
  CHECK(meta.row_groups[2].num_rows == 3);
  // the chunks follow each other from byte 4 to the footer, each starting at its dictionary page
  std::int64_t at = 4;
  for (const auto& g : meta.row_groups)
    for (const auto& c : g.columns) {
      const std::int64_t start = c.dictionary_page_offset ? c.dictionary_page_offset : c.data_page_offset;
      CHECK(start == at);
      at = start + c.total_compressed_size;
    }
  std::uint32_t len = 0;
  std::memcpy(&len, bytes.data() + bytes.size() - 8, 4);
  CHECK(at == static_cast<std::int64_t>(bytes.size() - 8 - len));
  // strings are dictionary-encoded, numbers are not
  CHECK(meta.row_groups[0].columns[0].dictionary_page_offset > 0);
  CHECK(meta.row_groups[0].columns[2].dictionary_page_offset == 0);
  CHECK(meta.row_groups[0].columns[1].path == std::vector<std::string>{"negs", "list", "element"});
  // list_columns.parquet (written by pyarrow): utf8_list is group (LIST) > repeated group >
  // leaf BYTE_ARRAY (UTF8); ours is the same but required where pyarrow's are optional
  const auto real = footer_of(slurp(sbert::test::shared_dir() + "/data/formats/parquet-testing/data/list_columns.parquet"));
  auto find = [](const pq::file_meta& m, const std::string& name) {
    for (std::size_t i = 0; i < m.schema.size(); ++i)
      if (m.schema[i].name == name) return i;
    FAIL("no schema element " << name);
    return std::size_t{0};
  };
  const std::size_t r = find(real, "utf8_list"), w = find(meta, "negs");
  for (std::size_t k = 0; k < 3; ++k) {
    INFO("schema element " << k << " of the list");
    CHECK(meta.schema[w + k].type == real.schema[r + k].type);
    CHECK(meta.schema[w + k].num_children == real.schema[r + k].num_children);
    CHECK(meta.schema[w + k].converted_type == real.schema[r + k].converted_type);
  }
  CHECK(meta.schema[w + 1].repetition == pq::repeated);
  CHECK(real.schema[r + 1].repetition == pq::repeated);
  CHECK(meta.schema[0].num_children == 3);
  fs::remove_all(dir);
}

TEST_CASE("write_parquet: real parquet-testing files read, written back with each codec, read again") {
  const auto dir = scratch("real_parquet");
  struct id : sbert::class_column<"id"> {};
  struct string_col : sbert::text_column<"string_col"> {};
  struct date_string_col : sbert::text_column<"date_string_col"> {};
  struct double_col : sbert::score_column<"double_col"> {};
  using S = sbert::schema<date_string_col, string_col, id>;
  const std::string data = sbert::test::shared_dir() + "/data/formats/parquet-testing/data/";
  const auto real = sbert::read_parquet<S>(data + "alltypes_plain.parquet");
  REQUIRE(real.size() == 8);
  for (auto codec : {sbert::parquet_codec::uncompressed, sbert::parquet_codec::snappy, sbert::parquet_codec::gzip, sbert::parquet_codec::zstd}) {
    sbert::parquet_write_options o;
    o.codec = codec;
    o.row_group_rows = 3;
    sbert::write_parquet(real, (dir / "x.parquet").string(), o);
    CHECK(sbert::read_parquet<S>((dir / "x.parquet").string()).columns() == real.columns());
  }
  // a real list of strings, with its null rows skipped
  struct utf8_list : sbert::text_list_column<"utf8_list"> {};
  sbert::read_options lenient;
  lenient.lenient = true;
  sbert::read_report rep;
  lenient.report = &rep;
  const auto lists = sbert::read_parquet<sbert::schema<utf8_list>>(data + "list_columns.parquet", lenient);
  sbert::write_parquet(lists, (dir / "l.parquet").string());
  CHECK(sbert::read_parquet<sbert::schema<utf8_list>>((dir / "l.parquet").string()).columns() == lists.columns());
  fs::remove_all(dir);
}

TEST_CASE("write_arrow and save_to_disk: every column type, batches and shards, read back") {
  const auto dir = scratch("arrow");
  sbert::arrow_write_options o;
  o.batch_rows = 4;
  const auto s = scored_rows();
  const auto l = labelled_rows();
  arrow_round_trips(dir, o);
  // the stream holds a schema, ceil(23 / 4) = 6 record batches and the end marker
  const std::string bytes = slurp(dir / "s.arrow");
  const auto layout = sbert::detail::arrow::read_layout(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  CHECK(layout.messages.size() == 6);
  REQUIRE(layout.fields.size() == 3);
  CHECK(layout.fields[1].describe() == "List<Utf8>");
  CHECK(layout.fields[2].describe() == "Float32");
  CHECK(bytes.substr(bytes.size() - 8) == std::string("\xFF\xFF\xFF\xFF\0\0\0\0", 8));

  o.num_shards = 3;
  o.float64_scores = true;
  sbert::save_to_disk(s, (dir / "saved").string(), o);
  CHECK(fs::exists(dir / "saved" / "data-00002-of-00003.arrow"));
  CHECK(sbert::load_from_disk<scored>((dir / "saved").string()).columns() == s.columns());
  simdjson::dom::parser p;
  simdjson::dom::element state, info;
  REQUIRE(!p.load((dir / "saved" / "state.json").string()).get(state));
  simdjson::dom::array files;
  REQUIRE(!state["_data_files"].get_array().get(files));
  CHECK(files.size() == 3);
  CHECK(std::string(state["_data_files"].at(1)["filename"].get_string().value()) == "data-00001-of-00003.arrow");
  CHECK(state["_split"].is_null());
  CHECK(state["_format_type"].is_null());
  CHECK(state["_format_columns"].is_null());
  CHECK(state["_output_all_columns"].get_bool().value() == false);
  CHECK(state["_format_kwargs"].get_object().value().size() == 0);
  CHECK(state["_fingerprint"].get_string().value().size() == 16);
  simdjson::dom::parser p2;
  REQUIRE(!p2.load((dir / "saved" / "dataset_info.json").string()).get(info));
  CHECK(simdjson::minify(info["features"]) ==
        R"({"text":{"dtype":"string","_type":"Value"},"negs":{"feature":{"dtype":"string","_type":"Value"},"_type":"Sequence"},"score":{"dtype":"float64","_type":"Value"}})");

  sbert::dataset_dict<labelled> dd{{"train", l}, {"test", l.select_range(0, 5)}};
  sbert::save_dataset_dict_to_disk(dd, (dir / "dict").string());
  auto back = sbert::load_dataset_dict_from_disk<labelled>((dir / "dict").string());
  CHECK(back.size() == 2);
  CHECK(back["train"].columns() == l.columns());
  CHECK(back["test"].size() == 5);
  simdjson::dom::parser p3;
  simdjson::dom::element split_state;
  REQUIRE(!p3.load((dir / "dict" / "test" / "state.json").string()).get(split_state));
  CHECK(std::string(split_state["_split"].get_string().value()) == "test");
  fs::remove_all(dir);
}

TEST_CASE("write_arrow: Apache's integration stream read, written back, read again") {
  const auto dir = scratch("real_arrow");
  struct utf8_nn : sbert::text_column<"utf8_nonnullable"> {};
  struct int32_nn : sbert::class_column<"int32_nonnullable"> {};
  struct f32_nn : sbert::score_column<"float32_nonnullable"> {};
  const std::string file = sbert::test::shared_dir() +
                           "/data/formats/arrow-testing/data/arrow-ipc-stream/integration/1.0.0-littleendian/generated_primitive.stream";
  using S = sbert::schema<utf8_nn, int32_nn>;
  const auto real = sbert::read_arrow<S>(file);
  REQUIRE(real.size() == 37);
  sbert::write_arrow(real, (dir / "x.arrow").string());
  CHECK(sbert::read_arrow<S>((dir / "x.arrow").string()).columns() == real.columns());
  using F = sbert::schema<utf8_nn, f32_nn>;
  const auto realf = sbert::read_arrow<F>(file);
  sbert::write_arrow(realf, (dir / "f.arrow").string());
  CHECK(sbert::read_arrow<F>((dir / "f.arrow").string()).columns() == realf.columns());
  // the written schema describes Utf8 and Float32 as the real file's schema does
  namespace ar = sbert::detail::arrow;
  const std::string a = slurp(file), b = slurp(dir / "f.arrow");
  const auto la = ar::read_layout(reinterpret_cast<const std::uint8_t*>(a.data()), a.size());
  const auto lb = ar::read_layout(reinterpret_cast<const std::uint8_t*>(b.data()), b.size());
  auto describe = [](const ar::ipc_layout& l, const std::string& name) {
    for (const auto& f : l.fields)
      if (f.name == name) return f.describe();
    return std::string("missing");
  };
  CHECK(describe(lb, "utf8_nonnullable") == describe(la, "utf8_nonnullable"));
  CHECK(describe(lb, "float32_nonnullable") == describe(la, "float32_nonnullable"));
  fs::remove_all(dir);
}

namespace {
namespace ar = sbert::detail::arrow;
struct buffer_census {
  std::size_t compressed = 0, stored = 0, empty = 0;
};
/// Walks every record batch of an IPC stream: the BodyCompression codec, and each buffer as
/// the format lays it out (empty; -1 + the bytes; or its length + one frame of the codec,
/// recognised by the frame's magic number, not by sbert's decompressor).
buffer_census census(const std::string& bytes, int codec) {
  buffer_census c;
  const auto* base = reinterpret_cast<const std::uint8_t*>(bytes.data());
  const auto layout = ar::read_layout(base, bytes.size());
  for (const auto& m : layout.messages) {
    REQUIRE(m.header.has(3));
    CHECK(m.header.table(3).scalar<std::int8_t>(0) == codec);
    CHECK(m.header.table(3).scalar<std::int8_t>(1) == 0);  // BUFFER
    const auto [first, n] = m.header.vector(2, 16);
    for (std::size_t k = 0; k < n; ++k) {
      const auto off = ar::load_le<std::int64_t>(m.header.buf + first + 16 * k), len = ar::load_le<std::int64_t>(m.header.buf + first + 16 * k + 8);
      CHECK(off % 8 == 0);
      if (len == 0) { ++c.empty; continue; }
      REQUIRE(len >= 8);
      const auto prefix = ar::load_le<std::int64_t>(m.body.p + off);
      if (prefix == -1) { ++c.stored; continue; }
      REQUIRE(len >= 12);
      CHECK(prefix > 0);
      CHECK(ar::load_le<std::uint32_t>(m.body.p + off + 8) == (codec == 0 ? 0x184D2204u : 0xFD2FB528u));
      ++c.compressed;
    }
  }
  return c;
}
}  // namespace

TEST_CASE("write_arrow: LZ4_FRAME and ZSTD bodies, read back; each buffer its length and one frame") {
  const auto dir = scratch("arrow_compressed");
  const auto l = labelled_rows();
  // one long compressible batch beside the small ones: its string data must shrink
  sbert::dataset<labelled> big;
  for (std::size_t i = 0; i < 2000; ++i) big.push_back("A man is playing a guitar on stage, number " + std::to_string(i % 17), static_cast<std::int64_t>(i % 3));
  for (auto c : {sbert::arrow_compression::lz4_frame, sbert::arrow_compression::zstd})
    for (int level : {0, 5}) {
      const int codec = c == sbert::arrow_compression::zstd ? 1 : 0;
      INFO("codec " << codec << ", level " << level);
      sbert::arrow_write_options o;
      o.batch_rows = 4;
      o.compression = c;
      o.compression_level = level;
      arrow_round_trips(dir, o);
      const auto small = census(slurp(dir / "s.arrow"), codec);
      CHECK(small.stored > 0);  // 4-row offsets do not shrink: stored with -1
      CHECK(small.empty > 0);   // validity bitmaps: none, and no prefix either
      o.batch_rows = 1000;
      sbert::write_arrow(big, (dir / "big.arrow").string(), o);
      CHECK(sbert::read_arrow<labelled>((dir / "big.arrow").string()).columns() == big.columns());
      CHECK(census(slurp(dir / "big.arrow"), codec).compressed >= 4);  // offsets, text, labels of 2 batches
      sbert::write_arrow(big, (dir / "plain.arrow").string(), {});
      CHECK(fs::file_size(dir / "big.arrow") * 4 < fs::file_size(dir / "plain.arrow"));
      // save_to_disk passes the option on
      sbert::save_to_disk(l, (dir / "saved").string(), o);
      CHECK(sbert::load_from_disk<labelled>((dir / "saved").string()).columns() == l.columns());
    }
  fs::remove_all(dir);
}

TEST_CASE("read_arrow: a compressed buffer whose length or frame is wrong is an error saying so") {
  sbert::dataset<labelled> d;
  for (std::size_t i = 0; i < 200; ++i) d.push_back("abc", 1);  // 600 bytes of text: compressed
  for (auto c : {sbert::arrow_compression::lz4_frame, sbert::arrow_compression::zstd}) {
    const char* name = c == sbert::arrow_compression::zstd ? "ZSTD" : "LZ4_FRAME";
    INFO(name);
    sbert::arrow_write_options o;
    o.compression = c;
    const auto dir = scratch("arrow_bad");
    sbert::write_arrow(d, (dir / "x.arrow").string(), o);
    const std::string good = slurp(dir / "x.arrow");
    fs::remove_all(dir);
    REQUIRE(sbert::parse_arrow<labelled>(good).columns() == d.columns());
    // find the text buffer: its prefix states 600 bytes
    const auto* base = reinterpret_cast<const std::uint8_t*>(good.data());
    const auto layout = ar::read_layout(base, good.size());
    REQUIRE(layout.messages.size() == 1);
    const auto& m = layout.messages[0];
    const auto [first, n] = m.header.vector(2, 16);
    std::size_t prefix_at = 0, len_at = 0;
    for (std::size_t k = 0; k < n; ++k) {
      const auto off = ar::load_le<std::int64_t>(m.header.buf + first + 16 * k);
      const auto len = ar::load_le<std::int64_t>(m.header.buf + first + 16 * k + 8);
      if (len >= 8 && ar::load_le<std::int64_t>(m.body.p + off) == 600) {
        prefix_at = static_cast<std::size_t>(m.body.p + off - base);
        len_at = static_cast<std::size_t>(m.header.buf + first + 16 * k + 8 - base);
      }
    }
    REQUIRE(prefix_at > 0);
    auto patched = [&](std::size_t at, std::int64_t v) {
      std::string b = good;
      std::memcpy(b.data() + at, &v, 8);
      return b;
    };
    CHECK_THROWS_WITH(sbert::parse_arrow<labelled>(patched(prefix_at, 601)),
                      Catch::Contains(std::string(name) + " buffer decompresses to 600 bytes, not its stated 601"));
    CHECK_THROWS_WITH(sbert::parse_arrow<labelled>(patched(prefix_at, 599)),
                      Catch::Contains(std::string(name) + " buffer decompresses to more than its stated 599 bytes"));
    CHECK_THROWS_WITH(sbert::parse_arrow<labelled>(patched(prefix_at, -2)), Catch::Contains("states a negative length"));
    // the buffer one byte short: its frame is cut
    const auto len = ar::load_le<std::int64_t>(base + len_at);
    CHECK_THROWS_AS(sbert::parse_arrow<labelled>(patched(len_at, len - 1)), sbert::input_error);
    CHECK_THROWS_WITH(sbert::parse_arrow<labelled>(patched(len_at, 5)), Catch::Contains("shorter than its 8-byte length prefix"));
    // a stated length of 2^40 on a short frame: an error, not a 1 TiB allocation
    CHECK_THROWS_WITH(sbert::parse_arrow<labelled>(patched(prefix_at, std::int64_t{1} << 40)), Catch::Contains("not its stated 1099511627776"));
    // an unknown codec and an unknown method in BodyCompression
    const ar::fb_table bc = m.header.table(3);
    for (int field : {0, 1}) {
      std::string b = good;
      const std::size_t at = static_cast<std::size_t>(bc.buf + bc.field(field) - base);
      REQUIRE(bc.field(field) != 0);
      b[at] = 7;
      CHECK_THROWS_WITH(sbert::parse_arrow<labelled>(b), Catch::Contains(field == 0 ? "unknown codec 7" : "compression method 7"));
    }
  }
}
