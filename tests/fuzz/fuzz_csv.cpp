// Any bytes given to the CSV and TSV readers give rows or an sbert::input_error, never a crash.
#include <sbert/data/readers.hpp>

#include <cstdint>
#include <cstdlib>

namespace {
struct a : sbert::text_column<"a"> {};
struct b : sbert::text_column<"b"> {};
struct s : sbert::score_column<"s"> {};
struct c : sbert::class_column<"c"> {};
struct r : sbert::text_list_column<"r"> {};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  sbert::read_options header;
  sbert::read_options positional;
  positional.header = false;
  positional.extra_fields = sbert::extra_fields::ignore;
  positional.lenient = true;
  sbert::read_report report;
  positional.report = &report;
  try { (void)sbert::parse_csv<sbert::schema<a, b, s>>(in, header); } catch (const sbert::input_error&) {}
  try { (void)sbert::parse_tsv<sbert::schema<a, b, s>>(in, header); } catch (const sbert::input_error&) {}
  try {
    auto d = sbert::parse_csv<sbert::schema<a, c, r>>(in, positional);
    if (d.column<a>().size() != d.column<r>().size()) std::abort();
  } catch (const sbert::input_error&) {}
  try { (void)sbert::parse_tsv<sbert::schema<s, a>>(in, positional); } catch (const sbert::input_error&) {}
  return 0;
}
