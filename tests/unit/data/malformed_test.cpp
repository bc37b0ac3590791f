// Bad input never crashes and never silently drops data: each gets an error naming the file,
// line and field; lenient mode skips such rows and reports them.
#include "catch.hpp"

#include <sbert/data/readers.hpp>

#include <filesystem>

namespace {
struct s1 : sbert::text_column<"sentence1"> {};
struct s2 : sbert::text_column<"sentence2"> {};
struct sc : sbert::score_column<"score"> {};
struct label : sbert::class_column<"label"> {};
using sts = sbert::schema<s1, s2, sc>;
using cls = sbert::schema<s1, label>;
using Catch::Contains;
}  // namespace

TEST_CASE("jsonl: malformed lines, missing fields, wrong types") {
  CHECK_THROWS_WITH(sbert::parse_jsonl<sts>("{\"sentence1\":\"a\",\"sentence2\":\"b\",\"score\":1}\n{\"sentence1\": \"a\",,}\n"),
                    Contains("<memory>:2:") && Contains("malformed JSON"));
  CHECK_THROWS_WITH(sbert::parse_jsonl<sts>("{\"sentence1\":\"a\",\"score\":1}"),
                    Contains("<memory>:1: field 'sentence2': missing field"));
  CHECK_THROWS_WITH(sbert::parse_jsonl<sts>("{\"sentence1\":\"a\",\"sentence2\":\"b\",\"score\":\"high\"}"),
                    Contains("field 'score': a score must be a number, got a string"));
  CHECK_THROWS_WITH(sbert::parse_jsonl<sts>("{\"sentence1\":3,\"sentence2\":\"b\",\"score\":1}"),
                    Contains("field 'sentence1': expected a string, got a number"));
  CHECK_THROWS_WITH(sbert::parse_jsonl<cls>("{\"sentence1\":\"a\",\"label\":1.5}"),
                    Contains("field 'label': a class label must be an integer"));
  CHECK_THROWS_WITH(sbert::parse_jsonl<cls>("{\"sentence1\":\"a\",\"label\":\"maybe\"}"),
                    Contains("field 'label'") && Contains("class_names"));
  CHECK_THROWS_WITH(sbert::parse_jsonl<sts>("[\"a\",\"b\"]"), Contains("<memory>:1: field '#2'"));
  CHECK_THROWS_WITH(sbert::parse_jsonl<sts>("\"just a string\""), Contains("a row must be a JSON object"));
  CHECK_THROWS_WITH(sbert::parse_jsonl<sts>("{\"sentence1\":\"a\",\"sentence2\":\"b\",\"score\":1} trailing"),
                    Contains("malformed JSON"));
  // invalid UTF-8 inside a string
  CHECK_THROWS_WITH(sbert::parse_jsonl<sts>("{\"sentence1\":\"a\xff\",\"sentence2\":\"b\",\"score\":1}"),
                    Contains("<memory>:1") && Contains("UTF-8"));
}

TEST_CASE("empty files are an error, for every format") {
  CHECK_THROWS_WITH(sbert::parse_jsonl<sts>(""), Contains("empty"));
  CHECK_THROWS_WITH(sbert::parse_jsonl<sts>("\n  \n"), Contains("empty"));
  CHECK_THROWS_WITH(sbert::parse_tsv<sts>(""), Contains("empty"));
  CHECK_THROWS_WITH(sbert::parse_csv<sts>(""), Contains("empty"));
}

TEST_CASE("a missing file or a folder is named as such, for every reader") {
  const auto no_file = Contains("/nonexistent/file.tsv: no such file");
  CHECK_THROWS_WITH(sbert::read_tsv<sts>("/nonexistent/file.tsv"), no_file);
  CHECK_THROWS_WITH(sbert::read_csv<sts>("/nonexistent/file.tsv"), no_file);
  CHECK_THROWS_WITH(sbert::read_jsonl<sts>("/nonexistent/file.tsv"), no_file);
  CHECK_THROWS_WITH(sbert::read_json<sts>("/nonexistent/file.tsv"), no_file);
  CHECK_THROWS_WITH(sbert::read_sqlite<sts>("/nonexistent/file.tsv", "SELECT 1"), no_file);
  // a relative path says where it was looked for
  CHECK_THROWS_WITH(sbert::read_tsv<sts>("no-such-dir/train.tsv"),
                    Contains("no-such-dir/train.tsv: no such file (relative to the working directory " +
                             std::filesystem::current_path().string() + ")"));
  CHECK_THROWS_WITH(sbert::read_jsonl<sts>(std::filesystem::temp_directory_path().string()), Contains("is a folder, not a file"));
}

