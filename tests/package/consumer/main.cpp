// A user's program: read STSb dev into a typed schema and print a summary.
#include <sbert/data.hpp>
#ifdef SBERT_CONSUMER_TORCH
#include <ATen/core/Tensor.h>
#endif
#include <iostream>

struct sentence1 : sbert::text_column<"sentence1"> {};
struct sentence2 : sbert::text_column<"sentence2"> {};
struct score : sbert::score_column<"score"> {};

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  sbert::read_options o;
  o.header = false;
  o.positions = {{"score", 4}, {"sentence1", 5}, {"sentence2", 6}};
  o.extra_fields = sbert::extra_fields::ignore;
  auto d = sbert::read_tsv<sbert::schema<sentence1, sentence2, score>>(argv[1], o);
  std::cout << "rows=" << d.size() << '\n';
  // the Parquet reader's codecs (Snappy, Zstd, zlib) link through the same target
  try {
    (void)sbert::parse_parquet<sbert::schema<sentence1>>("not parquet");
  } catch (const sbert::input_error&) {
    std::cout << "parquet=linked\n";
  }
#ifdef SBERT_CONSUMER_TORCH
  at::Tensor t;  // the libtorch include path and link come through sbert::sbert
  std::cout << "torch=" << t.defined() << '\n';
#endif
  return d.size() == 1500 ? 0 : 1;
}
