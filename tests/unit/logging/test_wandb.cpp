// W&B offline runs: the CRC and header constants, a byte-exact record and chunk, the block
// framing at its edges (FIRST/MIDDLE/LAST, trailer padding, a zero-length FIRST), reader round
// trips, corruption errors with byte offsets, the run folder and the callback's keys.
// The expected constants were computed with python3's zlib.crc32 (independent of this code):
//   zlib.crc32(b"123456789") == 0xcbf43926
//   zlib.crc32(b"Weights & Biases") & 0xffff == 0xbee1
//   zlib.crc32(record, zlib.crc32(b"\x01")) == 0x6eabad74 for the 26-byte record below
#include "catch.hpp"
#include "temp_files.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>

#include <sbert/training/wandb.hpp>

namespace wb = sbert::wandb;
namespace fs = std::filesystem;

namespace {
using sbert::test::fresh_dir;
using sbert::test::hex;
using sbert::test::slurp;
std::string patterned(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed) % 251);
  return s;
}
struct chunk {
  std::size_t at;
  std::size_t len;
  int type;
};
// Walks chunk headers as the spec lays them out (skipping trailers), without the reader.
std::vector<chunk> chunks_of(const std::string& file) {
  std::vector<chunk> out;
  std::size_t pos = 7;
  while (pos < file.size()) {
    if (wb::block_size - pos % wb::block_size < 7) { pos += wb::block_size - pos % wb::block_size; continue; }
    const std::size_t len = static_cast<unsigned char>(file[pos + 4]) | (static_cast<unsigned char>(file[pos + 5]) << 8);
    out.push_back({pos, len, static_cast<unsigned char>(file[pos + 6])});
    pos += 7 + len;
  }
  return out;
}
void write_all(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }
}  // namespace

TEST_CASE("crc32 and the header are zlib's and W&B's constants", "[wandb]") {
  CHECK(wb::crc32("123456789") == 0xCBF43926u);
  CHECK(wb::crc32("") == 0u);
  CHECK((wb::crc32("Weights & Biases") & 0xFFFFu) == 0xBEE1u);
  CHECK(hex(wb::file_header) == "3a572642e1be00");  // ":W&B", 0xBEE1 little-endian, version 0
  CHECK(wb::crc32("6789", wb::crc32("12345")) == wb::crc32("123456789"));  // continues as zlib's does
}

TEST_CASE("a history record encodes and frames byte for byte", "[wandb]") {
  // Record{num=1, history{item{key="train/loss", value_json="0.5"}, step{}}}:
  //   08 01 | 12 16 ( 0a 12 ( 0a 0a "train/loss" | 82 01 03 "0.5" ) | 12 00 )
  wb::record r;
  r.kind = wb::record_kind::history;
  r.num = 1;
  r.items = {{"train/loss", "0.5"}};
  r.step = 0;
  const auto payload = wb::encode_record(r);
  CHECK(hex(payload) == "080112160a120a0a747261696e2f6c6f7373820103302e351200");
  wb::record_framer f;
  CHECK(hex(f.frame(payload)) == "74adab6e1a0001" + hex(payload));  // crc 0x6eabad74, length 26, FULL
  CHECK(f.offset() == 7 + 7 + 26);
  const auto back = wb::decode_record(payload);
  CHECK(back.kind == wb::record_kind::history);
  CHECK(back.num == 1);
  CHECK(back.items == r.items);
  REQUIRE(back.step);
  CHECK(*back.step == 0);
}

