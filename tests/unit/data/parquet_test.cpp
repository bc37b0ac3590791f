// read_parquet on Apache's parquet-testing files (shared/data/formats/parquet-testing): the
// values their README states, the errors for what is not supported, and the bad_data files.
#include "catch.hpp"

#include <sbert/data/parquet.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace {
namespace fs = std::filesystem;

std::string pq_data(const std::string& f) { return sbert::test::shared_dir() + "/data/formats/parquet-testing/data/" + f; }
std::string pq_bad(const std::string& f) { return sbert::test::shared_dir() + "/data/formats/parquet-testing/bad_data/" + f; }

struct id : sbert::class_column<"id"> {};
struct string_col : sbert::text_column<"string_col"> {};
struct date_string_col : sbert::text_column<"date_string_col"> {};
struct double_col : sbert::score_column<"double_col"> {};
struct float_col : sbert::score_column<"float_col"> {};
struct bool_col : sbert::class_column<"bool_col"> {};
using alltypes = sbert::schema<date_string_col, string_col, id>;

// one column `x`, read from the file field named in read_options::fields
struct x_text : sbert::text_column<"x"> {};
struct x_score : sbert::score_column<"x"> {};
struct x_class : sbert::class_column<"x"> {};
struct x_texts : sbert::text_list_column<"x"> {};
struct x_vector : sbert::vector_column<"x"> {};

template <class C>
sbert::dataset<sbert::schema<C>> read_x(const std::string& file, const std::string& field, bool lenient = false,
                                        sbert::read_report* report = nullptr) {
  sbert::read_options o;
  o.fields = {sbert::field<C>(field)};
  o.lenient = lenient;
  o.report = report;
  return sbert::read_parquet<sbert::schema<C>>(file, o);
}
template <class C>
std::vector<typename C::value_type> values_x(const std::string& file, const std::string& field) {
  auto d = read_x<C>(file, field);
  return d.template column<C>();
}
}  // namespace

using Catch::Contains;
using V = std::vector<float>;
using T = std::vector<std::string>;

TEST_CASE("read_parquet: alltypes_plain (PLAIN, uncompressed), alltypes_plain.snappy, alltypes_dictionary") {
  auto d = sbert::read_parquet<alltypes>(pq_data("alltypes_plain.parquet"));
  REQUIRE(d.size() == 8);
  CHECK(d.column<id>() == std::vector<std::int64_t>{4, 5, 6, 7, 2, 3, 0, 1});
  CHECK(d[0].get<date_string_col>() == "03/01/09");
  CHECK(d[7].get<date_string_col>() == "01/01/09");
  CHECK(d.column<string_col>() == T{"0", "1", "0", "1", "0", "1", "0", "1"});
  // INT96 timestamp_col is in the file but not asked for, so it is never decoded
  CHECK(values_x<x_score>(pq_data("alltypes_plain.parquet"), "double_col") == V{0, 10.1f, 0, 10.1f, 0, 10.1f, 0, 10.1f});
  CHECK(values_x<x_score>(pq_data("alltypes_plain.parquet"), "float_col")[1] == 1.1f);
  CHECK(values_x<x_class>(pq_data("alltypes_plain.parquet"), "bool_col") == std::vector<std::int64_t>{1, 0, 1, 0, 1, 0, 1, 0});
  CHECK(values_x<x_class>(pq_data("alltypes_plain.parquet"), "bigint_col")[1] == 10);

  auto s = sbert::read_parquet<alltypes>(pq_data("alltypes_plain.snappy.parquet"));
  REQUIRE(s.size() == 2);
  CHECK(s.column<id>() == std::vector<std::int64_t>{6, 7});
  CHECK(s[0].get<date_string_col>() == "04/01/09");

  auto dict = sbert::read_parquet<alltypes>(pq_data("alltypes_dictionary.parquet"));
  REQUIRE(dict.size() == 2);
  CHECK(dict.column<id>() == std::vector<std::int64_t>{0, 1});
  CHECK(dict.column<string_col>() == T{"0", "1"});
  CHECK(dict[1].get<date_string_col>() == "01/01/09");
}

