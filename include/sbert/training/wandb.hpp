// SPDX-License-Identifier: Apache-2.0
// Weights & Biases offline runs without the wandb package: the run folder `wandb offline`
// leaves behind (`wandb/offline-run-{date}_{time}-{id}/run-{id}.wandb` plus files/), which
// `wandb sync <folder>` uploads. The .wandb file is W&B's "datastore": a 7-byte header, then
// LevelDB-log framing (32 KiB blocks of chunks, each with a CRC-32 of its type and payload)
// around hand-encoded `Record` protobufs of wandb_internal.proto. docs/logging.md says which
// upstream files this was checked against. Torch-free.
#pragma once
#include <sbert/detail/compiled.hpp>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <sbert/error.hpp>
#include <sbert/io/crc.hpp>
#include <sbert/io/json_writer.hpp>
#include <sbert/io/protobuf.hpp>
#include <sbert/training/arguments.hpp>
#include <sbert/training/callbacks.hpp>

namespace sbert::wandb {

// ---------------------------------------------------------------------------------------------
// The datastore framing.

/// CRC-32 (IEEE), continuing from `crc` as zlib.crc32(data, crc) does. W&B uses it plain, not
/// LevelDB's masked CRC32C.
[[nodiscard]] inline std::uint32_t crc32(std::string_view data, std::uint32_t crc = 0) {
  return sbert::crc::update(sbert::crc::ieee_table, data, crc);
}

inline constexpr std::size_t block_size = 32768;  ///< chunks never cross a multiple of this (file offset)
inline constexpr std::size_t chunk_header_size = 7;  ///< uint32 checksum, uint16 length, uint8 type
enum chunk_type : std::uint8_t { chunk_full = 1, chunk_first = 2, chunk_middle = 3, chunk_last = 4 };

/// The file header: ident ":W&B", magic 0xBEE1 (uint16 LE; the low 16 bits of
/// crc32("Weights & Biases")), version 0 (what released wandb writes and requires).
inline constexpr std::string_view file_header{":W&B\xE1\xBE\x00", 7};

/// A chunk's checksum: CRC-32 over its type byte followed by its payload.
[[nodiscard]] inline std::uint32_t chunk_checksum(std::uint8_t type, std::string_view payload) {
  const char t = static_cast<char>(type);
  return crc32(payload, crc32(std::string_view(&t, 1)));
}

/// Cuts records into chunks at the right file offsets. `offset` is the file's size so far
/// (the header counts: the first block holds 32768 - 7 bytes of chunks).
class record_framer {
 public:
  explicit record_framer(std::uint64_t offset = file_header.size()) : offset_(offset) {}
  [[nodiscard]] std::uint64_t offset() const { return offset_; }

  /// The bytes to append for one record: zero padding when fewer than 7 bytes are left in the
  /// block, then a FULL chunk, or FIRST, MIDDLE..., LAST when the record does not fit (with
  /// exactly 7 bytes left, FIRST carries no data, as LevelDB's writer does).
  [[nodiscard]] std::string frame(std::string_view data) {
    std::string out;
    bool first_chunk = true;
    for (;;) {
      std::size_t left = block_size - static_cast<std::size_t>(offset_ % block_size);
      if (left < chunk_header_size) {
        out.append(left, '\0');
        offset_ += left;
        left = block_size;
      }
      const std::size_t room = left - chunk_header_size;
      const bool ends = data.size() <= room;
      const std::size_t n = ends ? data.size() : room;
      const std::uint8_t type = ends ? (first_chunk ? chunk_full : chunk_last) : (first_chunk ? chunk_first : chunk_middle);
      const auto payload = data.substr(0, n);
      protobuf::fixed32(out, chunk_checksum(type, payload));
      out += static_cast<char>(n & 0xFF);
      out += static_cast<char>((n >> 8) & 0xFF);
      out += static_cast<char>(type);
      out.append(payload);
      offset_ += chunk_header_size + n;
      data.remove_prefix(n);
      first_chunk = false;
      if (ends) return out;
    }
  }

