// Any bytes given to the Parquet reader give rows or an sbert::input_error, never a crash,
// leak, over-read or undefined behaviour; lenient mode keeps the columns consistent.
#include <sbert/data/parquet.hpp>

#include <cstdint>
#include <cstdlib>

namespace {
// field names of the seed files: alltypes_plain (id, string_col, double_col), datapage_v2 (a, c, d, e),
// repeated_primitive_no_list (Int32_list, String_list), list_columns (utf8_list), the three LZ4
// files (c0, c1, v11)
struct id : sbert::class_column<"id"> {};
struct s : sbert::text_column<"string_col"> {};
struct a : sbert::text_column<"a"> {};
struct e : sbert::vector_column<"e"> {};
struct dbl : sbert::score_column<"double_col"> {};
struct il : sbert::vector_column<"Int32_list"> {};
struct sl : sbert::text_list_column<"String_list"> {};
struct ul : sbert::text_list_column<"utf8_list"> {};
struct d : sbert::class_column<"d"> {};
struct c0 : sbert::class_column<"c0"> {};
struct c1 : sbert::text_column<"c1"> {};
struct v11 : sbert::score_column<"v11"> {};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  sbert::read_options lenient;
  lenient.lenient = true;
  sbert::read_report report;
  lenient.report = &report;
  try { (void)sbert::parse_parquet<sbert::schema<s, id>>(in); } catch (const sbert::input_error&) {}
  try { (void)sbert::parse_parquet<sbert::schema<s, dbl>>(in); } catch (const sbert::input_error&) {}
  try { (void)sbert::parse_parquet<sbert::schema<a, e>>(in, lenient); } catch (const sbert::input_error&) {}
  try { (void)sbert::parse_parquet<sbert::schema<a, d>>(in); } catch (const sbert::input_error&) {}
  try { (void)sbert::parse_parquet<sbert::schema<sl, il>>(in); } catch (const sbert::input_error&) {}
  try { (void)sbert::parse_parquet<sbert::schema<c1, c0>>(in, lenient); } catch (const sbert::input_error&) {}
  try { (void)sbert::parse_parquet<sbert::schema<c1, v11>>(in); } catch (const sbert::input_error&) {}
  try {
    auto r = sbert::parse_parquet<sbert::schema<ul, id>>(in, lenient);
    if (r.column<ul>().size() != r.column<id>().size()) std::abort();
  } catch (const sbert::input_error&) {}
  return 0;
}
