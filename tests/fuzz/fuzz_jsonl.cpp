// Any bytes given to the JSONL and JSON-array readers give rows or an sbert::input_error,
// never a crash, leak or undefined behaviour; lenient mode keeps the columns consistent.
#include <sbert/data/readers.hpp>

#include <cstdint>
#include <cstdlib>

namespace {
struct a : sbert::text_column<"a"> {};
struct n : sbert::text_list_column<"n"> {};
struct s : sbert::score_column<"s"> {};
struct c : sbert::class_column<"c"> {};
struct v : sbert::vector_column<"v"> {};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  sbert::read_options strict;
  strict.class_names = {"x", "y"};
  sbert::read_options lenient = strict;
  lenient.lenient = true;
  sbert::read_report report;
  lenient.report = &report;
  try { (void)sbert::parse_jsonl<sbert::schema<a, s, n>>(in, strict); } catch (const sbert::input_error&) {}
  try { (void)sbert::parse_json<sbert::schema<a, n, v>>(in, strict); } catch (const sbert::input_error&) {}
  try {
    auto d = sbert::parse_jsonl<sbert::schema<a, c>>(in, lenient);
    if (d.column<a>().size() != d.column<c>().size()) std::abort();
  } catch (const sbert::input_error&) {}
  return 0;
}