 private:
  std::uint64_t offset_;
};

// ---------------------------------------------------------------------------------------------
// The Record protobuf (the members sbert writes and reads).

/// Which member of Record's `record_type` oneof is set.
enum class record_kind { other, history, summary, config, files, run, exit, final };

/// HistoryItem, SummaryItem and ConfigItem alike: `key` (1) and `value_json` (16).
struct item {
  std::string key;
  std::string value_json;
  friend bool operator==(const item&, const item&) = default;
};

struct record {
  record_kind kind = record_kind::other;
  std::int64_t num = 0;
  // run
  std::string run_id, entity, project, display_name, host;
  double start_time = 0;  ///< seconds since the epoch (RunRecord.start_time, a Timestamp)
  std::vector<item> config;  ///< run.config.update, or the config record's update
  // history, summary
  std::vector<item> items;  ///< history.item, or summary.update
  std::optional<std::int64_t> step;  ///< history.step.num, when the step is written
  // files
  std::vector<std::string> files;
  // exit
  std::int32_t exit_code = 0;
  std::int32_t runtime = 0;  ///< whole seconds
};

namespace field {
// Record
inline constexpr unsigned num = 1, history = 2, summary = 3, config = 5, files = 6, run = 17, exit = 18, final = 20;
// RunRecord
inline constexpr unsigned run_id = 1, entity = 2, project = 3, run_config = 4, display_name = 8, host = 13, start_time = 17;
// HistoryRecord / SummaryRecord / ConfigRecord: the repeated items are field 1; HistoryRecord.step is 2
inline constexpr unsigned items = 1, step = 2;
// *Item
inline constexpr unsigned key = 1, value_json = 16;
}  // namespace field

#if SBERT_DEFINITIONS
[[nodiscard]] SBERT_INLINE std::string encode_record(const record& r) {
  namespace pb = sbert::protobuf;
  auto items = [](const std::vector<item>& v) {
    std::string out;
    for (const auto& it : v) {
      std::string one;
      if (!it.key.empty()) pb::bytes(one, field::key, it.key);
      if (!it.value_json.empty()) pb::bytes(one, field::value_json, it.value_json);
      pb::bytes(out, field::items, one);
    }
    return out;
  };
  auto str = [](std::string& out, unsigned f, const std::string& s) {
    if (!s.empty()) pb::bytes(out, f, s);  // proto3 leaves empty strings out
  };
  std::string out, body;
  if (r.num != 0) pb::int_field(out, field::num, r.num);
  switch (r.kind) {
    case record_kind::history:
      body = items(r.items);
      if (r.step) {
        std::string step;
        if (*r.step != 0) pb::int_field(step, 1, *r.step);
        pb::bytes(body, field::step, step);
      }
      pb::bytes(out, field::history, body);
      break;
    case record_kind::summary: pb::bytes(out, field::summary, items(r.items)); break;
    case record_kind::config: pb::bytes(out, field::config, items(r.config)); break;
    case record_kind::files:
      for (const auto& f : r.files) {
        std::string one;
        pb::bytes(one, 1, f);  // FilesItem.path; policy NOW (0) is the proto3 default
        pb::bytes(body, 1, one);
      }
      pb::bytes(out, field::files, body);
      break;
    case record_kind::run: {
      str(body, field::run_id, r.run_id);
      str(body, field::entity, r.entity);
      str(body, field::project, r.project);
      if (!r.config.empty()) pb::bytes(body, field::run_config, items(r.config));
      str(body, field::display_name, r.display_name);
      str(body, field::host, r.host);
      std::string ts;  // google.protobuf.Timestamp {int64 seconds = 1; int32 nanos = 2}
      const double secs = std::floor(r.start_time);
      const auto nanos = static_cast<std::int64_t>(std::llround((r.start_time - secs) * 1e9));
      if (secs != 0) pb::int_field(ts, 1, static_cast<std::int64_t>(secs));
      if (nanos > 0 && nanos < 1000000000) pb::int_field(ts, 2, nanos);
      pb::bytes(body, field::start_time, ts);
      pb::bytes(out, field::run, body);
      break;
    }
    case record_kind::exit:
      if (r.exit_code != 0) pb::int_field(body, 1, r.exit_code);
      if (r.runtime != 0) pb::int_field(body, 2, r.runtime);
      pb::bytes(out, field::exit, body);
      break;
    case record_kind::final: pb::bytes(out, field::final, ""); break;
    case record_kind::other: throw error("wandb: encode_record needs a record kind");
  }
  return out;
}
#else
[[nodiscard]] std::string encode_record(const record& r);
#endif

/// Decodes a Record payload; fields sbert does not model are skipped, as protobuf readers do.
/// `where` names the file and record for errors.
#if SBERT_DEFINITIONS
[[nodiscard]] SBERT_INLINE record decode_record(std::string_view data, const std::string& where = "") {
  using pb_reader = sbert::protobuf::reader;
  record r;
  auto read_items = [&](std::string_view msg, std::vector<item>& into) {
    pb_reader m{msg, 0, where, "Record"};
    while (!m.done()) {
      const auto k = m.varint();
      if (k != ((field::items << 3) | 2u)) { m.skip(static_cast<unsigned>(k & 7)); continue; }
      pb_reader it{m.bytes(), 0, where, "Record item"};
      item one;
      while (!it.done()) {
        const auto ik = it.varint();
        if (ik == ((field::key << 3) | 2u)) one.key = std::string(it.bytes());
        else if (ik == ((field::value_json << 3) | 2u)) one.value_json = std::string(it.bytes());
        else it.skip(static_cast<unsigned>(ik & 7));
      }
      into.push_back(std::move(one));
    }
  };
  pb_reader p{data, 0, where, "Record"};
  while (!p.done()) {
    const auto key = p.varint();
    const auto f = static_cast<unsigned>(key >> 3), wire = static_cast<unsigned>(key & 7);
    if (f == field::num && wire == 0) { r.num = static_cast<std::int64_t>(p.varint()); continue; }
    if (wire != 2 || (f != field::history && f != field::summary && f != field::config && f != field::files &&
                      f != field::run && f != field::exit && f != field::final)) {
      p.skip(wire);
      continue;
    }
    const auto body = p.bytes();
    pb_reader b{body, 0, where, "Record"};
    switch (f) {
      case field::history: {
        r.kind = record_kind::history;
        read_items(body, r.items);
        while (!b.done()) {  // the step, alongside the items read above
          const auto k = b.varint();
          if (k != ((field::step << 3) | 2u)) { b.skip(static_cast<unsigned>(k & 7)); continue; }
          pb_reader s{b.bytes(), 0, where, "HistoryStep"};
          r.step = 0;
          while (!s.done()) {
            const auto sk = s.varint();
            if (sk == ((1u << 3) | 0u)) r.step = static_cast<std::int64_t>(s.varint());
            else s.skip(static_cast<unsigned>(sk & 7));
          }
        }
        break;
      }
      case field::summary: r.kind = record_kind::summary; read_items(body, r.items); break;
      case field::config: r.kind = record_kind::config; read_items(body, r.config); break;
      case field::files:
        r.kind = record_kind::files;
        while (!b.done()) {
          const auto k = b.varint();
          if (k != ((1u << 3) | 2u)) { b.skip(static_cast<unsigned>(k & 7)); continue; }
          pb_reader fi{b.bytes(), 0, where, "FilesItem"};
          while (!fi.done()) {
            const auto fk = fi.varint();
            if (fk == ((1u << 3) | 2u)) r.files.emplace_back(fi.bytes());
            else fi.skip(static_cast<unsigned>(fk & 7));
          }
        }
        break;
      case field::run:
        r.kind = record_kind::run;
        while (!b.done()) {
          const auto k = b.varint();
          const auto rf = static_cast<unsigned>(k >> 3);
          if ((k & 7) != 2) { b.skip(static_cast<unsigned>(k & 7)); continue; }
          const auto v = b.bytes();
          switch (rf) {
            case field::run_id: r.run_id = std::string(v); break;
            case field::entity: r.entity = std::string(v); break;
            case field::project: r.project = std::string(v); break;
            case field::display_name: r.display_name = std::string(v); break;
            case field::host: r.host = std::string(v); break;
            case field::run_config: read_items(v, r.config); break;
            case field::start_time: {
              pb_reader t{v, 0, where, "Timestamp"};
              double secs = 0, nanos = 0;
              while (!t.done()) {
                const auto tk = t.varint();
                if (tk == ((1u << 3) | 0u)) secs = static_cast<double>(static_cast<std::int64_t>(t.varint()));
                else if (tk == ((2u << 3) | 0u)) nanos = static_cast<double>(static_cast<std::int32_t>(t.varint()));
                else t.skip(static_cast<unsigned>(tk & 7));
              }
              r.start_time = secs + nanos * 1e-9;
              break;
            }
            default: break;  // fields sbert does not write
          }
        }
        break;
      case field::exit:
        r.kind = record_kind::exit;
        while (!b.done()) {
          const auto k = b.varint();
          if (k == ((1u << 3) | 0u)) r.exit_code = static_cast<std::int32_t>(b.varint());
          else if (k == ((2u << 3) | 0u)) r.runtime = static_cast<std::int32_t>(b.varint());
          else b.skip(static_cast<unsigned>(k & 7));
        }
        break;
      case field::final: r.kind = record_kind::final; break;
      default: break;
    }
  }
  return r;
}
#else
[[nodiscard]] record decode_record(std::string_view data, const std::string& where = "");
#endif

/// Splits a datastore's bytes into record payloads, checking the header, every checksum, the
/// zero padding and the FULL / FIRST-MIDDLE-LAST sequence. Any fault is an input_error naming
/// `path` and the byte offset.
#if SBERT_DEFINITIONS
[[nodiscard]] SBERT_INLINE std::vector<std::string> read_datastore(std::string_view s, const std::string& path) {
  auto fail = [&](std::size_t at, const std::string& what) -> void {
    throw input_error(path, 0, "", "W&B datastore, byte " + std::to_string(at) + ": " + what);
  };
  if (s.size() < file_header.size()) fail(0, "too short for the 7-byte header");
  if (s.substr(0, 4) != file_header.substr(0, 4)) fail(0, "not a .wandb file (the header does not start with \":W&B\")");
  if (s.substr(4, 2) != file_header.substr(4, 2)) fail(4, "wrong magic number");
  if (s[6] != file_header[6]) fail(6, "unsupported datastore version " + std::to_string(static_cast<unsigned char>(s[6])));
  std::vector<std::string> out;
  std::string pending;
  std::size_t pending_at = 0;
  bool in_record = false;
  std::size_t pos = file_header.size();
  while (pos < s.size()) {
    const std::size_t left = block_size - pos % block_size;
    if (left < chunk_header_size) {  // the block's trailer: zeros only
      for (std::size_t k = pos; k < std::min(s.size(), pos + left); ++k)
        if (s[k] != '\0') fail(k, "non-zero byte in a block's trailer");
      pos += left;
      continue;
    }
    if (s.size() - pos < chunk_header_size) fail(pos, "truncated chunk header");
    const auto u8 = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(s[k])); };
    const std::uint32_t checksum = u8(pos) | (u8(pos + 1) << 8) | (u8(pos + 2) << 16) | (u8(pos + 3) << 24);
    const std::size_t len = u8(pos + 4) | (u8(pos + 5) << 8);
    const auto type = static_cast<std::uint8_t>(s[pos + 6]);
    if (type < chunk_full || type > chunk_last) fail(pos, "unknown chunk type " + std::to_string(type));
    if (chunk_header_size + len > left) fail(pos, "chunk of " + std::to_string(len) + " bytes runs past its 32 KiB block");
    if (s.size() - pos - chunk_header_size < len) fail(pos, "truncated chunk (" + std::to_string(len) + " bytes announced)");
    const auto payload = s.substr(pos + chunk_header_size, len);
    if (chunk_checksum(type, payload) != checksum) fail(pos, "chunk checksum mismatch");
    if (type == chunk_full || type == chunk_first) {
      if (in_record) fail(pos, "a new record starts inside the record begun at byte " + std::to_string(pending_at));
      pending.assign(payload);
      pending_at = pos;
      in_record = type == chunk_first;
      if (type == chunk_full) out.push_back(std::move(pending));
    } else {
      if (!in_record) fail(pos, type == chunk_middle ? "MIDDLE chunk without a FIRST" : "LAST chunk without a FIRST");
      pending.append(payload);
      if (type == chunk_last) {
        out.push_back(std::move(pending));
        in_record = false;
      }
    }
    pos += chunk_header_size + len;
  }
  if (in_record) fail(pending_at, "the record begun here is cut off (no LAST chunk)");
  return out;
}
#else
[[nodiscard]] std::vector<std::string> read_datastore(std::string_view s, const std::string& path);
#endif