TEST_CASE("read_parquet: dictionary pages, v1 and v2, uncompressed and Snappy, 1000 rows") {
  for (const char* f : {"plain-dict-uncompressed-checksum.parquet", "rle-dict-snappy-checksum.parquet",
                        "rle-dict-uncompressed-corrupt-checksum.parquet"}) {
    INFO(f);
    auto longs = values_x<x_class>(pq_data(f), "long_field");
    REQUIRE(longs.size() == 1000);
    CHECK(longs[0] == 0);
    auto strings = values_x<x_text>(pq_data(f), "binary_field");
    REQUIRE(strings.size() == 1000);
    CHECK(strings[0].size() == 36);  // a UUID
    CHECK(strings[0][8] == '-');
  }
  CHECK(values_x<x_text>(pq_data("plain-dict-uncompressed-checksum.parquet"), "binary_field")[999] ==
        "a655fd0e-9949-4059-bcae-fd6a002a4652");
  CHECK(values_x<x_text>(pq_data("rle-dict-snappy-checksum.parquet"), "binary_field")[0] ==
        "c95e263a-f5d4-401f-8107-5ca7146a1f98");
}

TEST_CASE("read_parquet: datapage_v2.snappy: strings, ints, booleans, a list column, nulls") {
  const auto f = pq_data("datapage_v2.snappy.parquet");
  CHECK(values_x<x_score>(f, "c") == V{2, 3, 4, 5, 2});
  CHECK(values_x<x_class>(f, "d") == std::vector<std::int64_t>{1, 1, 1, 0, 1});
  // a: "abc" x5 with a null in row 4
  CHECK_THROWS_WITH(read_x<x_text>(f, "a"), Contains("datapage_v2.snappy.parquet:4: field 'a': null value"));
  sbert::read_report report;
  auto a = read_x<x_text>(f, "a", true, &report);
  CHECK(a.column<x_text>() == T{"abc", "abc", "abc", "abc"});
  CHECK(report.rows_skipped == 1);
  CHECK(report.issues.at(0).line == 4);
  CHECK(report.issues.at(0).field == "a");
  // e: [[1,2,3], null, null, [1,2,3], [1,2]]
  sbert::read_report re;
  auto e = read_x<x_vector>(f, "e", true, &re);
  CHECK(e.column<x_vector>() == std::vector<V>{{1, 2, 3}, {1, 2, 3}, {1, 2}});
  CHECK(re.rows_skipped == 2);
  // b is DELTA_BINARY_PACKED: fine while not asked for, an error naming the encoding when it is
  CHECK_THROWS_WITH(read_x<x_class>(f, "b"), Contains("field 'b'") && Contains("DELTA_BINARY_PACKED"));
}

TEST_CASE("read_parquet: GZIP with concatenated members, ZSTD and Snappy v2 pages of nulls only") {
  auto g = values_x<x_class>(pq_data("concatenated_gzip_members.parquet"), "long_col");
  REQUIRE(g.size() == 513);
  for (std::size_t i = 0; i < g.size(); ++i) REQUIRE(g[i] == static_cast<std::int64_t>(i + 1));
  // every value null: strict names the first row, lenient skips them all
  CHECK_THROWS_WITH(read_x<x_class>(pq_data("page_v2_empty_compressed.parquet"), "integer_column"),
                    Contains(":1: field 'integer_column': null value"));
  sbert::read_report r;
  CHECK(read_x<x_class>(pq_data("page_v2_empty_compressed.parquet"), "integer_column", true, &r).size() == 0);
  CHECK(r.rows_skipped == 10);
  sbert::read_report r2;
  CHECK(read_x<x_score>(pq_data("datapage_v2_empty_datapage.snappy.parquet"), "value", true, &r2).size() == 0);
  CHECK(r2.rows_skipped == 1);
  // ZSTD pages with real data: the plain columns of byte_stream_split.zstd are BYTE_STREAM_SPLIT,
  // so the codec runs and the encoding is then refused by name
  CHECK_THROWS_WITH(read_x<x_score>(pq_data("byte_stream_split.zstd.parquet"), "f32"),
                    Contains("unsupported encoding BYTE_STREAM_SPLIT"));
}