TEST_CASE("read_options: a name that is not a column of the schema is an error naming it and the columns") {
  const std::string tsv = "sentence1\tsentence2\tscore\na\tb\t1\n";
  sbert::read_options o;
  o.header = false;
  o.positions = {{"scroe", 2}, {"sentence1", 0}, {"sentence2", 1}};  // the typo fell back to position 2 before
  const auto names_it = Contains("read_options::positions names 'scroe', which is not a column of the schema "
                                 "(its columns: sentence1, sentence2, score)");
  CHECK_THROWS_WITH(sbert::parse_tsv<sts>("a\tb\t1\n", o), names_it && Contains("sbert::position<column>(n)"));
  CHECK_THROWS_WITH(sbert::parse_csv<sts>("a,b,1\n", o), names_it);
  CHECK_THROWS_WITH(sbert::parse_jsonl<sts>("[\"a\", \"b\", 1]\n", o), names_it);
  CHECK_THROWS_WITH(sbert::parse_json<sts>("[[\"a\", \"b\", 1]]", o), names_it);

  sbert::read_options f;
  f.fields = {{"sentence_1", "s1"}};
  const auto fields_it = Contains("read_options::fields names 'sentence_1', which is not a column of the schema (its columns: "
                                  "sentence1, sentence2, score); fix the name, or write sbert::field<column>(\"...\")");
  CHECK_THROWS_WITH(sbert::parse_tsv<sts>(tsv, f), fields_it);
  CHECK_THROWS_WITH(sbert::parse_jsonl<sts>("{\"sentence1\":\"a\",\"sentence2\":\"b\",\"score\":1}", f), fields_it);
  // even when the file would have read without it
  CHECK_THROWS_WITH(sbert::parse_tsv<sts>(tsv, f), Contains("<memory>: read_options::fields"));

  // typed entries: the name comes from the column type
  sbert::read_options typed;
  typed.header = false;
  typed.positions = {sbert::position<sc>(0), sbert::position<s1>(1), sbert::position<s2>(2)};
  auto d = sbert::parse_tsv<sts>("0.5\tx\ty\n", typed);
  CHECK(d[0].get<sc>() == 0.5f);
  CHECK(d[0].get<s2>() == "y");
  sbert::read_options typed_fields;
  typed_fields.fields = {sbert::field<sc>("similarity")};
  CHECK(sbert::parse_tsv<sts>("sentence1\tsentence2\tsimilarity\na\tb\t2\n", typed_fields)[0].get<sc>() == 2.0f);
  // a column of another schema is still caught at run time
  sbert::read_options other;
  other.positions = {sbert::position<label>(0)};
  CHECK_THROWS_WITH(sbert::parse_tsv<sts>(tsv, other), Contains("read_options::positions names 'label'"));
}

TEST_CASE("csv/tsv: a header that does not fit gets a hint about what the file probably is") {
  // data in the first line (STSb's sts-*.csv have no header)
  CHECK_THROWS_WITH(sbert::parse_tsv<sts>("main-captions\tMSRvid\t2012test\t0001\t5.000\tA plane.\tAn air plane.\n"),
                    Contains("<memory>:1: field 'sentence1': no such field in the header") &&
                        Contains("the first line looks like data, not a header (field 4 is the number '0001')") &&
                        Contains("read_options::header = false"));
  CHECK_THROWS_WITH(sbert::parse_csv<sts>("a,b,0.5\n"), Contains("field 3 is the number '0.5'") && Contains("header = false"));
  // a TSV file read as CSV: one header field full of tabs
  CHECK_THROWS_WITH(sbert::parse_csv<sts>("sentence1\tsentence2\tscore\na\tb\t1\n"),
                    Contains("no such field in the header") && Contains("looks like a TSV file: read it with sbert::read_tsv"));
  // and the other way round
  CHECK_THROWS_WITH(sbert::parse_tsv<sts>("sentence1,sentence2,score\na,b,1\n"),
                    Contains("looks like a CSV file: read it with sbert::read_csv"));
  // a plain misnamed field gets no hint
  CHECK_THROWS_WITH(sbert::parse_tsv<sts>("sentence1\tsentence_2\tscore\na\tb\t1\n"),
                    !Contains("looks like") && Contains("the header has: sentence1, sentence_2, score)"));
}