/// Reads and decodes every record of a .wandb file.
#if SBERT_DEFINITIONS
[[nodiscard]] SBERT_INLINE std::vector<record> read_run_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw input_error(path, 0, "", "cannot open the W&B run file");
  const std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<record> out;
  std::size_t n = 0;
  for (const auto& payload : read_datastore(s, path)) out.push_back(decode_record(payload, path + " (record " + std::to_string(++n) + ")"));
  return out;
}
#else
[[nodiscard]] std::vector<record> read_run_file(const std::string& path);
#endif

// ---------------------------------------------------------------------------------------------
// The run folder.

/// What identifies and describes a run. wandb_options(args) fills it as transformers'
/// WandbCallback and wandb.init would.
struct run_options {
  std::string root;          ///< the folder that holds wandb/: WANDB_DIR, else output_dir
  std::string project;       ///< WANDB_PROJECT, else "huggingface" (transformers' default)
  std::string entity;        ///< WANDB_ENTITY; empty: the account's default entity at sync time
  std::string run_id;        ///< WANDB_RUN_ID, else 8 random characters of [0-9a-z]
  std::string run_name;      ///< display name: training_args::run_name, else WANDB_NAME; empty: W&B picks one
  json::value::object config;  ///< the run's config (training_args, model, loss, ...)
};