TEST_CASE("read_parquet: nulls in a required column; RLE-encoded booleans; a null page") {
  CHECK_THROWS_WITH(read_x<x_class>(pq_data("nulls.snappy.parquet"), "b_struct"),
                    Contains("nulls.snappy.parquet:1: field 'b_struct': null value"));
  sbert::read_report r;
  CHECK(read_x<x_class>(pq_data("nulls.snappy.parquet"), "b_struct", true, &r).size() == 0);
  CHECK(r.rows_skipped == 8);
  sbert::read_report rb;
  auto b = read_x<x_class>(pq_data("rle_boolean_encoding.parquet"), "datatype_boolean", true, &rb);
  CHECK(b.size() + rb.rows_skipped == 68);
  CHECK(rb.issues.at(0).line == 3);  // true, false, null, true, true, false, false, ...
  REQUIRE(b.size() >= 6);
  CHECK(std::vector<std::int64_t>(b.column<x_class>().begin(), b.column<x_class>().begin() + 6) ==
        std::vector<std::int64_t>{1, 0, 1, 1, 0, 0});
  sbert::read_report rn;
  auto n = read_x<x_class>(pq_data("int32_with_null_pages.parquet"), "int32_field", true, &rn);
  CHECK(n.size() + rn.rows_skipped == 1000);
  CHECK(n.column<x_class>()[0] == -654807448);
}

TEST_CASE("read_parquet: lists: 3-level, legacy repeated primitives, empty lists, null elements") {
  CHECK(values_x<x_vector>(pq_data("repeated_primitive_no_list.parquet"), "Int32_list") ==
        std::vector<V>{{0, 1, 2, 3}, {}, {4}, {5, 6, 7, 8}});
  CHECK(values_x<x_texts>(pq_data("repeated_primitive_no_list.parquet"), "String_list") ==
        std::vector<T>{{"foo", "zero", "one", "two"}, {"three"}, {"four"}, {"five", "six", "seven", "eight"}});
  CHECK(values_x<x_vector>(pq_data("null_list.parquet"), "emptylist") == std::vector<V>{{}});
  CHECK(values_x<x_vector>(pq_data("map_no_value.parquet"), "my_list") == std::vector<V>{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}});
  // list_columns: int64_list [[1,2,3],[null,1],[4]], utf8_list [["abc","efg","hij"],null,["efg",null,"hij","xyz"]]
  CHECK_THROWS_WITH(values_x<x_vector>(pq_data("list_columns.parquet"), "int64_list"),
                    Contains("list_columns.parquet:2: field 'int64_list': a list holds a null element"));
  sbert::read_report r;
  auto l = read_x<x_texts>(pq_data("list_columns.parquet"), "utf8_list", true, &r);
  CHECK(l.column<x_texts>() == std::vector<T>{{"abc", "efg", "hij"}});
  CHECK(r.rows_skipped == 2);
  CHECK(values_x<x_vector>(pq_data("nonnullable.impala.parquet"), "Int_Array") == std::vector<V>{{-1}});
  // lists of lists are refused by name
  CHECK_THROWS_WITH(values_x<x_vector>(pq_data("old_list_structure.parquet"), "a"), Contains("nested list"));
  CHECK_THROWS_WITH(values_x<x_texts>(pq_data("nested_lists.snappy.parquet"), "a"), Contains("nested list"));
}

