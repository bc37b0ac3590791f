// read_arrow and load_from_disk on Apache's arrow-testing integration files (written by Arrow's
// own writers). Expected values come from each case's integration JSON (.json.gz).
#include "catch.hpp"

#include <sbert/data/arrow.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace {
namespace fs = std::filesystem;

std::string case_path(const std::string& name, const std::string& ext) {
  return sbert::test::shared_dir() + "/data/formats/arrow-testing/data/arrow-ipc-stream/integration/1.0.0-littleendian/generated_" +
         name + ext;
}
std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct utf8_nn : sbert::text_column<"utf8_nonnullable"> {};
struct utf8_null : sbert::text_column<"utf8_nullable"> {};
struct int32_nn : sbert::class_column<"int32_nonnullable"> {};
struct f32_nn : sbert::score_column<"float32_nonnullable"> {};
struct u8_nn : sbert::class_column<"uint8_nonnullable"> {};
struct bool_nn : sbert::class_column<"bool_nonnullable"> {};
struct large_utf8 : sbert::text_column<"largeutf8_nonnullable"> {};
struct dict0 : sbert::text_column<"dict0"> {};
struct dict2 : sbert::class_column<"dict2"> {};
struct list_vec : sbert::vector_column<"list_nullable"> {};
struct fsl_vec : sbert::vector_column<"fixedsizelist_nullable"> {};

template <class D>
bool same(const D& a, const D& b) {
  return a.columns() == b.columns();
}
}  // namespace

TEST_CASE("read_arrow: primitive types from the stream and the file format") {
  using S = sbert::schema<utf8_nn, int32_nn>;
  auto st = sbert::read_arrow<S>(case_path("primitive", ".stream"));
  auto fi = sbert::read_arrow<S>(case_path("primitive", ".arrow_file"));
  REQUIRE(st.size() == 37);  // two record batches: 17 + 20
  CHECK(st[0].get<utf8_nn>() == "co矢2p矢m");
  CHECK(st[0].get<int32_nn>() == -2147483648LL);
  CHECK(st[1].get<int32_nn>() == 2147483647);
  CHECK(st[20].get<utf8_nn>() == "ôawmpmb");
  CHECK(st[20].get<int32_nn>() == 1200919211);
  CHECK(same(st, fi));

  auto f = sbert::read_arrow<sbert::schema<utf8_nn, f32_nn>>(case_path("primitive", ".stream"));
  CHECK(f[0].get<f32_nn>() == Approx(-977.936f));
  CHECK(f[20].get<f32_nn>() == Approx(1114.98f));
  auto u = sbert::read_arrow<sbert::schema<u8_nn>>(case_path("primitive", ".arrow_file"));
  CHECK(u[1].get<u8_nn>() == 255);
  CHECK(u[20].get<u8_nn>() == 129);
  auto b = sbert::read_arrow<sbert::schema<bool_nn>>(case_path("primitive", ".stream"));
  CHECK(b[0].get<bool_nn>() == 0);
  CHECK(b[1].get<bool_nn>() == 1);
  CHECK(b[20].get<bool_nn>() == 1);
}

TEST_CASE("read_arrow: a null in a required column is an error naming row and column; lenient skips it") {
  using S = sbert::schema<utf8_null, int32_nn>;
  try {
    (void)sbert::read_arrow<S>(case_path("primitive", ".stream"));
    FAIL("no error");
  } catch (const sbert::input_error& e) {
    CHECK(e.line == 1);  // row 1 of utf8_nullable is null
    CHECK(e.field == "utf8_nullable");
    CHECK(std::string(e.what()).find("null") != std::string::npos);
  }
  sbert::read_options o;
  o.lenient = true;
  sbert::read_report rep;
  o.report = &rep;
  auto d = sbert::read_arrow<S>(case_path("primitive", ".arrow_file"), o);
  REQUIRE(d.size() == 20);
  CHECK(rep.rows_skipped == 17);
  CHECK(d[0].get<utf8_null>() == "r€j5mµc");
  CHECK(d[0].get<int32_nn>() == 2147483647);
  CHECK(d[19].get<utf8_null>() == "g°°4c£b");
  CHECK(d[19].get<int32_nn>() == -1122376698);
}

TEST_CASE("read_arrow: LargeUtf8, fields renamed by read_options") {
  auto d = sbert::read_arrow<sbert::schema<large_utf8>>(case_path("primitive_large_offsets", ".stream"));
  REQUIRE(d.size() == 37);
  CHECK(d[0].get<large_utf8>() == "°pmµcpµ");
  CHECK(d[36].get<large_utf8>() == "b€prdek");
  struct txt : sbert::text_column<"text"> {};
  sbert::read_options o;
  o.fields = {sbert::field<txt>("largeutf8_nonnullable")};
  auto r = sbert::read_arrow<sbert::schema<txt>>(case_path("primitive_large_offsets", ".arrow_file"), o);
  CHECK(r[1].get<txt>() == "ne2°h矢i");
}

