// Arrow IPC stream -> typed dataset throughput on one core, in MB/s of file and rows/s. No
// Arrow writer exists here, so a tiny one below writes the bundled NLI triplets
// (shared/data/nli/nli_dev_triplets.tsv) repeated to >= 100 MB as an uncompressed stream of
// three Utf8 columns, one record batch per repeat (as save_to_disk writes them). The file is
// written to a temporary folder and read back from disk, so the figure includes the read.
// Goal: >= 500 MB/s.
#include <sbert/data/arrow.hpp>
#include <sbert/data/readers.hpp>

#include <malloc.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace {
struct anchor : sbert::text_column<"anchor"> {};
struct positive : sbert::text_column<"positive"> {};
struct negative : sbert::text_column<"negative"> {};
using triplets = sbert::schema<anchor, positive, negative>;

// A forward-only FlatBuffers writer: every table's vtable precedes it, and its sub-objects
// follow it, so all uoffsets point forward as the format requires.
struct fb {
  std::string b;
  std::size_t last = 0;   // where the last table starts
  std::size_t start = 0;  // where the last string or vector starts
  void pad(std::size_t a) { while (b.size() % a) b.push_back('\0'); }
  template <class T>
  void raw(T v) { b.append(reinterpret_cast<const char*>(&v), sizeof v); }
  template <class T>
  void at(std::size_t pos, T v) { std::memcpy(b.data() + pos, &v, sizeof v); }
  // Points the uoffset at `slot` to `target` (which lies after it).
  void link(std::size_t slot, std::size_t target) { at<std::uint32_t>(slot, static_cast<std::uint32_t>(target - slot)); }

  struct field {
    int id;
    int size;  // 1, 2, 4 or 8 bytes; 0 for an offset to fill in later
    std::uint64_t value;
  };
  // Writes a table; returns the position of each offset field's slot (0 for scalars).
  std::vector<std::size_t> table(const std::vector<field>& fs) {
    int slots = 0;
    for (auto& f : fs) slots = std::max(slots, f.id + 1);
    pad(4);
    const std::size_t vt = b.size();
    raw<std::uint16_t>(static_cast<std::uint16_t>(4 + 2 * slots));
    raw<std::uint16_t>(0);
    for (int i = 0; i < slots; ++i) raw<std::uint16_t>(0);
    pad(8);
    const std::size_t t = last = b.size();
    raw<std::int32_t>(static_cast<std::int32_t>(t - vt));
    std::vector<std::size_t> where;
    for (auto& f : fs) {
      const int n = f.size ? f.size : 4;
      pad(static_cast<std::size_t>(n));
      at<std::uint16_t>(vt + 4 + 2 * static_cast<std::size_t>(f.id), static_cast<std::uint16_t>(b.size() - t));
      where.push_back(f.size ? 0 : b.size());
      b.append(reinterpret_cast<const char*>(&f.value), static_cast<std::size_t>(n));
    }
    at<std::uint16_t>(vt + 2, static_cast<std::uint16_t>(b.size() - t));
    return where;
  }
  std::vector<std::size_t> offset_vector(std::size_t n) {
    pad(4);
    start = b.size();
    raw<std::uint32_t>(static_cast<std::uint32_t>(n));
    std::vector<std::size_t> slots;
    for (std::size_t i = 0; i < n; ++i) {
      slots.push_back(b.size());
      raw<std::uint32_t>(0);
    }
    return slots;
  }
  void struct_vector(const std::vector<std::int64_t>& pairs) {  // 16-byte structs of two int64
    while ((b.size() + 4) % 8) b.push_back('\0');
    start = b.size();
    raw<std::uint32_t>(static_cast<std::uint32_t>(pairs.size() / 2));
    for (auto v : pairs) raw(v);
  }
  void string(std::string_view s) {
    pad(4);
    start = b.size();
    raw<std::uint32_t>(static_cast<std::uint32_t>(s.size()));
    b.append(s);
    b.push_back('\0');
  }
};

constexpr int metadata_v5 = 4;

// One message: continuation marker, metadata length (padded so the body starts 8-aligned), body.
void frame(std::string& out, std::string meta, std::string_view body) {
  while ((meta.size() + 8) % 8) meta.push_back('\0');
  const std::uint32_t marker = 0xFFFFFFFFu, len = static_cast<std::uint32_t>(meta.size());
  out.append(reinterpret_cast<const char*>(&marker), 4);
  out.append(reinterpret_cast<const char*>(&len), 4);
  out += meta;
  out.append(body);
}

