// read_parquet throughput on one core, in MB/s of file and rows/s: the bundled NLI triplets
// (three string columns) and STSb pairs (two strings and a FLOAT score) repeated to >= 100 MB
// files written with sbert::write_parquet in a temporary folder (row groups of 64Ki rows,
// 1 MiB pages, PLAIN), Snappy-compressed and uncompressed; then read back from disk.
// Goal: >= 200 MB/s of Snappy file.
#include <sbert/data/parquet.hpp>
#include <sbert/data/parquet_writer.hpp>
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
struct sentence1 : sbert::text_column<"sentence1"> {};
struct sentence2 : sbert::text_column<"sentence2"> {};
struct score : sbert::score_column<"score"> {};
using pairs = sbert::schema<sentence1, sentence2, score>;

template <class S>
void run(const sbert::dataset<S>& base, sbert::parquet_codec codec, const std::string& what) {
  const auto path = (std::filesystem::temp_directory_path() / "sbert_parquet_throughput.parquet").string();
  sbert::parquet_write_options w;
  w.codec = codec;
  w.row_group_rows = 1u << 16;
  const std::size_t rows = bench::write_repeated(base, path, 100u << 20, [&](const auto& d, const std::string& p) { sbert::write_parquet(d, p, w); });
  const auto bytes = std::filesystem::file_size(path);
  const auto f = bench::time_reads([&] {
    auto d = std::make_shared<sbert::dataset<S>>(sbert::read_parquet<S>(path));
    if (d->size() != rows || std::get<0>(d->columns()).back() != std::get<0>(base.columns()).back()) {
      std::cerr << "parquet_throughput: the rows read back differ from the rows written\n";
      std::exit(1);
    }
    return std::shared_ptr<void>(std::move(d));
  });
  std::filesystem::remove(path);
  bench::report("parquet_throughput", what, bytes, rows, f, codec == sbert::parquet_codec::snappy ? ">= 200 MB/s" : "none");
}
}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : SBERT_SHARED_DIR;
  sbert::read_options o;
  o.extra_fields = sbert::extra_fields::ignore;
  const auto nli = sbert::read_tsv<triplets>(dir + "/data/nli/nli_dev_triplets.tsv", o);
  sbert::read_options sts;
  sts.header = false;
  sts.positions = {{"score", 4}, {"sentence1", 5}, {"sentence2", 6}};
  sts.extra_fields = sbert::extra_fields::ignore;
  const auto stsb = sbert::read_tsv<pairs>(dir + "/data/stsbenchmark/sts-train.csv", sts);
  // a second argument picks one case: nli-snappy, nli-plain or stsb-snappy
  const std::string only = argc > 2 ? argv[2] : "";
  if (only.empty() || only == "nli-snappy") run(nli, sbert::parquet_codec::snappy, "Snappy, 3 string columns (NLI triplets)");
  if (only.empty() || only == "nli-plain") run(nli, sbert::parquet_codec::uncompressed, "uncompressed, 3 string columns (NLI triplets)");
  if (only.empty() || only == "stsb-snappy") run(stsb, sbert::parquet_codec::snappy, "Snappy, 2 strings + FLOAT (STSb train)");
  bench::rerun_with_thp_heap(argv);
}