/// wandb's generate_id: 8 characters of [0-9a-z].
[[nodiscard]] inline std::string generate_run_id() {
  static constexpr char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::random_device rd;
  std::mt19937_64 g((static_cast<std::uint64_t>(rd()) << 32) ^ rd() ^
                    static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::string id;
  for (int i = 0; i < 8; ++i) id += alphabet[g() % 36];
  return id;
}

/// A float as YAML 1.1 (PyYAML) reads it back as a float: "5e-05" would be a string there.
[[nodiscard]] inline std::string yaml_float(double d) {
  if (std::isnan(d)) return ".nan";
  if (std::isinf(d)) return d > 0 ? ".inf" : "-.inf";
  std::string s = json::python_float(d);
  if (const auto e = s.find('e'); e != std::string::npos && s.find('.') == std::string::npos) s.insert(e, ".0");
  return s;
}

/// A JSON value as a YAML flow value (JSON strings are valid YAML double-quoted scalars).
#if SBERT_DEFINITIONS
[[nodiscard]] SBERT_INLINE std::string yaml_value(const json::value& v) {
  std::string out;
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, double>) out = yaml_float(x);
        else if constexpr (std::is_same_v<T, std::shared_ptr<json::value::array>>) {
          out = "[";
          for (std::size_t i = 0; i < x->size(); ++i) out += (i ? ", " : "") + yaml_value((*x)[i]);
          out += "]";
        } else if constexpr (std::is_same_v<T, std::shared_ptr<json::value::object>>) {
          out = "{";
          bool firstkv = true;
          for (const auto& [k, e] : *x) {
            out += firstkv ? "" : ", ";
            json::write_string(out, k);
            out += ": " + yaml_value(e);
            firstkv = false;
          }
          out += "}";
        } else out = json::dump(v);
      },
      v.raw());
  return out;
}
#else
[[nodiscard]] std::string yaml_value(const json::value& v);
#endif