TEST_CASE("read_arrow: dictionary-encoded string and int64 columns") {
  using S = sbert::schema<dict0, dict2>;
  sbert::read_options o;
  o.lenient = true;
  sbert::read_report rep;
  o.report = &rep;
  auto st = sbert::read_arrow<S>(case_path("dictionary", ".stream"), o);
  REQUIRE(st.size() == 2);
  CHECK(rep.rows_skipped == 15);
  CHECK(st[0].get<dict0>() == "e£a5µ矢a");
  CHECK(st[0].get<dict2>() == 898000600);
  CHECK(st[1].get<dict0>() == "rpc£µ£3");
  CHECK(st[1].get<dict2>() == -1055755556);
  auto fi = sbert::read_arrow<S>(case_path("dictionary", ".arrow_file"), o);
  CHECK(same(st, fi));
}

TEST_CASE("read_arrow: List and FixedSizeList columns as vectors") {
  sbert::read_options o;
  o.lenient = true;
  sbert::read_report rep;
  o.report = &rep;
  auto l = sbert::read_arrow<sbert::schema<list_vec>>(case_path("nested", ".stream"), o);
  REQUIRE(l.size() == 6);
  CHECK(l[0].get<list_vec>() == std::vector<float>{-2147483648.0f});
  CHECK(l[2].get<list_vec>() == std::vector<float>{-248764147.0f, 1585153469.0f, 1487949842.0f, 516750554.0f});
  CHECK(l[4].get<list_vec>().empty());
  CHECK(same(l, sbert::read_arrow<sbert::schema<list_vec>>(case_path("nested", ".arrow_file"), o)));
  auto f = sbert::read_arrow<sbert::schema<fsl_vec>>(case_path("nested", ".stream"), o);
  for (std::size_t i = 0; i < f.size(); ++i) CHECK(f[i].get<fsl_vec>().size() == 4);
  CHECK(same(f, sbert::read_arrow<sbert::schema<fsl_vec>>(case_path("nested", ".arrow_file"), o)));
}

TEST_CASE("read_arrow: empty files and zero-length batches") {
  CHECK(sbert::read_arrow<sbert::schema<utf8_nn>>(case_path("primitive_no_batches", ".stream")).size() == 0);
  CHECK(sbert::read_arrow<sbert::schema<utf8_nn>>(case_path("primitive_zerolength", ".arrow_file")).size() == 0);
}

TEST_CASE("read_arrow: missing column, wrong type, unsupported type are clear errors") {
  struct nope : sbert::text_column<"nope"> {};
  CHECK_THROWS_WITH(sbert::read_arrow<sbert::schema<nope>>(case_path("primitive", ".stream")),
                    Catch::Contains("no such field") && Catch::Contains("nope") && Catch::Contains("utf8_nullable"));
  struct wrong : sbert::score_column<"utf8_nonnullable"> {};
  CHECK_THROWS_WITH(sbert::read_arrow<sbert::schema<wrong>>(case_path("primitive", ".stream")),
                    Catch::Contains("Utf8") && Catch::Contains("score column"));
  struct fsb : sbert::text_column<"fixedsizebinary_19_nonnullable"> {};
  CHECK_THROWS_WITH(sbert::read_arrow<sbert::schema<fsb>>(case_path("primitive", ".stream")),
                    Catch::Contains("FixedSizeBinary") && Catch::Contains("fixedsizebinary_19_nonnullable"));
  struct lst : sbert::text_list_column<"list_nullable"> {};
  CHECK_THROWS_WITH(sbert::read_arrow<sbert::schema<lst>>(case_path("nested", ".stream")),
                    Catch::Contains("List<Int32>"));
  CHECK_THROWS_AS(sbert::read_arrow<sbert::schema<utf8_nn>>(case_path("primitive", ".json.gz")), sbert::input_error);
}

TEST_CASE("read_arrow: cut or corrupted files are an sbert error every time") {
  using S = sbert::schema<utf8_nn, int32_nn>;
  for (const char* ext : {".stream", ".arrow_file"}) {
    const std::string full = slurp(case_path("primitive", ext));
    REQUIRE(full.size() > 1000);
    std::size_t errors = 0, tries = 0;
    for (std::size_t cut = 0; cut < full.size(); cut += 97) {
      ++tries;
      try {
        auto d = sbert::parse_arrow<S>(std::string_view(full).substr(0, cut));
        // A stream cut exactly between messages is a shorter valid stream.
        CHECK(d.size() < 37);
      } catch (const sbert::input_error&) {
        ++errors;
      }
    }
    CHECK(errors > tries / 2);
    // Flipped bytes: rows or an error, never a crash.
    for (std::size_t at = 0; at < full.size(); at += 13) {
      std::string bad = full;
      bad[at] = static_cast<char>(bad[at] ^ 0x5A);
      try {
        (void)sbert::parse_arrow<S>(bad);
      } catch (const sbert::input_error&) {
      }
    }
  }
  const std::string file = slurp(case_path("dictionary", ".arrow_file"));
  CHECK_THROWS_WITH(sbert::parse_arrow<sbert::schema<dict0>>(std::string_view(file).substr(0, file.size() - 3)),
                    Catch::Contains("closing magic"));
}