TEST_CASE("tsv/csv: wrong field counts, bad numbers, bad UTF-8, missing header fields") {
  const std::string head = "sentence1\tsentence2\tscore\n";
  CHECK_THROWS_WITH(sbert::parse_tsv<sts>(head + "a\tb\t1\na\tb\n"), Contains("<memory>:3") && Contains("has 2 fields, expected 3"));
  CHECK_THROWS_WITH(sbert::parse_tsv<sts>(head + "a\tb\t1\tx\n"), Contains(":2") && Contains("has 4 fields"));
  CHECK_THROWS_WITH(sbert::parse_tsv<sts>(head + "a\tb\tfive\n"), Contains(":2: field 'score': a score must be a number, got 'five'"));
  CHECK_THROWS_WITH(sbert::parse_tsv<sts>(head + "a\tb\tnan\n"), Contains("finite"));
  CHECK_THROWS_WITH(sbert::parse_tsv<sts>(head + "a\tb\t1.5x\n"), Contains("score"));
  CHECK_THROWS_WITH(sbert::parse_tsv<sts>(head + "a\xc3\x28\tb\t1\n"), Contains("field 'sentence1': invalid UTF-8"));
  CHECK_THROWS_WITH(sbert::parse_tsv<sts>("sentence1\tsentence_2\tscore\na\tb\t1\n"),
                    Contains(":1: field 'sentence2': no such field in the header") && Contains("sentence_2"));
  CHECK_THROWS_WITH(sbert::parse_csv<sts>("sentence1,sentence2,score\n\"open,b,1\n"), Contains(":2") && Contains("unterminated"));
  CHECK_THROWS_WITH(sbert::parse_csv<sts>("sentence1,sentence2,score\na\"b,c,1\n"), Contains("quote inside an unquoted field"));
  CHECK_THROWS_WITH(sbert::parse_csv<sts>("sentence1,sentence2,score\n\"a\"x,c,1\n"), Contains("after a closing quote"));
  CHECK_THROWS_WITH(sbert::parse_tsv<cls>("sentence1\tlabel\na\t2.5\n"), Contains("field 'label'"));
}

TEST_CASE("lenient mode skips bad rows and reports how many and which") {
  sbert::read_report report;
  sbert::read_options o;
  o.lenient = true;
  o.report = &report;
  auto d = sbert::parse_tsv<sts>("sentence1\tsentence2\tscore\na\tb\t1\nc\td\tbad\ne\tf\n g\th\t2\n", o);
  REQUIRE(d.size() == 2);
  CHECK(d[1].get<s1>() == " g");
  CHECK(report.rows_read == 2);
  CHECK(report.rows_skipped == 2);
  REQUIRE(report.issues.size() == 2);
  CHECK(report.issues[0].line == 3);
  CHECK(report.issues[0].field == "score");
  CHECK(report.issues[1].line == 4);

  sbert::read_report r2;
  o.report = &r2;
  auto j = sbert::parse_jsonl<sts>(
      "{\"sentence1\":\"a\",\"sentence2\":\"b\",\"score\":1}\n{oops\n{\"sentence1\":\"c\",\"sentence2\":\"d\",\"score\":2}\n", o);
  CHECK(j.size() == 2);
  CHECK(r2.rows_skipped == 1);
  CHECK(r2.issues.at(0).line == 2);
  // a bad row never leaves columns of different lengths
  CHECK(j.column<s1>().size() == j.column<sc>().size());
}