/// Writes one offline run: the folder, run-{id}.wandb, and files/ (config.yaml,
/// wandb-metadata.json, wandb-summary.json). The run record (with the config) is written on
/// construction; finish() writes the summary, exit and final records. A run destroyed
/// unfinished (training threw) is closed with exit code 1, as wandb marks a crashed script.
class run_writer {
 public:
  explicit run_writer(run_options o);
  ~run_writer();
  run_writer(const run_writer&) = delete;
  run_writer& operator=(const run_writer&) = delete;

  [[nodiscard]] const std::string& dir() const { return dir_; }
  [[nodiscard]] const std::string& file() const { return file_; }
  [[nodiscard]] const run_options& options() const { return o_; }

  /// One history row: the items plus _step (0, 1, 2, ... as wandb.log counts), _runtime and
  /// _timestamp; the summary keeps each key's last value.
  void log(const std::vector<std::pair<std::string, json::value>>& row);
  /// Sets summary keys without a history row (wandb's run.summary[key] = value).
  void set_summary(const std::string& key, const json::value& v);
  void finish(int exit_code = 0);
  [[nodiscard]] bool finished() const { return finished_; }

  static double now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  }

 private:
  void write(record r);
  void write_summary_file() const;

  run_options o_;
  std::string dir_, file_;
  std::ofstream out_;
  record_framer framer_;
  std::int64_t num_ = 0, step_ = 0;
  double start_ = 0;
  std::vector<std::pair<std::string, std::string>> summary_;  // key -> JSON, first-set order
  bool finished_ = false;
};