namespace {
fs::path make_split(const fs::path& dir, const std::vector<std::string>& files, const std::string& split) {
  fs::create_directories(dir);
  std::string list;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const std::string name = "data-0000" + std::to_string(i) + "-of-0000" + std::to_string(files.size()) + ".arrow";
    fs::copy_file(files[i], dir / name, fs::copy_options::overwrite_existing);
    list += std::string(i ? ", " : "") + "{\"filename\": \"" + name + "\"}";
  }
  std::ofstream(dir / "state.json") << "{\n  \"_data_files\": [" << list
                                    << "],\n  \"_fingerprint\": \"0123456789abcdef\",\n  \"_format_columns\": null,\n"
                                       "  \"_format_kwargs\": {},\n  \"_format_type\": null,\n  \"_output_all_columns\": false,\n"
                                       "  \"_split\": " << (split.empty() ? "null" : "\"" + split + "\"") << "\n}\n";
  std::ofstream(dir / "dataset_info.json") << "{\"citation\": \"\", \"description\": \"\", \"features\": {}, \"homepage\": \"\", \"license\": \"\"}";
  return dir;
}
}  // namespace

TEST_CASE("load_from_disk: a save_to_disk folder and a DatasetDict folder") {
  using S = sbert::schema<utf8_nn, int32_nn>;
  const fs::path root = fs::temp_directory_path() / "sbert_arrow_load_from_disk";
  fs::remove_all(root);
  const auto one = make_split(root / "single", {case_path("primitive", ".stream"), case_path("primitive", ".stream")}, "train");
  auto d = sbert::load_from_disk<S>(one.string());
  REQUIRE(d.size() == 74);
  CHECK(d[37].get<utf8_nn>() == "co矢2p矢m");
  CHECK(d[57].get<int32_nn>() == 1200919211);

  make_split(root / "dict" / "train", {case_path("primitive", ".stream")}, "train");
  make_split(root / "dict" / "test", {case_path("primitive", ".stream")}, "test");
  std::ofstream(root / "dict" / "dataset_dict.json") << "{\"splits\": [\"train\", \"test\"]}";
  auto dd = sbert::load_dataset_dict_from_disk<S>((root / "dict").string());
  CHECK(dd.size() == 2);
  CHECK(dd["test"].size() == 37);
  CHECK(dd["train[:10]"].size() == 10);
  CHECK_THROWS_WITH(sbert::load_from_disk<S>((root / "dict").string()), Catch::Contains("load_dataset_dict_from_disk"));
  auto single = sbert::load_dataset_dict_from_disk<S>(one.string());
  CHECK(single.contains("train"));

  std::ofstream(root / "single" / "state.json") << "{\"_data_files\": [{\"filename\": \"../x.arrow\"}]}";
  CHECK_THROWS_AS(sbert::load_from_disk<S>(one.string()), sbert::input_error);
  fs::remove_all(root);
}

TEST_CASE("read_arrow: the pre-0.15 framing without the continuation marker") {
  // The real stream re-framed as old writers wrote it: each message's 0xFFFFFFFF dropped.
  namespace ar = sbert::detail::arrow;
  const std::string s = slurp(case_path("dictionary", ".stream"));
  const auto* p = reinterpret_cast<const std::uint8_t*>(s.data());
  std::string old;
  std::size_t pos = 0, messages = 0;
  for (;;) {
    const ar::message m = ar::read_message(p, s.size(), pos);
    REQUIRE(s.compare(pos, 4, "\xFF\xFF\xFF\xFF") == 0);
    old += s.substr(pos + 4, m.end - pos - 4);
    ++messages;
    if (m.eos) break;
    pos = m.end;
  }
  REQUIRE(messages > 4);  // schema, 3 dictionaries, 2 batches, end marker
  REQUIRE(old.size() == s.size() - 4 * messages);
  using S = sbert::schema<dict0, dict2>;
  sbert::read_options o;
  o.lenient = true;
  sbert::read_report rep;
  o.report = &rep;
  CHECK(same(sbert::parse_arrow<S>(old, o), sbert::read_arrow<S>(case_path("dictionary", ".stream"), o)));
  CHECK(sbert::parse_arrow<S>(old, o).size() == 2);
}