TEST_CASE("records split across 32 KiB blocks as FIRST, MIDDLE, LAST", "[wandb]") {
  wb::record_framer f;
  std::string file(wb::file_header);
  const auto a = patterned(40000, 1), b = patterned(70000, 2);
  file += f.frame(a);
  file += f.frame(b);
  const auto c = chunks_of(file);
  REQUIRE(c.size() == 5);
  // a: FIRST fills the first block after the header (32768 - 7 - 7 bytes), LAST the rest.
  CHECK((c[0].at == 7 && c[0].len == 32754 && c[0].type == wb::chunk_first));
  CHECK((c[1].at == 32768 && c[1].len == 40000 - 32754 && c[1].type == wb::chunk_last));
  // b starts after a in block 2: FIRST to the block's end, one whole MIDDLE block, LAST.
  const std::size_t b_at = 32768 + 7 + (40000 - 32754);
  CHECK((c[2].at == b_at && c[2].len == 65536 - b_at - 7 && c[2].type == wb::chunk_first));
  CHECK((c[3].at == 65536 && c[3].len == 32761 && c[3].type == wb::chunk_middle));
  CHECK((c[4].at == 98304 && c[4].len == 70000 - c[2].len - 32761 && c[4].type == wb::chunk_last));
  const auto back = wb::read_datastore(file, "mem");
  REQUIRE(back.size() == 2);
  CHECK(back[0] == a);
  CHECK(back[1] == b);
}

TEST_CASE("block trailers: zero padding under 7 bytes, an empty FIRST at exactly 7", "[wandb]") {
  {  // the first record ends 3 bytes before the block's end: 3 zeros, the next chunk at 32768
    wb::record_framer f;
    std::string file(wb::file_header);
    file += f.frame(patterned(32768 - 7 - 7 - 3, 3));
    file += f.frame("0123456789");
    CHECK(file.substr(32765, 3) == std::string(3, '\0'));
    const auto c = chunks_of(file);
    REQUIRE(c.size() == 2);
    CHECK((c[1].at == 32768 && c[1].type == wb::chunk_full && c[1].len == 10));
    const auto back = wb::read_datastore(file, "mem");
    REQUIRE(back.size() == 2);
    CHECK(back[1] == "0123456789");
  }
  {  // exactly 7 bytes left: a FIRST chunk with no data, then LAST in the next block
    wb::record_framer f;
    std::string file(wb::file_header);
    file += f.frame(patterned(32768 - 7 - 7 - 7, 4));
    file += f.frame("0123456789");
    const auto c = chunks_of(file);
    REQUIRE(c.size() == 3);
    CHECK((c[1].at == 32761 && c[1].len == 0 && c[1].type == wb::chunk_first));
    CHECK(file.substr(32761, 4) == std::string("\xa1\x8e\x0c\x3c", 4));  // zlib.crc32(b"\x02") = 0x3c0c8ea1
    CHECK((c[2].at == 32768 && c[2].len == 10 && c[2].type == wb::chunk_last));
    const auto back = wb::read_datastore(file, "mem");
    REQUIRE(back.size() == 2);
    CHECK(back[1] == "0123456789");
  }
}

TEST_CASE("every record kind round-trips through the reader", "[wandb]") {
  wb::record run;
  run.kind = wb::record_kind::run;
  run.num = 1;
  run.run_id = "abc123xy";
  run.entity = "team";
  run.project = "proj";
  run.display_name = "my run";
  run.host = "box";
  run.start_time = 1700000000.25;
  run.config = {{"learning_rate", "5e-05"}, {"report_to", "[\"wandb\"]"}};
  wb::record hist;
  hist.kind = wb::record_kind::history;
  hist.num = 300;
  hist.items = {{"train/loss", "NaN"}, {"_step", "7"}};
  hist.step = 7;
  wb::record sum;
  sum.kind = wb::record_kind::summary;
  sum.items = {{"train_loss", "0.25"}};
  wb::record files;
  files.kind = wb::record_kind::files;
  files.files = {"wandb-metadata.json"};
  wb::record ex;
  ex.kind = wb::record_kind::exit;
  ex.exit_code = 1;
  ex.runtime = 12;
  wb::record fin;
  fin.kind = wb::record_kind::final;
  wb::record_framer f;
  std::string file(wb::file_header);
  for (const auto* r : {&run, &hist, &sum, &files, &ex, &fin}) file += f.frame(wb::encode_record(*r));
  std::vector<wb::record> back;
  for (const auto& p : wb::read_datastore(file, "mem")) back.push_back(wb::decode_record(p));
  REQUIRE(back.size() == 6);
  CHECK(back[0].kind == wb::record_kind::run);
  CHECK(back[0].run_id == "abc123xy");
  CHECK(back[0].entity == "team");
  CHECK(back[0].project == "proj");
  CHECK(back[0].display_name == "my run");
  CHECK(back[0].host == "box");
  CHECK(back[0].start_time == Approx(1700000000.25).margin(1e-6));
  CHECK(back[0].config == run.config);
  CHECK(back[1].num == 300);
  CHECK(back[1].items == hist.items);
  CHECK(back[1].step == std::optional<std::int64_t>(7));
  CHECK(back[2].kind == wb::record_kind::summary);
  CHECK(back[2].items == sum.items);
  CHECK(back[3].files == files.files);
  CHECK((back[4].kind == wb::record_kind::exit && back[4].exit_code == 1 && back[4].runtime == 12));
  CHECK(back[5].kind == wb::record_kind::final);
  // Unknown fields are skipped: a telemetry record (Record field 11) decodes as "other".
  std::string telemetry;
  sbert::protobuf::bytes(telemetry, 11, "\x08\x01");
  CHECK(wb::decode_record(telemetry).kind == wb::record_kind::other);
}