#if SBERT_DEFINITIONS
SBERT_INLINE run_writer::run_writer(run_options o) : o_(std::move(o)) {
  namespace fs = std::filesystem;
  if (o_.run_id.empty()) o_.run_id = generate_run_id();
  if (o_.run_id.find_first_of("/\\") != std::string::npos || o_.run_id == "." || o_.run_id == "..")
    throw error("wandb: run id '" + o_.run_id + "' cannot name a folder");
  start_ = now();
  const std::time_t t = static_cast<std::time_t>(start_);
  std::tm tm{};
  localtime_r(&t, &tm);  // wandb names the folder with the local start time
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d_%H%M%S", &tm);
  const fs::path base = fs::path(o_.root.empty() ? "." : o_.root) / "wandb";
  dir_ = (base / ("offline-run-" + std::string(stamp) + "-" + o_.run_id)).string();
  fs::create_directories(fs::path(dir_) / "files");
  file_ = (fs::path(dir_) / ("run-" + o_.run_id + ".wandb")).string();
  if (fs::exists(file_)) throw error("wandb: " + file_ + " already exists (a run with the same id started this second)");
  out_.open(file_, std::ios::binary);
  if (!out_) throw error("wandb: cannot create " + file_);
  out_.write(file_header.data(), static_cast<std::streamsize>(file_header.size()));
  // wandb points wandb/latest-run at the newest run; a failure here costs nothing.
  std::error_code ec;
  fs::remove(base / "latest-run", ec);
  fs::create_directory_symlink(fs::path(dir_).filename(), base / "latest-run", ec);

  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || !host[0]) std::strcpy(host, "localhost");
  record run;
  run.kind = record_kind::run;
  run.run_id = o_.run_id;
  run.entity = o_.entity;
  run.project = o_.project;
  run.display_name = o_.run_name;
  run.host = host;
  run.start_time = start_;
  for (const auto& [k, v] : o_.config) run.config.push_back({k, json::dump(v)});
  write(std::move(run));

  // files/: config.yaml as wandb writes it (each key's value under "value"), the metadata.
  std::string yaml;
  for (const auto& [k, v] : o_.config) {
    json::write_string(yaml, k);
    yaml += ":\n  value: " + yaml_value(v) + "\n";
  }
  if (!(std::ofstream(fs::path(dir_) / "files" / "config.yaml") << yaml)) throw error("wandb: cannot write config.yaml in " + dir_);
  char iso[40];
  std::tm utc{};
  gmtime_r(&t, &utc);
  std::strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &utc);
  json::value meta = json::value::make_object();
  meta.set("program", "sbert (C++)").set("host", std::string(host)).set("startedAt", std::string(iso));
  meta.set("cpu_count", static_cast<long long>(std::thread::hardware_concurrency()));
  if (!(std::ofstream(fs::path(dir_) / "files" / "wandb-metadata.json") << json::dump(meta, {.indent = 4}) << '\n'))
    throw error("wandb: cannot write wandb-metadata.json in " + dir_);
  record files;
  files.kind = record_kind::files;
  files.files = {"wandb-metadata.json"};
  write(std::move(files));
  out_.flush();
}

SBERT_INLINE run_writer::~run_writer() {
  if (finished_ || !out_.is_open()) return;
  try {
    finish(1);
  } catch (...) {  // a destructor must not throw; the run stays without an exit record
  }
}

SBERT_INLINE void run_writer::write(record r) {
  r.num = ++num_;
  const auto bytes = framer_.frame(encode_record(r));
  out_.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out_) throw error("wandb: writing " + file_ + " failed");
}

SBERT_INLINE void run_writer::set_summary(const std::string& key, const json::value& v) {
  const auto j = json::dump(v);
  for (auto& [k, old] : summary_)
    if (k == key) { old = j; return; }
  summary_.emplace_back(key, j);
}

