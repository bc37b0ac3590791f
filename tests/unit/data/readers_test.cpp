// Readers on the real files in shared/data: row counts and spot values.
#include "catch.hpp"

#include <sbert/data/readers.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace {
struct s1 : sbert::text_column<"sentence1"> {};
struct s2 : sbert::text_column<"sentence2"> {};
struct sc : sbert::score_column<"score"> {};
struct premise : sbert::text_column<"premise"> {};
struct hypothesis : sbert::text_column<"hypothesis"> {};
struct label : sbert::class_column<"label"> {};
using sts = sbert::schema<s1, s2, sc>;

std::string data(const std::string& rel) { return sbert::test::shared_dir() + "/data/" + rel; }

// STSb's sts-*.csv: no header; genre, file, year, id, score, sentence1, sentence2 [, 2 licence fields]
sbert::read_options stsb_options() {
  sbert::read_options o;
  o.header = false;
  o.positions = {{"score", 4}, {"sentence1", 5}, {"sentence2", 6}};
  o.extra_fields = sbert::extra_fields::ignore;
  return o;
}

std::string temp_file(const std::string& name, const std::string& content) {
  auto p = std::filesystem::temp_directory_path() / ("sbert_test_" + name);
  std::ofstream(p, std::ios::binary) << content;
  return p.string();
}
}  // namespace

TEST_CASE("read_tsv: STSb train and dev, including the rows with 9 fields") {
  auto train = sbert::read_tsv<sts>(data("stsbenchmark/sts-train.csv"), stsb_options());
  REQUIRE(train.size() == 5749);
  CHECK(train[0].get<s1>() == "A plane is taking off.");
  CHECK(train[0].get<s2>() == "An air plane is taking off.");
  CHECK(train[0].get<sc>() == 5.0f);
  // line 5553 has 9 fields (two licence columns)
  CHECK(train[5552].get<s1>() == "Driver backs into stroller with child, drives off");
  CHECK(train[5552].get<sc>() == 4.0f);
  double mean = 0;
  for (float v : train.column<sc>()) mean += v;
  CHECK(mean / 5749 == Approx(2.70).margin(0.01));

  auto dev = sbert::read_tsv<sts>(data("stsbenchmark/sts-dev.csv"), stsb_options());
  CHECK(dev.size() == 1500);

  // Without `extra_fields::ignore`, a 9-field row is a wrong field count, named by line.
  auto strict = stsb_options();
  strict.extra_fields = sbert::extra_fields::error;
  CHECK_THROWS_WITH(sbert::read_tsv<sts>(data("stsbenchmark/sts-train.csv"), strict),
                    Catch::Contains("sts-train.csv:") && Catch::Contains("has 9 fields, expected 7"));
}

TEST_CASE("read_tsv: header mapping by name (train+dev file, SICK, NLI triplets)") {
  auto all = sbert::read_tsv<sts>(data("stsbenchmark/stsbenchmark_train_dev.tsv"));
  CHECK(all.size() == 7249);
  CHECK(all[5749].get<s1>() == sbert::read_tsv<sts>(data("stsbenchmark/sts-dev.csv"), stsb_options())[0].get<s1>());

  sbert::read_options sick;
  sick.fields = {{"sentence1", "sentence_A"}, {"sentence2", "sentence_B"}, {"score", "relatedness_score"}};
  auto sick_train = sbert::read_tsv<sts>(data("sick/SICK_train.tsv"), sick);
  CHECK(sick_train.size() == 4439);
  CHECK(sick_train[0].get<sc>() == 4.5f);

  using triplets = sbert::schema<sbert::columns::anchor, sbert::columns::positive, sbert::columns::negative>;
  auto nli = sbert::read_tsv<triplets>(data("nli/nli_dev_triplets.tsv"));
  REQUIRE(nli.size() == 6571);
  CHECK(nli[0].get<sbert::columns::anchor>() == "Two women are embracing while holding to go packages.");
  CHECK(nli[0].get<sbert::columns::negative>() == "The men are fighting outside a deli.");
}

TEST_CASE("read_tsv: MRPC with its BOM, mapping by header names that contain '#'") {
  using mrpc = sbert::schema<s1, s2, label>;
  sbert::read_options o;
  o.fields = {{"sentence1", "#1 String"}, {"sentence2", "#2 String"}, {"label", "Quality"}};
  auto d = sbert::read_tsv<mrpc>(data("mrpc/msr_paraphrase_train.txt"), o);
  REQUIRE(d.size() == 4076);
  std::size_t pos = 0;
  for (auto v : d.column<label>()) pos += v == 1;
  CHECK(pos == 2753);
  CHECK(d[0].get<s1>().starts_with("Amrozi accused his brother"));
}

TEST_CASE("read_tsv: CRLF line endings and a BOM are handled") {
  auto d = sbert::parse_tsv<sts>("\xEF\xBB\xBFsentence1\tsentence2\tscore\r\nA b\tc d\t1.5\r\nx\ty\t2\r\n");
  REQUIRE(d.size() == 2);
  CHECK(d[0].get<s1>() == "A b");
  CHECK(d[1].get<sc>() == 2.0f);
}