TEST_CASE("a corrupt or truncated .wandb file is an input_error with the byte offset", "[wandb]") {
  wb::record_framer f;
  std::string good(wb::file_header);
  good += f.frame("first record");
  good += f.frame(patterned(40000, 5));
  REQUIRE(wb::read_datastore(good, "x.wandb").size() == 2);
  using Catch::Contains;
  auto bad = good;
  bad[7 + 7 + 2] ^= 1;  // a payload bit of the first chunk
  CHECK_THROWS_WITH(wb::read_datastore(bad, "x.wandb"), Contains("x.wandb") && Contains("byte 7: chunk checksum mismatch"));
  bad = good;
  bad[0] = 'X';
  CHECK_THROWS_WITH(wb::read_datastore(bad, "x.wandb"), Contains("not a .wandb file"));
  bad = good;
  bad[6] = 1;
  CHECK_THROWS_WITH(wb::read_datastore(bad, "x.wandb"), Contains("byte 6: unsupported datastore version 1"));
  // Cut inside the second record's LAST chunk, and right after its FIRST chunk.
  CHECK_THROWS_WITH(wb::read_datastore(std::string_view(good).substr(0, good.size() - 5), "x.wandb"),
                    Contains("truncated chunk"));
  CHECK_THROWS_WITH(wb::read_datastore(std::string_view(good).substr(0, 32768), "x.wandb"),
                    Contains("byte 26: the record begun here is cut off"));
  // A chunk whose length runs past its block.
  bad = good;
  bad[7 + 4] = '\xff';
  bad[7 + 5] = '\x7f';
  CHECK_THROWS_WITH(wb::read_datastore(bad, "x.wandb"), Contains("byte 7: chunk of 32767 bytes runs past its 32 KiB block"));
  // A LAST chunk with no FIRST before it.
  std::string orphan(wb::file_header);
  sbert::protobuf::fixed32(orphan, wb::chunk_checksum(wb::chunk_last, "ab"));
  orphan += std::string("\x02\x00\x04", 3) + "ab";
  CHECK_THROWS_WITH(wb::read_datastore(orphan, "x.wandb"), Contains("byte 7: LAST chunk without a FIRST"));
  // A malformed protobuf inside a well-framed record.
  CHECK_THROWS_WITH(wb::decode_record(std::string("\x12\x05\x0a", 3), "x.wandb (record 1)"),
                    Contains("x.wandb (record 1)") && Contains("runs past the end"));
}

