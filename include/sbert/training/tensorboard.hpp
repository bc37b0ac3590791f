// SPDX-License-Identifier: Apache-2.0
// TensorBoard event files without TensorFlow or protobuf: the tfevents record framing
// (length, masked CRC32C, payload, masked CRC32C) around hand-encoded `Event` protobufs, so
// `tensorboard --logdir` reads what the trainer logs. Torch-free.
#pragma once
#include <sbert/detail/compiled.hpp>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <unistd.h>

#include <sbert/error.hpp>
#include <sbert/io/crc.hpp>
#include <sbert/io/protobuf.hpp>
#include <sbert/training/callbacks.hpp>

namespace sbert::tensorboard {

/// CRC32C (Castagnoli), as TensorFlow's record writer computes it.
[[nodiscard]] inline std::uint32_t crc32c(std::string_view data) { return crc::update(crc::castagnoli_table, data); }

/// The masking TFRecord applies, so a CRC of data holding CRCs is not degenerate.
[[nodiscard]] inline std::uint32_t masked_crc32c(std::string_view data) {
  const std::uint32_t c = crc32c(data);
  return ((c >> 15) | (c << 17)) + 0xA282EAD8u;
}

namespace proto = sbert::protobuf;  // the wire-format helpers (sbert/io/protobuf.hpp)

/// One Event message (the fields sbert writes and reads).
struct event {
  double wall_time = 0;
  std::int64_t step = 0;
  std::string file_version;                           // set on the first event only
  std::vector<std::pair<std::string, float>> values;  // Summary.value: (tag, simple_value)
};

/// Event {wall_time = 1 (double), step = 2 (int64), file_version = 3 | summary = 5}.
/// Summary {repeated Value value = 1}; Value {tag = 1 (string), simple_value = 2 (float)}.
#if SBERT_DEFINITIONS
[[nodiscard]] SBERT_INLINE std::string encode_event(const event& e) {
  std::string out;
  proto::tag(out, 1, 1);
  std::uint64_t wt;
  std::memcpy(&wt, &e.wall_time, 8);
  proto::fixed64(out, wt);
  if (e.step != 0) {  // proto3 leaves zero scalars out
    proto::tag(out, 2, 0);
    proto::varint(out, static_cast<std::uint64_t>(e.step));  // negative int64: 10-byte two's complement
  }
  if (!e.file_version.empty()) proto::bytes(out, 3, e.file_version);
  if (!e.values.empty()) {
    std::string summary;
    for (const auto& [t, v] : e.values) {
      std::string value;
      proto::bytes(value, 1, t);
      proto::tag(value, 2, 5);
      std::uint32_t f;
      std::memcpy(&f, &v, 4);
      proto::fixed32(value, f);
      proto::bytes(summary, 1, value);
    }
    proto::bytes(out, 5, summary);
  }
  return out;
}
#else
[[nodiscard]] std::string encode_event(const event& e);
#endif

/// A TFRecord: uint64 length, masked CRC32C of the length bytes, data, masked CRC32C of the data
/// (all little-endian).
[[nodiscard]] inline std::string frame_record(std::string_view data) {
  std::string out, len;
  proto::fixed64(len, data.size());
  out += len;
  proto::fixed32(out, masked_crc32c(len));
  out.append(data);
  proto::fixed32(out, masked_crc32c(data));
  return out;
}


/// Decodes an Event payload; unknown fields are skipped as protobuf readers do.
#if SBERT_DEFINITIONS
[[nodiscard]] SBERT_INLINE event decode_event(std::string_view data, const std::string& file = "") {
  event e;
  protobuf::reader r{data, 0, file, "Event"};
  while (r.i < data.size()) {
    const auto key = r.varint();
    const auto field = static_cast<unsigned>(key >> 3), wire = static_cast<unsigned>(key & 7);
    if (field == 1 && wire == 1) {
      const auto bits = r.fixed(8);
      std::memcpy(&e.wall_time, &bits, 8);
    } else if (field == 2 && wire == 0) {
      e.step = static_cast<std::int64_t>(r.varint());
    } else if (field == 3 && wire == 2) {
      e.file_version = std::string(r.bytes());
    } else if (field == 5 && wire == 2) {
      const auto summary = r.bytes();
      protobuf::reader sr{summary, 0, file, "Event"};
      while (sr.i < summary.size()) {
        const auto sk = sr.varint();
        if ((sk >> 3) != 1 || (sk & 7) != 2) { sr.skip(static_cast<unsigned>(sk & 7)); continue; }
        const auto value = sr.bytes();
        protobuf::reader vr{value, 0, file, "Event"};
        std::string t;
        std::optional<float> v;
        while (vr.i < value.size()) {
          const auto vk = vr.varint();
          if (vk == ((1u << 3) | 2u)) t = std::string(vr.bytes());
          else if (vk == ((2u << 3) | 5u)) {
            const auto bits = static_cast<std::uint32_t>(vr.fixed(4));
            float f;
            std::memcpy(&f, &bits, 4);
            v = f;
          } else vr.skip(static_cast<unsigned>(vk & 7));
        }
        if (v) e.values.emplace_back(std::move(t), *v);  // non-scalar values (images, text) are not ours to read
      }
    } else {
      r.skip(wire);
    }
  }
  return e;
}
#else
[[nodiscard]] event decode_event(std::string_view data, const std::string& file = "");
#endif

/// Reads every record of an event file, checking both CRCs of each; a corrupt or truncated
/// record is an input_error naming the file and the byte offset.
#if SBERT_DEFINITIONS
[[nodiscard]] SBERT_INLINE std::vector<event> read_event_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw input_error(path, 0, "", "cannot open the event file");
  const std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<event> out;
  std::size_t i = 0;
  auto u = [&](std::size_t at, int n) {
    std::uint64_t v = 0;
    for (int k = 0; k < n; ++k) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(s[at + k])) << (8 * k);
    return v;
  };
  while (i < s.size()) {
    auto fail = [&](const std::string& w) { throw input_error(path, 0, "", "record at byte " + std::to_string(i) + ": " + w); };
    if (s.size() - i < 12) fail("truncated record header");
    const std::uint64_t len = u(i, 8);
    if (static_cast<std::uint32_t>(u(i + 8, 4)) != masked_crc32c(std::string_view(s).substr(i, 8))) fail("length CRC mismatch");
    if (len > s.size() - i - 12 || s.size() - i - 12 - len < 4) fail("truncated record data");
    const auto data = std::string_view(s).substr(i + 12, len);
    if (static_cast<std::uint32_t>(u(i + 12 + len, 4)) != masked_crc32c(data)) fail("data CRC mismatch");
    out.push_back(decode_event(data, path));
    i += 12 + len + 4;
  }
  return out;
}
#else
[[nodiscard]] std::vector<event> read_event_file(const std::string& path);
#endif

