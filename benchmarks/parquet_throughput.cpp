// read_parquet throughput on one core: MB/s of file read and rows/s. There is no Parquet writer
// here, and Apache's real test files are small (tens of KB), so each case is a folder of hard
// links to one real file, repeated until the folder holds >= 100 MB. That measures the reader
// as it meets Hub-style shards *plus* a per-file cost (open, footer, schema) that a few large
// shards would not pay; the output says so. Files are read from /tmp (page cache warm after
// the first of 3 runs; the best run is reported).
#include <sbert/data/parquet.hpp>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <string>

namespace {
namespace fs = std::filesystem;
struct a_label : sbert::class_column<"a"> {};
struct b_score : sbert::score_column<"b"> {};
struct text_field : sbert::text_column<"binary_field"> {};
struct long_label : sbert::class_column<"long_field"> {};

// A folder of `copies` hard links (copies where links fail) to `file`.
std::string make_shards(const std::string& file, std::size_t target_bytes, std::size_t& copies) {
  const auto dir = fs::temp_directory_path() / ("sbert_parquet_bench_" + fs::path(file).stem().string());
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto size = fs::file_size(file);
  copies = (target_bytes + size - 1) / size;
  for (std::size_t i = 0; i < copies; ++i) {
    const auto p = dir / ("part-" + std::to_string(100000 + i) + ".parquet");
    std::error_code ec;
    fs::create_hard_link(file, p, ec);
    if (ec) fs::copy_file(file, p);
  }
  return dir.string();
}

template <class S>
void run(const std::string& label, const std::string& file, std::size_t target_bytes, const std::string& what) {
  std::size_t copies = 0;
  const auto dir = make_shards(file, target_bytes, copies);
  const double mb = static_cast<double>(fs::file_size(file) * copies) / 1e6;
  double best = 1e30;
  std::size_t rows = 0;
  for (int rep = 0; rep < 3; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    auto d = sbert::read_parquet<S>(dir);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    rows = d.size();
  }
  std::cout << "parquet_throughput: " << label << ": " << copies << " x " << fs::path(file).filename().string() << " = "
            << mb << " MB, " << rows << " rows (" << what << "): " << mb / best << " MB/s of file, "
            << static_cast<double>(rows) / best / 1e6 << " M rows/s\n";
  fs::remove_all(dir);
}
}  // namespace

int main(int argc, char** argv) {
  const std::string dir = std::string(argc > 1 ? argv[1] : SBERT_SHARED_DIR) + "/data/formats/parquet-testing/data/";
  std::cout << "parquet_throughput: one core; each case is a folder of identical small real files, so the figure includes "
               "opening and parsing the footer of every file (goal >= 200 MB/s Snappy on large files)\n";
  run<sbert::schema<a_label>>("Snappy v1 INT32", dir + "datapage_v1-snappy-compressed-checksum.parquet", 100u << 20,
                              "column a decoded, column b skipped");
  run<sbert::schema<a_label>>("uncompressed v1 INT32", dir + "datapage_v1-uncompressed-checksum.parquet", 100u << 20,
                              "column a decoded, column b skipped");
  run<sbert::schema<b_score>>("uncompressed v1 INT32 as float", dir + "datapage_v1-uncompressed-checksum.parquet", 100u << 20,
                              "column b decoded, column a skipped");
  run<sbert::schema<text_field, long_label>>("Snappy v2 dictionary strings+INT32", dir + "rle-dict-snappy-checksum.parquet",
                                             20u << 20, "both columns; 20 MB of 822-byte files, so mostly per-file cost");
}