TEST_CASE("run_writer lays out the offline run folder as wandb does", "[wandb]") {
  const auto root = fresh_dir("layout");
  wb::run_options o;
  o.root = root.string();
  o.project = "proj";
  o.run_name = "demo";
  o.config = {{"learning_rate", 5e-05}, {"report_to", sbert::json::value::array{"wandb"}}, {"seed", 42}};
  std::string dir, file;
  {
    wb::run_writer w(o);
    dir = w.dir();
    file = w.file();
    CHECK(std::regex_match(fs::path(dir).filename().string(), std::regex(R"(offline-run-\d{8}_\d{6}-[0-9a-z]{8})")));
    CHECK(fs::path(dir).parent_path() == root / "wandb");
    CHECK(fs::path(file).filename() == "run-" + w.options().run_id + ".wandb");
    w.log({{"train/loss", 0.5}, {"train/global_step", 1LL}});
    w.log({{"train/loss", 0.25}, {"eval/loss", 0.75}, {"train/global_step", 2LL}});
    w.set_summary("train_runtime", 1.5);
    w.finish();
  }
  CHECK(fs::is_symlink(root / "wandb" / "latest-run"));
  const auto recs = wb::read_run_file(file);
  REQUIRE(recs.size() == 7);  // run, files, 2 history, summary, exit, final
  std::vector<wb::record_kind> kinds;
  for (const auto& r : recs) kinds.push_back(r.kind);
  using K = wb::record_kind;
  CHECK(kinds == std::vector<K>{K::run, K::files, K::history, K::history, K::summary, K::exit, K::final});
  for (std::size_t i = 0; i < recs.size(); ++i) CHECK(recs[i].num == static_cast<std::int64_t>(i + 1));
  CHECK(recs[0].project == "proj");
  CHECK(recs[0].display_name == "demo");
  CHECK(recs[0].config == std::vector<wb::item>{{"learning_rate", "5e-05"}, {"report_to", "[\"wandb\"]"}, {"seed", "42"}});
  CHECK(std::abs(recs[0].start_time - wb::run_writer::now()) < 60);
  CHECK(recs[1].files == std::vector<std::string>{"wandb-metadata.json"});
  CHECK(recs[3].step == std::optional<std::int64_t>(1));
  CHECK(recs[3].items.at(0) == wb::item{"train/loss", "0.25"});
  CHECK(recs[3].items.at(3) == wb::item{"_step", "1"});
  CHECK(recs[3].items.at(4).key == "_runtime");
  CHECK(recs[3].items.at(5).key == "_timestamp");
  // The summary: each key's last value, then the summary-only keys.
  const auto& sum = recs[4].items;
  auto get = [&](const std::string& k) {
    for (const auto& it : sum)
      if (it.key == k) return it.value_json;
    return std::string("<missing>");
  };
  CHECK(get("train/loss") == "0.25");
  CHECK(get("eval/loss") == "0.75");
  CHECK(get("_step") == "1");
  CHECK(get("train_runtime") == "1.5");
  CHECK(recs[5].exit_code == 0);
  CHECK(fs::exists(fs::path(dir) / "files" / "wandb-metadata.json"));
  const auto yaml = slurp(fs::path(dir) / "files" / "config.yaml");
  CHECK(yaml == "\"learning_rate\":\n  value: 5.0e-05\n\"report_to\":\n  value: [\"wandb\"]\n\"seed\":\n  value: 42\n");
  const auto summary_json = slurp(fs::path(dir) / "files" / "wandb-summary.json");
  CHECK(summary_json.find("\"train/loss\": 0.25") != std::string::npos);
  CHECK(summary_json.find("\"train_runtime\": 1.5") != std::string::npos);
  fs::remove_all(root);
}

TEST_CASE("an unfinished run is closed with exit code 1; ids come from the options", "[wandb]") {
  const auto root = fresh_dir("crash");
  wb::run_options o;
  o.root = root.string();
  o.run_id = "fixedid1";
  std::string file;
  {
    wb::run_writer w(o);
    file = w.file();
    w.log({{"train/loss", 1.0}});
  }  // destroyed without finish(): training threw
  CHECK(fs::path(file).filename() == "run-fixedid1.wandb");
  const auto recs = wb::read_run_file(file);
  REQUIRE(recs.size() == 6);
  CHECK(recs[0].run_id == "fixedid1");
  CHECK(recs[4].kind == wb::record_kind::exit);
  CHECK(recs[4].exit_code == 1);
  o.run_id = "a/b";
  CHECK_THROWS_WITH(wb::run_writer(o), Catch::Contains("cannot name a folder"));
  fs::remove_all(root);
}