std::string schema_message(const std::vector<std::string>& names) {
  fb f;
  f.raw<std::uint32_t>(0);  // the root offset
  auto m = f.table({{0, 2, metadata_v5}, {1, 1, 1 /* Schema */}, {2, 0, 0}, {3, 8, 0}});
  f.link(0, f.last);
  auto s = f.table({{0, 2, 0}, {1, 0, 0}});
  f.link(m[2], f.last);
  auto slots = f.offset_vector(names.size());
  f.link(s[1], f.start);
  for (std::size_t i = 0; i < names.size(); ++i) {
    auto fld = f.table({{0, 0, 0}, {1, 1, 0}, {2, 1, 5 /* Utf8 */}, {3, 0, 0}});
    f.link(slots[i], f.last);
    f.string(names[i]);
    f.link(fld[0], f.start);
    f.table({});
    f.link(fld[3], f.last);
  }
  return f.b;
}

std::string batch_message(std::size_t rows, const std::vector<std::int64_t>& nodes, const std::vector<std::int64_t>& buffers,
                          std::size_t body) {
  fb f;
  f.raw<std::uint32_t>(0);
  auto m = f.table({{0, 2, metadata_v5}, {1, 1, 3 /* RecordBatch */}, {2, 0, 0}, {3, 8, body}});
  f.link(0, f.last);
  auto r = f.table({{0, 8, rows}, {1, 0, 0}, {2, 0, 0}});
  f.link(m[2], f.last);
  f.struct_vector(nodes);
  f.link(r[1], f.start);
  f.struct_vector(buffers);
  f.link(r[2], f.start);
  return f.b;
}

std::string write_stream(const sbert::dataset<triplets>& d, std::size_t min_bytes) {
  std::string out;
  frame(out, schema_message({"anchor", "positive", "negative"}), {});
  // One batch of the whole data set, repeated.
  std::string body;
  std::vector<std::int64_t> nodes, buffers;
  auto put = [&](const std::vector<std::string>& col) {
    nodes.insert(nodes.end(), {static_cast<std::int64_t>(col.size()), 0});
    buffers.insert(buffers.end(), {static_cast<std::int64_t>(body.size()), 0});  // no validity bitmap
    std::vector<std::int32_t> offs{0};
    std::string data;
    for (auto& s : col) {
      data += s;
      offs.push_back(static_cast<std::int32_t>(data.size()));
    }
    buffers.insert(buffers.end(), {static_cast<std::int64_t>(body.size()), static_cast<std::int64_t>(offs.size() * 4)});
    body.append(reinterpret_cast<const char*>(offs.data()), offs.size() * 4);
    while (body.size() % 8) body.push_back('\0');
    buffers.insert(buffers.end(), {static_cast<std::int64_t>(body.size()), static_cast<std::int64_t>(data.size())});
    body += data;
    while (body.size() % 8) body.push_back('\0');
  };
  put(d.column<anchor>());
  put(d.column<positive>());
  put(d.column<negative>());
  const std::string meta = batch_message(d.size(), nodes, buffers, body.size());
  while (out.size() < min_bytes) frame(out, meta, body);
  const std::uint32_t eos[2] = {0xFFFFFFFFu, 0};
  out.append(reinterpret_cast<const char*>(eos), 8);
  return out;
}
}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : SBERT_SHARED_DIR;
  sbert::read_options o;
  o.extra_fields = sbert::extra_fields::ignore;
  const auto base = sbert::read_tsv<triplets>(dir + "/data/nli/nli_dev_triplets.tsv", o);
  const std::string bytes = write_stream(base, 100u << 20);
  const auto path = (std::filesystem::temp_directory_path() / "sbert_arrow_throughput.arrow").string();
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  std::size_t rows = 0;
  auto time_reads = [&] {
    double best = 0;
    for (int rep = 0; rep < 3; ++rep) {
      const auto t0 = std::chrono::steady_clock::now();
      auto d = sbert::read_arrow<triplets>(path);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      rows = d.size();
      if (d[rows - 1].get<negative>() != base[base.size() - 1].get<negative>()) {
        std::cerr << "arrow_throughput: the rows read back differ from the rows written\n";
        std::exit(1);
      }
      best = std::max(best, static_cast<double>(bytes.size()) / 1e6 / s);
    }
    return best;
  };
  // Cold: the output's ~100 MB of strings land on fresh pages (first-touch page faults), as in a
  // one-off read. Warm: malloc keeps freed memory, so the figure is the reader's own work.
  const double cold = time_reads();
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 512 << 20);
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  const double warm = time_reads();
  std::filesystem::remove(path);
  const double mb = static_cast<double>(bytes.size()) / 1e6;
  std::cout << "arrow_throughput: " << rows << " rows, " << static_cast<int>(mb) << " MB, best of 3: cold heap " << cold
            << " MB/s (" << static_cast<double>(rows) * cold / mb << " rows/s), warm heap " << warm << " MB/s ("
            << static_cast<double>(rows) * warm / mb << " rows/s) (goal >= 500 MB/s)\n";
}
