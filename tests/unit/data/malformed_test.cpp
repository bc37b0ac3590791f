// Bad input never crashes and never silently drops data: each gets an error naming the file,
// line and field; lenient mode skips such rows and reports them.
#include "catch.hpp"

#include <sbert/data/readers.hpp>

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
  CHECK_THROWS_WITH(sbert::read_tsv<sts>("/nonexistent/file.tsv"), Contains("/nonexistent/file.tsv") && Contains("cannot read"));
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