SBERT_INLINE void run_writer::log(const std::vector<std::pair<std::string, json::value>>& row) {
  if (finished_) throw error("wandb: log after the run finished");
  const double t = now();
  record h;
  h.kind = record_kind::history;
  for (const auto& [k, v] : row) h.items.push_back({k, json::dump(v)});
  h.items.push_back({"_step", std::to_string(step_)});
  h.items.push_back({"_runtime", json::python_float(t - start_)});
  h.items.push_back({"_timestamp", json::python_float(t)});
  h.step = step_++;
  for (const auto& it : h.items) {
    bool found = false;
    for (auto& [k, old] : summary_)
      if (k == it.key) { old = it.value_json; found = true; break; }
    if (!found) summary_.emplace_back(it.key, it.value_json);
  }
  write(std::move(h));
  out_.flush();
}

SBERT_INLINE void run_writer::write_summary_file() const {
  std::string s = "{";
  for (std::size_t i = 0; i < summary_.size(); ++i) {
    if (i) s += ", ";
    json::write_string(s, summary_[i].first);
    s += ": " + summary_[i].second;
  }
  std::ofstream f(std::filesystem::path(dir_) / "files" / "wandb-summary.json");
  f << s << "}\n";
  if (!f) throw error("wandb: cannot write wandb-summary.json in " + dir_);
}

SBERT_INLINE void run_writer::finish(int exit_code) {
  if (finished_) return;
  finished_ = true;
  record s;
  s.kind = record_kind::summary;
  for (const auto& [k, v] : summary_) s.items.push_back({k, v});
  write(std::move(s));
  record e;
  e.kind = record_kind::exit;
  e.exit_code = exit_code;
  e.runtime = static_cast<std::int32_t>(now() - start_);
  write(std::move(e));
  record fin;
  fin.kind = record_kind::final;  // the Python sync sends the exit record when it reads this one
  write(std::move(fin));
  out_.close();
  if (!out_) throw error("wandb: closing " + file_ + " failed");
  write_summary_file();
}
#endif  // SBERT_DEFINITIONS

/// training_args as the run's config, under transformers' TrainingArguments names (sbert-only
/// fields under their own names); prompts and the emissions options are left out.
#if SBERT_DEFINITIONS
[[nodiscard]] SBERT_INLINE json::value::object training_args_config(const training_args& a) {
  auto strategy = [](interval_strategy s) {
    return json::value(s == interval_strategy::no ? "no" : s == interval_strategy::steps ? "steps" : "epoch");
  };
  auto opt = [](const auto& o) { return o ? json::value(*o) : json::value(); };
  const char* sched[] = {"linear", "cosine", "constant", "constant_with_warmup", "polynomial"};
  const char* samplers[] = {"batch_sampler", "no_duplicates", "group_by_label"};
  const char* multi[] = {"proportional", "round_robin"};
  const char* levels[] = {"info", "warning", "error"};
  json::value::array report;
  for (const auto& r : a.report_to) report.emplace_back(r);
  return {
      {"output_dir", a.output_dir},
      {"eval_strategy", strategy(a.eval_strategy)},
      {"per_device_train_batch_size", a.per_device_train_batch_size},
      {"per_device_eval_batch_size", a.per_device_eval_batch_size},
      {"gradient_accumulation_steps", a.gradient_accumulation_steps},
      {"eval_steps", opt(a.eval_steps)},
      {"learning_rate", a.learning_rate},
      {"weight_decay", a.weight_decay},
      {"adam_beta1", a.adam_beta1},
      {"adam_beta2", a.adam_beta2},
      {"adam_epsilon", a.adam_epsilon},
      {"max_grad_norm", a.max_grad_norm},
      {"num_train_epochs", a.num_train_epochs},
      {"max_steps", a.max_steps},
      {"lr_scheduler_type", sched[static_cast<int>(a.lr_scheduler_type)]},
      {"warmup_ratio", a.warmup_ratio},
      {"warmup_steps", a.warmup_steps},
      {"log_level", levels[static_cast<int>(a.log_level)]},
      {"logging_dir", a.logging_dir},
      {"logging_strategy", strategy(a.logging_strategy)},
      {"logging_first_step", a.logging_first_step},
      {"logging_steps", a.logging_steps},
      {"save_strategy", strategy(a.save_strategy)},
      {"save_steps", a.save_steps},
      {"save_total_limit", opt(a.save_total_limit)},
      {"seed", static_cast<unsigned long long>(a.seed)},
      {"bf16", a.bf16},
      {"fp16", a.fp16},
      {"dataloader_drop_last", a.dataloader_drop_last},
      {"run_name", a.run_name},
      {"disable_tqdm", a.disable_progress_bar},
      {"load_best_model_at_end", a.load_best_model_at_end},
      {"metric_for_best_model", opt(a.metric_for_best_model)},
      {"greater_is_better", opt(a.greater_is_better)},
      {"group_by_length", a.group_by_length},
      {"report_to", json::value(std::move(report))},
      {"batch_sampler", samplers[static_cast<int>(a.batch_sampler)]},
      {"multi_dataset_batch_sampler", multi[static_cast<int>(a.multi_dataset_batch_sampler)]},
      {"pad_to_multiple_of", a.pad_to_multiple_of},
      {"cache_tokenization", a.cache_tokenization},
      {"on_non_finite", a.on_non_finite == non_finite_policy::stop ? "stop" : "skip_step"},
  };
}
#else
[[nodiscard]] json::value::object training_args_config(const training_args& a);
#endif

