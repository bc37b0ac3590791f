// Any bytes given to the Arrow IPC reader give rows or an sbert::input_error, never a crash,
// over-read or undefined behaviour; lenient mode keeps the columns consistent.
#include <sbert/data/arrow.hpp>

#include <cstdint>
#include <cstdlib>

namespace {
// Names of the seed files' fields (arrow-testing's dictionary, nested and large-offset cases;
// sbert_lz4_frame.stream and sbert_zstd.stream: compressed bodies written by sbert::write_arrow).
struct d0 : sbert::text_column<"dict0"> {};
struct d2 : sbert::class_column<"dict2"> {};
struct lv : sbert::vector_column<"list_nullable"> {};
struct fv : sbert::vector_column<"fixedsizelist_nullable"> {};
struct lu : sbert::text_column<"largeutf8_nonnullable"> {};
struct ls : sbert::score_column<"largeutf8_nullable"> {};
struct u : sbert::text_column<"utf8_nonnullable"> {};
struct i : sbert::class_column<"int32_nonnullable"> {};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  sbert::read_options lenient;
  lenient.lenient = true;
  sbert::read_report report;
  lenient.report = &report;
  try {
    auto d = sbert::parse_arrow<sbert::schema<d0, d2>>(in, lenient);
    if (d.column<d0>().size() != d.column<d2>().size()) std::abort();
  } catch (const sbert::input_error&) {}
  try { (void)sbert::parse_arrow<sbert::schema<lv>>(in, lenient); } catch (const sbert::input_error&) {}
  try { (void)sbert::parse_arrow<sbert::schema<fv>>(in); } catch (const sbert::input_error&) {}
  try { (void)sbert::parse_arrow<sbert::schema<lu>>(in, lenient); } catch (const sbert::input_error&) {}
  try { (void)sbert::parse_arrow<sbert::schema<ls>>(in); } catch (const sbert::input_error&) {}
  try { (void)sbert::parse_arrow<sbert::schema<u, i>>(in, lenient); } catch (const sbert::input_error&) {}
  return 0;
}
