// read_beir on the bundled SciFact (BEIR layout): every record of each file, compared with the
// files parsed independently here (simdjson, a tab split); titles prepended or not; errors for a
// repeated id, a missing field and a missing split name the file.
#include "catch.hpp"

#include <simdjson.h>

#include <sbert/data/beir.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {
namespace fs = std::filesystem;

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}
std::string field(simdjson::dom::parser& p, const std::string& line, const char* key) {
  return std::string(p.parse(line)[key].get_string().value());
}
}  // namespace

TEST_CASE("read_beir: SciFact's corpus, queries and train qrels, record by record") {
  const std::string dir = sbert::test::shared_dir() + "/data/scifact";
  const auto b = sbert::read_beir(dir, "train");
  simdjson::dom::parser p;
  const auto docs = lines_of(dir + "/corpus.jsonl");
  REQUIRE(b.corpus.size() == docs.size());
  for (std::size_t i = 0; i < docs.size(); i += 97) {
    INFO("corpus record " << i + 1);
    CHECK(b.corpus[i].first == field(p, docs[i], "_id"));
    CHECK(b.corpus[i].second == field(p, docs[i], "title") + " " + field(p, docs[i], "text"));
  }
  const auto qs = lines_of(dir + "/queries.jsonl");
  REQUIRE(b.queries.size() == qs.size());
  CHECK(b.queries.back().first == field(p, qs.back(), "_id"));
  CHECK(b.queries.back().second == field(p, qs.back(), "text"));
  std::map<std::string, std::set<std::string>> expected;
  const auto qrels = lines_of(dir + "/qrels/train.tsv");
  for (std::size_t i = 1; i < qrels.size(); ++i) {  // after the header
    std::istringstream row(qrels[i]);
    std::string q, c;
    double score = 0;
    REQUIRE(std::getline(row, q, '\t'));
    REQUIRE(std::getline(row, c, '\t'));
    REQUIRE(row >> score);
    if (score > 0) expected[q].insert(c);
  }
  REQUIRE(!expected.empty());
  CHECK(b.relevant == expected);

  const auto bare = sbert::read_beir(dir, "train", {.prepend_title = false});
  CHECK(bare.corpus[0].second == field(p, docs[0], "text"));
}

TEST_CASE("read_beir: a repeated id, a missing field or split is an error naming the file") {
  const auto dir = fs::temp_directory_path() / "sbert_beir_test";
  fs::remove_all(dir);
  fs::create_directories(dir / "qrels");
  std::ofstream(dir / "corpus.jsonl") << "{\"_id\": \"d1\", \"title\": \"\", \"text\": \"one\"}\n"
                                         "{\"_id\": \"d2\", \"title\": \"T\", \"text\": \"two\", \"metadata\": {}}\n";
  std::ofstream(dir / "queries.jsonl") << "{\"_id\": \"q1\", \"text\": \"which?\"}\n";
  std::ofstream(dir / "qrels" / "test.tsv") << "query-id\tcorpus-id\tscore\nq1\td2\t1\nq1\td1\t0\n";
  const auto ok = sbert::read_beir(dir.string(), "test");
  CHECK(ok.corpus == std::vector<std::pair<std::string, std::string>>{{"d1", "one"}, {"d2", "T two"}});  // no title: the text alone
  CHECK(ok.relevant == std::map<std::string, std::set<std::string>>{{"q1", {"d2"}}});                 // score 0 is not relevant
  CHECK_THROWS_WITH(sbert::read_beir(dir.string(), "dev"), Catch::Contains("dev.tsv"));
  std::ofstream(dir / "queries.jsonl") << "{\"_id\": \"q1\", \"text\": \"which?\"}\n{\"_id\": \"q1\", \"text\": \"again\"}\n";
  CHECK_THROWS_WITH(sbert::read_beir(dir.string(), "test"),
                    Catch::Contains("queries.jsonl:2") && Catch::Contains("repeats the _id 'q1' of record 1"));
  std::ofstream(dir / "corpus.jsonl") << "{\"_id\": \"d1\", \"title\": \"\"}\n";
  CHECK_THROWS_WITH(sbert::read_beir(dir.string(), "test"), Catch::Contains("corpus.jsonl") && Catch::Contains("text"));
  fs::remove_all(dir);
}
