// read_arrow throughput on one core, in MB/s of file and rows/s: the bundled NLI triplets
// (shared/data/nli/nli_dev_triplets.tsv) repeated to >= 100 MB and written with
// sbert::write_arrow as an uncompressed IPC stream of three Utf8 columns in record batches of
// 1000 rows (as save_to_disk writes them), in a temporary folder; then read back from disk.
// Goal: >= 500 MB/s.
#include <sbert/data/arrow.hpp>
#include <sbert/data/arrow_writer.hpp>
#include <sbert/data/readers.hpp>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "read_bench.hpp"

namespace {
struct anchor : sbert::text_column<"anchor"> {};
struct positive : sbert::text_column<"positive"> {};
struct negative : sbert::text_column<"negative"> {};
using triplets = sbert::schema<anchor, positive, negative>;
}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : SBERT_SHARED_DIR;
  sbert::read_options o;
  o.extra_fields = sbert::extra_fields::ignore;
  const auto base = sbert::read_tsv<triplets>(dir + "/data/nli/nli_dev_triplets.tsv", o);
  const auto path = (std::filesystem::temp_directory_path() / "sbert_arrow_throughput.arrow").string();
  const std::size_t rows = bench::write_repeated(base, path, 100u << 20, [](const auto& d, const std::string& p) { sbert::write_arrow(d, p); });
  const auto bytes = std::filesystem::file_size(path);
  std::size_t got = 0;
  const auto f = bench::time_reads([&] {
    auto d = std::make_shared<sbert::dataset<triplets>>(sbert::read_arrow<triplets>(path));
    got = d->size();
    if (got != rows || (*d)[got - 1].get<negative>() != base[base.size() - 1].get<negative>()) {
      std::cerr << "arrow_throughput: the rows read back differ from the rows written\n";
      std::exit(1);
    }
    return std::shared_ptr<void>(std::move(d));
  });
  std::filesystem::remove(path);
  bench::report("arrow_throughput", "uncompressed IPC stream, 3 Utf8 columns (NLI triplets)", bytes, rows, f, ">= 500 MB/s");
  bench::rerun_with_thp_heap(argv);
}