/// Appends events to `{dir}/events.out.tfevents.{unix seconds}.{hostname}`, as TensorFlow's and
/// PyTorch's SummaryWriter name them; the first record carries file_version "brain.Event:2".
class event_writer {
 public:
  explicit event_writer(const std::string& dir);

  [[nodiscard]] const std::string& path() const { return path_; }

  void write(const event& e) {
    const auto rec = frame_record(encode_event(e));
    out_.write(rec.data(), static_cast<std::streamsize>(rec.size()));
    if (!out_) throw error("tensorboard: writing " + path_ + " failed");
  }
  /// One event holding one scalar, as SummaryWriter.add_scalar writes it.
  void add_scalar(const std::string& tag, double value, std::int64_t step, std::optional<double> wall_time = {}) {
    write({.wall_time = wall_time.value_or(now()), .step = step, .file_version = {},
           .values = {{tag, static_cast<float>(value)}}});
  }
  void flush() { out_.flush(); }

  static double now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  }

 private:
  std::string path_;
  std::ofstream out_;
};

/// transformers' default logging_dir: `{output_dir}/runs/{%b%d_%H-%M-%S}_{hostname}` (local time).
[[nodiscard]] inline std::string default_log_dir(const std::string& output_dir) {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || !host[0]) std::strcpy(host, "localhost");
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char stamp[64];
  std::strftime(stamp, sizeof stamp, "%b%d_%H-%M-%S", &tm);
  return (std::filesystem::path(output_dir) / "runs" / (std::string(stamp) + "_" + host)).string();
}

/// transformers' rewrite_logs: eval_x -> eval/x, test_x -> test/x, anything else -> train/x.
[[nodiscard]] inline std::string tag_for(const std::string& key) {
  if (key.starts_with("eval_")) return "eval/" + key.substr(5);
  if (key.starts_with("test_")) return "test/" + key.substr(5);
  return "train/" + key;
}

#if SBERT_DEFINITIONS

SBERT_INLINE event_writer::event_writer(const std::string& dir) {
  std::filesystem::create_directories(dir);
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || !host[0]) std::strcpy(host, "localhost");
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  path_ = (std::filesystem::path(dir) / ("events.out.tfevents." + std::to_string(secs) + "." + host)).string();
  // A second writer in the same second and folder must not overwrite the first file.
  for (int n = 1; std::filesystem::exists(path_); ++n)
    path_ = (std::filesystem::path(dir) / ("events.out.tfevents." + std::to_string(secs) + "." + host + "." + std::to_string(n))).string();
  out_.open(path_, std::ios::binary);
  if (!out_) throw error("tensorboard: cannot create " + path_);
  write({.wall_time = now(), .step = 0, .file_version = "brain.Event:2", .values = {}});
  flush();
}
#endif  // SBERT_DEFINITIONS

}  // namespace sbert::tensorboard

namespace sbert {

/// A callback writing every logged scalar to a TensorBoard event file under `log_dir` at the
/// trainer's global step (transformers' TensorBoardCallback). The "step" key the trainer adds to
/// each record is the x axis, not a scalar of its own. The file is opened on the first log, so
/// a callback built but never used leaves no empty run behind.
#if SBERT_DEFINITIONS
[[nodiscard]] SBERT_INLINE callback tensorboard_callback(std::string log_dir) {
  struct state_t {
    std::string dir;
    std::unique_ptr<tensorboard::event_writer> w;
  };
  auto st = std::make_shared<state_t>(state_t{std::move(log_dir), nullptr});
  callback c;
  c.on_log = [st](train_state& s, const log_record& r) {
    if (!st->w) st->w = std::make_unique<tensorboard::event_writer>(st->dir);
    const double wt = tensorboard::event_writer::now();
    for (const auto& [k, v] : r)
      if (k != "step") st->w->add_scalar(tensorboard::tag_for(k), v, s.global_step, wt);
    st->w->flush();
  };
  c.on_train_end = [st](train_state&) {
    if (st->w) st->w->flush();
    st->w.reset();
  };
  return c;
}
#else
[[nodiscard]] callback tensorboard_callback(std::string log_dir);
#endif

}  // namespace sbert