TEST_CASE("read_parquet: LZ4 in Hadoop's framing, as a raw block (deprecated LZ4) and LZ4_RAW") {
  // Three writers' framings of the same 4 rows (parquet-testing: Hadoop's LZ4 codec, parquet-cpp's
  // older raw-block LZ4, and LZ4_RAW): c0 int64 seconds, c1 binary, v11 double.
  for (const char* f : {"hadoop_lz4_compressed.parquet", "non_hadoop_lz4_compressed.parquet", "lz4_raw_compressed.parquet"}) {
    INFO(f);
    CHECK(values_x<x_class>(pq_data(f), "c0") == std::vector<std::int64_t>{1593604800, 1593604800, 1593604801, 1593604801});
    CHECK(values_x<x_text>(pq_data(f), "c1") == std::vector<std::string>{"abc", "def", "abc", "def"});
    CHECK(values_x<x_score>(pq_data(f), "v11") == std::vector<float>{42.0f, 7.7f, 42.125f, 7.7f});
  }
}

TEST_CASE("read_parquet: errors name the file, column and what is wrong") {
  const auto f = pq_data("alltypes_plain.parquet");
  CHECK_THROWS_WITH(values_x<x_text>(f, "nope"),
                    Contains("field 'nope': no such column in the file") && Contains("string_col"));
  CHECK_THROWS_WITH(values_x<x_text>(f, "id"), Contains("field 'id': expected strings (BYTE_ARRAY), the file column is INT32"));
  CHECK_THROWS_WITH(values_x<x_class>(f, "double_col"), Contains("expected integer class labels, the file column is DOUBLE"));
  CHECK_THROWS_WITH(values_x<x_vector>(f, "double_col"), Contains("the schema column wants a list"));
  CHECK_THROWS_WITH(values_x<x_score>(f, "date_string_col"), Contains(":1: field 'date_string_col': a score must be a number"));
  CHECK_THROWS_WITH(values_x<x_class>(f, "timestamp_col"), Contains("field 'timestamp_col': unsupported physical type INT96"));
  CHECK_THROWS_WITH(values_x<x_class>(pq_data("int32_decimal.parquet"), "value"), Contains("DECIMAL"));
  CHECK_THROWS_WITH(values_x<x_text>(pq_data("fixed_length_byte_array.parquet"), "flba_field"),
                    Contains("FIXED_LEN_BYTE_ARRAY"));
  CHECK_THROWS_WITH(values_x<x_text>(pq_data("large_string_map.brotli.parquet"), "arr"), Contains("map"));
  CHECK_THROWS_WITH(values_x<x_class>(pq_data("delta_binary_packed.parquet"), "bitwidth0"), Contains("DELTA_BINARY_PACKED"));
  CHECK_THROWS_WITH(values_x<x_text>(pq_data("nation.dict-malformed.parquet"), "name"), Contains("field 'name'"));
  CHECK_THROWS_WITH(values_x<x_text>(pq_data("no_such_file.parquet"), "a"), Contains("no such file"));
  // a misspelt read_options::fields key, as the other readers
  sbert::read_options o;
  o.fields = {{"sentence", "string_col"}};
  CHECK_THROWS_WITH(sbert::read_parquet<alltypes>(f, o), Contains("not a column of the schema"));
  // read_options::positions picks a top-level column by index (id is column 0)
  sbert::read_options byp;
  byp.positions = {sbert::position<x_class>(0)};
  CHECK(sbert::read_parquet<sbert::schema<x_class>>(f, byp).column<x_class>()[0] == 4);
  byp.positions = {sbert::position<x_class>(99)};
  CHECK_THROWS_WITH(sbert::read_parquet<sbert::schema<x_class>>(f, byp), Contains("the file has 11 top-level columns"));
  // not Parquet at all
  CHECK_THROWS_WITH(sbert::parse_parquet<alltypes>("id,string_col\n1,a\n"), Contains("not a valid Parquet file"));
}