TEST_CASE("read_jsonl: SNLI and MultiNLI dev with class names") {
  using nli = sbert::schema<premise, hypothesis, label>;
  sbert::read_options o;
  o.class_names = {"entailment", "neutral", "contradiction"};
  auto snli = sbert::read_jsonl<nli>(data("nli/snli_1.0_dev.jsonl"), o);
  REQUIRE(snli.size() == 9842);
  std::array<int, 3> counts{};
  for (auto v : snli.column<label>()) ++counts.at(static_cast<std::size_t>(v));
  CHECK(counts == std::array<int, 3>{3329, 3235, 3278});
  CHECK(snli[0].get<premise>() == "Two women are embracing while holding to go packages.");
  CHECK(snli[0].get<label>() == 1);
  auto mnli = sbert::read_jsonl<nli>(data("nli/multinli_1.0_dev_matched.jsonl"), o);
  CHECK(mnli.size() == 9815);
}

TEST_CASE("read_jsonl: SciFact corpus, mapping a column to the '_id' field") {
  struct id : sbert::text_column<"id"> {};
  struct title : sbert::text_column<"title"> {};
  struct text : sbert::text_column<"text"> {};
  sbert::read_options o;
  o.fields = {{"id", "_id"}};
  auto corpus = sbert::read_jsonl<sbert::schema<id, title, text>>(data("scifact/corpus.jsonl"), o);
  REQUIRE(corpus.size() == 5183);
  CHECK(corpus[0].get<id>() == "4983");
  CHECK(corpus[0].get<title>().starts_with("Microstructural development of human newborn"));
}

TEST_CASE("read_jsonl: text lists, vectors, array rows") {
  struct negs : sbert::text_list_column<"negatives"> {};
  struct emb : sbert::vector_column<"label"> {};
  auto d = sbert::parse_jsonl<sbert::schema<s1, negs>>(
      "{\"sentence1\": \"q\", \"negatives\": [\"a\", \"b\", \"c\"]}\n\n{\"negatives\": [], \"sentence1\": \"r\"}\n");
  REQUIRE(d.size() == 2);
  CHECK(d[0].get<negs>() == std::vector<std::string>{"a", "b", "c"});
  CHECK(d[1].get<negs>().empty());
  auto v = sbert::parse_jsonl<sbert::schema<s1, emb>>("{\"sentence1\":\"x\",\"label\":[0.5,-1,2e3]}");
  CHECK(v[0].get<emb>() == std::vector<float>{0.5f, -1.f, 2000.f});
  auto arr = sbert::parse_jsonl<sts>("[\"a\", \"b\", 0.25]\n[\"c\", \"d\", 1]\n");
  CHECK(arr[1].get<s2>() == "d");
  CHECK(arr[0].get<sc>() == 0.25f);
}

TEST_CASE("read_json: an array of objects, with line numbers in errors") {
  auto path = temp_file("rows.json", "[\n {\"sentence1\": \"a\", \"sentence2\": \"b\", \"score\": 1},\n"
                                      " {\"sentence1\": \"c\", \"sentence2\": \"d\", \"score\": 0.5}\n]\n");
  auto d = sbert::read_json<sts>(path);
  REQUIRE(d.size() == 2);
  CHECK(d[1].get<s1>() == "c");
  auto bad = temp_file("bad_rows.json", "[\n {\"sentence1\": \"a\", \"sentence2\": \"b\", \"score\": 1},\n"
                                         " {\"sentence1\": \"c\", \"sentence2\": \"d\", \"score\": \"high\"}\n]\n");
  CHECK_THROWS_WITH(sbert::read_json<sts>(bad), Catch::Contains("bad_rows.json:3: field 'score'") &&
                                                   Catch::Contains("must be a number"));
}

TEST_CASE("read_csv: RFC 4180 quoting") {
  auto d = sbert::parse_csv<sts>(
      "sentence1,sentence2,score\n"
      "\"Hello, world\",\"She said \"\"hi\"\"\",1.0\r\n"
      "\"two\nlines\",plain,2\n"
      "\n"
      "last,row,3");
  REQUIRE(d.size() == 3);
  CHECK(d[0].get<s1>() == "Hello, world");
  CHECK(d[0].get<s2>() == "She said \"hi\"");
  CHECK(d[1].get<s1>() == "two\nlines");
  CHECK(d[2].get<sc>() == 3.0f);
  // the line number of a record after a multi-line field
  CHECK_THROWS_WITH(sbert::parse_csv<sts>("sentence1,sentence2,score\n\"a\nb\",c,1\nd,e,x\n"),
                    Catch::Contains("<memory>:4: field 'score'"));
  sbert::read_options semi;
  semi.delimiter = ';';
  CHECK(sbert::parse_csv<sts>("sentence1;sentence2;score\na,x;\"b;c\";0.5\n", semi)[0].get<s2>() == "b;c");
}

TEST_CASE("read_sqlite: a query's result columns map by name") {
  auto path = (std::filesystem::temp_directory_path() / "sbert_test.sqlite").string();
  std::filesystem::remove(path);
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db,
                       "CREATE TABLE pairs(a TEXT, b TEXT, s REAL);"
                       "INSERT INTO pairs VALUES('one','two',0.5),('three','four',4),('five',NULL,1);",
                       nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  auto d = sbert::read_sqlite<sts>(path, "SELECT a AS sentence1, b AS sentence2, s AS score FROM pairs WHERE b IS NOT NULL");
  REQUIRE(d.size() == 2);
  CHECK(d[1].get<s2>() == "four");
  CHECK(d[1].get<sc>() == 4.0f);
  CHECK_THROWS_WITH(sbert::read_sqlite<sts>(path, "SELECT a AS sentence1, b AS sentence2, s AS score FROM pairs"),
                    Catch::Contains(":3: field 'sentence2': NULL value"));
  CHECK_THROWS_WITH(sbert::read_sqlite<sts>(path, "SELECT nope FROM pairs"), Catch::Contains("the query failed"));
}