/// The run options from the environment and the args, as transformers' WandbCallback and
/// wandb.init resolve them.
[[nodiscard]] inline run_options options_for(const training_args& a) {
  auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return std::string(v ? v : "");
  };
  run_options o;
  o.root = env("WANDB_DIR");
  if (o.root.empty()) o.root = a.output_dir;
  o.project = env("WANDB_PROJECT");
  if (o.project.empty()) o.project = "huggingface";
  o.entity = env("WANDB_ENTITY");
  o.run_id = env("WANDB_RUN_ID");
  o.run_name = !a.run_name.empty() ? a.run_name : env("WANDB_NAME");
  o.config = training_args_config(a);
  return o;
}

/// transformers' WandbCallback.on_log: the keys it puts in the summary instead of the history.
[[nodiscard]] inline bool single_value_scalar(const std::string& k) {
  return k == "train_runtime" || k == "train_samples_per_second" || k == "train_steps_per_second" ||
         k == "train_loss" || k == "total_flos";
}

/// transformers' rewrite_logs: eval_x -> eval/x, test_x -> test/x, anything else -> train/x.
[[nodiscard]] inline std::string rewrite_key(const std::string& key) {
  if (key.starts_with("eval_")) return "eval/" + key.substr(5);
  if (key.starts_with("test_")) return "test/" + key.substr(5);
  return "train/" + key;
}

}  // namespace sbert::wandb

namespace sbert {

/// A callback writing the run as transformers' WandbCallback logs it, to an offline W&B run
/// folder that `wandb sync` uploads. Each log record becomes one history row: its keys rewritten
/// (`loss` -> `train/loss`, `eval_loss` -> `eval/loss`) plus `train/global_step`; the final
/// train_runtime, train_samples_per_second, train_steps_per_second and train_loss go to the
/// summary instead, as in Python. The run is created on the first log, and finished (summary,
/// exit code 0) at the end of training.
#if SBERT_DEFINITIONS
[[nodiscard]] SBERT_INLINE callback wandb_callback(wandb::run_options options) {
  struct state_t {
    wandb::run_options o;
    std::unique_ptr<wandb::run_writer> w;
  };
  auto st = std::make_shared<state_t>(state_t{std::move(options), nullptr});
  callback c;
  c.on_log = [st](train_state& s, const log_record& r) {
    if (!st->w) st->w = std::make_unique<wandb::run_writer>(st->o);
    std::vector<std::pair<std::string, json::value>> row;
    for (const auto& [k, v] : r) {
      if (k == "step") continue;  // the trainer's step is train/global_step below
      if (wandb::single_value_scalar(k)) st->w->set_summary(k, v);
      else row.emplace_back(wandb::rewrite_key(k), v);
    }
    row.emplace_back("train/global_step", static_cast<long long>(s.global_step));
    st->w->log(row);
  };
  c.on_train_end = [st](train_state&) {
    if (st->w) st->w->finish(0);
    st->w.reset();
  };
  return c;
}
#else
[[nodiscard]] callback wandb_callback(wandb::run_options options);
#endif

}  // namespace sbert