TEST_CASE("read_parquet: every bad_data file is an sbert error, never a crash") {
  CHECK_THROWS_AS(read_x<x_class>(pq_bad("PARQUET-1481.parquet"), "x"), sbert::input_error);
  CHECK_THROWS_WITH(read_x<x_class>(pq_bad("ARROW-RS-GH-6229-DICTHEADER.parquet"), "nation_key"), Contains("negative"));
  CHECK_THROWS_AS(read_x<x_vector>(pq_bad("ARROW-RS-GH-6229-LEVELS.parquet"), "outer"), sbert::input_error);
  CHECK_THROWS_AS(read_x<x_class>(pq_bad("ARROW-GH-41321.parquet"), "int64"), sbert::input_error);
  CHECK_THROWS_AS(read_x<x_class>(pq_bad("ARROW-GH-41317.parquet"), "timestamp_us_no_tz"), sbert::input_error);
  CHECK_THROWS_WITH(read_x<x_vector>(pq_bad("ARROW-GH-45185.parquet"), "x"), Contains("starts inside a list"));
  CHECK_THROWS_AS(read_x<x_text>(pq_bad("ARROW-GH-47662.parquet"), "flba_field"), sbert::input_error);
  // ARROW-GH-43605 is a valid file that broke a reader: a dictionary index run of bit width 0
  // (every index 0), which the format allows
  auto ok = values_x<x_class>(pq_bad("ARROW-GH-43605.parquet"), "min_fl");
  CHECK(ok.size() == 21186);
  // every file, every column, as each kind: an sbert::error or rows, nothing else
  for (const auto& e : fs::directory_iterator(pq_bad(""))) {
    if (e.path().extension() != ".parquet") continue;
    INFO(e.path());
    for (const char* field : {"x", "int64", "outer", "nation_key", "name", "comment_col", "large_binary", "dict"}) {
      try { (void)read_x<x_text>(e.path().string(), field); } catch (const sbert::error&) {}
      try { (void)read_x<x_vector>(e.path().string(), field, true); } catch (const sbert::error&) {}
    }
  }
}

TEST_CASE("read_parquet: truncated and corrupted copies of a real file are errors") {
  std::ifstream in(pq_data("alltypes_plain.snappy.parquet"), std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string bytes = ss.str();
  REQUIRE(bytes.size() > 100);
  for (std::size_t cut : {std::size_t(0), std::size_t(4), std::size_t(11), bytes.size() / 2, bytes.size() - 1})
    CHECK_THROWS_AS(sbert::parse_parquet<alltypes>(bytes.substr(0, cut)), sbert::input_error);
  // flip bytes one at a time in the data and footer: rows or an sbert::error, never a crash
  std::size_t errors = 0;
  for (std::size_t i = 4; i + 8 < bytes.size(); i += 3) {
    std::string b = bytes;
    b[i] = static_cast<char>(b[i] ^ 0x5a);
    try { (void)sbert::parse_parquet<alltypes>(b); } catch (const sbert::error&) { ++errors; }
  }
  CHECK(errors > 0);
  auto d = sbert::parse_parquet<alltypes>(bytes, {}, "memory.parquet");
  CHECK(d.column<id>() == std::vector<std::int64_t>{6, 7});
}

TEST_CASE("read_parquet: a folder of shards is read in name order; other files are ignored") {
  const auto dir = fs::temp_directory_path() / "sbert_parquet_shards";
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::copy_file(pq_data("alltypes_plain.snappy.parquet"), dir / "train-00001-of-00002.parquet");
  fs::copy_file(pq_data("alltypes_plain.parquet"), dir / "train-00000-of-00002.parquet");
  std::ofstream(dir / "README.md") << "not data";
  auto d = sbert::read_parquet<alltypes>(dir.string());
  CHECK(d.column<id>() == std::vector<std::int64_t>{4, 5, 6, 7, 2, 3, 0, 1, 6, 7});
  CHECK(d[8].get<date_string_col>() == "04/01/09");
  // an error in the second shard names that shard
  fs::copy_file(pq_data("nulls.snappy.parquet"), dir / "train-00002-of-00002.parquet");
  CHECK_THROWS_WITH(sbert::read_parquet<alltypes>(dir.string()), Contains("train-00002-of-00002.parquet"));
  fs::remove_all(dir);
  fs::create_directories(dir);
  CHECK_THROWS_WITH(sbert::read_parquet<alltypes>(dir.string()), Contains("no *.parquet files"));
  fs::remove_all(dir);
}