TEST_CASE("yaml_float keeps floats floats for YAML 1.1 readers", "[wandb]") {
  CHECK(wb::yaml_float(5e-05) == "5.0e-05");
  CHECK(wb::yaml_float(1e+16) == "1.0e+16");
  CHECK(wb::yaml_float(1.5e-07) == "1.5e-07");
  CHECK(wb::yaml_float(0.1) == "0.1");
  CHECK(wb::yaml_float(std::nan("")) == ".nan");
  CHECK(wb::yaml_float(-INFINITY) == "-.inf");
}

TEST_CASE("options_for reads the args and WANDB_* as transformers and wandb.init do", "[wandb]") {
  sbert::training_args a;
  a.output_dir = "/tmp/out";
  a.run_name = "named";
  ::unsetenv("WANDB_DIR");
  ::unsetenv("WANDB_PROJECT");
  ::unsetenv("WANDB_ENTITY");
  ::unsetenv("WANDB_RUN_ID");
  auto o = wb::options_for(a);
  CHECK(o.root == "/tmp/out");
  CHECK(o.project == "huggingface");
  CHECK(o.entity.empty());
  CHECK(o.run_id.empty());  // the writer draws one
  CHECK(o.run_name == "named");
  CHECK(o.config.at(0).first == "output_dir");
  ::setenv("WANDB_DIR", "/tmp/wdir", 1);
  ::setenv("WANDB_PROJECT", "p", 1);
  ::setenv("WANDB_ENTITY", "e", 1);
  ::setenv("WANDB_RUN_ID", "r1", 1);
  o = wb::options_for(a);
  CHECK((o.root == "/tmp/wdir" && o.project == "p" && o.entity == "e" && o.run_id == "r1"));
  for (const char* v : {"WANDB_DIR", "WANDB_PROJECT", "WANDB_ENTITY", "WANDB_RUN_ID"}) ::unsetenv(v);
}

TEST_CASE("report_to: wandb explicitly, with all only under WANDB_MODE=offline, never with none", "[wandb]") {
  sbert::training_args a;
  ::unsetenv("WANDB_MODE");
  CHECK(!a.reports_to_wandb());  // the default "all"
  a.report_to = {"wandb"};
  CHECK(a.reports_to_wandb());
  CHECK_NOTHROW(a.validate(false));
  a.report_to = {"all"};
  ::setenv("WANDB_MODE", "offline", 1);
  CHECK(a.reports_to_wandb());
  a.report_to = {"all", "none"};
  CHECK(!a.reports_to_wandb());
  a.report_to = {"wandb"};
  ::setenv("WANDB_MODE", "disabled", 1);
  CHECK(!a.reports_to_wandb());
  ::unsetenv("WANDB_MODE");
  a.report_to = {"mlflow"};
  CHECK_THROWS_WITH(a.validate(false), Catch::Contains("\"wandb\""));
}

TEST_CASE("wandb_callback logs as transformers' WandbCallback", "[wandb]") {
  const auto root = fresh_dir("callback");
  wb::run_options o;
  o.root = root.string();
  o.run_id = "callbk01";
  auto cb = sbert::wandb_callback(o);
  CHECK(!fs::exists(root / "wandb"));  // nothing until the first log
  sbert::train_state st;
  st.global_step = 5;
  cb.on_log(st, {{"loss", 0.5}, {"learning_rate", 5e-05}, {"epoch", 0.5}, {"step", 5}});
  cb.on_log(st, {{"eval_loss", 0.4}, {"eval_sts_spearman", 0.8}, {"epoch", 0.5}, {"step", 5}});
  st.global_step = 10;
  cb.on_log(st, {{"train_runtime", 3.25}, {"train_samples_per_second", 10.0}, {"train_steps_per_second", 2.0},
                 {"train_loss", 0.45}, {"epoch", 1.0}, {"step", 10}});
  cb.on_train_end(st);
  std::vector<fs::path> runs;
  for (const auto& e : fs::directory_iterator(root / "wandb"))
    if (e.path().filename().string().starts_with("offline-run-")) runs.push_back(e.path());
  REQUIRE(runs.size() == 1);
  const auto recs = wb::read_run_file((runs[0] / "run-callbk01.wandb").string());
  std::vector<const wb::record*> hist;
  const wb::record* sum = nullptr;
  for (const auto& r : recs) {
    if (r.kind == wb::record_kind::history) hist.push_back(&r);
    if (r.kind == wb::record_kind::summary) sum = &r;
  }
  REQUIRE(hist.size() == 3);
  auto keys = [](const wb::record& r) {
    std::vector<std::string> k;
    for (const auto& it : r.items) k.push_back(it.key);
    return k;
  };
  using V = std::vector<std::string>;
  CHECK(keys(*hist[0]) == V{"train/loss", "train/learning_rate", "train/epoch", "train/global_step", "_step", "_runtime", "_timestamp"});
  CHECK(hist[0]->items[1].value_json == "5e-05");
  CHECK(hist[0]->items[3].value_json == "5");
  CHECK(keys(*hist[1]) == V{"eval/loss", "eval/sts_spearman", "train/epoch", "train/global_step", "_step", "_runtime", "_timestamp"});
  // The run's totals go to the summary only; the row keeps the epoch and the step.
  CHECK(keys(*hist[2]) == V{"train/epoch", "train/global_step", "_step", "_runtime", "_timestamp"});
  CHECK(hist[2]->items[1].value_json == "10");
  REQUIRE(sum);
  V sk = keys(*sum);
  for (const char* k : {"train_runtime", "train_samples_per_second", "train_steps_per_second", "train_loss", "eval/loss"})
    CHECK(std::find(sk.begin(), sk.end(), k) != sk.end());
  CHECK(recs.back().kind == wb::record_kind::final);
  fs::remove_all(root);
}

// Writes a sample run and a framing file for tests/unit/logging/check_wandb_run.py (an
// independent reader in Python) when SBERT_WANDB_OUT names a folder.
TEST_CASE("sample W&B run for the Python cross-check", "[wandb_file]") {
  const char* out = std::getenv("SBERT_WANDB_OUT");
  if (!out) return;
  fs::remove_all(out);
  fs::create_directories(out);
  wb::run_options o;
  o.root = out;
  o.run_id = "sbert001";
  o.project = "sbert-test";
  o.entity = "someone";
  o.run_name = "cross-check";
  sbert::training_args a;
  a.report_to = {"wandb"};
  o.config = wb::training_args_config(a);
  o.config.emplace_back("loss", "CoSENTLoss");
  auto cb = sbert::wandb_callback(o);
  sbert::train_state st;
  for (int s = 1; s <= 40; ++s) {
    st.global_step = s;
    cb.on_log(st, {{"loss", 1.0 / s}, {"learning_rate", 5e-05 * (40 - s) / 40}, {"epoch", s / 40.0}, {"step", s}});
  }
  // A history row of more than 32 KiB, so the file has FIRST/MIDDLE/LAST chunks.
  sbert::log_record big;
  for (int k = 0; k < 3000; ++k) big.emplace_back("eval_metric_" + std::to_string(k), k * 0.001);
  big.emplace_back("step", 40);
  cb.on_log(st, big);
  cb.on_log(st, {{"train_runtime", 2.5}, {"train_loss", 0.1}, {"epoch", 1.0}, {"step", 40}});
  cb.on_train_end(st);
  // The framing edge cases as one file of opaque records: 3 bytes of trailer, then exactly 7
  // (an empty FIRST), a record over three blocks, an empty record (payload: patterned bytes).
  wb::record_framer f;
  std::string file(wb::file_header);
  for (std::size_t n : {std::size_t{32768 - 7 - 7 - 3}, std::size_t{10}, std::size_t{32737}, std::size_t{10},
                        std::size_t{70000}, std::size_t{0}, std::size_t{5}})
    file += f.frame(patterned(n, static_cast<unsigned>(n % 7)));
  write_all(fs::path(out) / "framing.wandb", file);
}
