// SPDX-License-Identifier: Apache-2.0
// Retrieval data in BEIR's layout (SciFact and the other BEIR sets): corpus.jsonl
// ({"_id", "title", "text"}), queries.jsonl ({"_id", "text"}) and qrels/<split>.tsv
// (query-id, corpus-id, score), as InformationRetrievalEvaluator and mine_hard_negatives take
// them. Torch-free.
#pragma once
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <sbert/data/readers.hpp>
#include <sbert/error.hpp>

namespace sbert {

/// A BEIR split: the types are those of information_retrieval_evaluator (id_texts, relevance).
struct beir_data {
  std::vector<std::pair<std::string, std::string>> corpus;   ///< (document id, text), file order
  std::vector<std::pair<std::string, std::string>> queries;  ///< (query id, text), file order
  std::map<std::string, std::set<std::string>> relevant;     ///< query id -> ids of its relevant documents
};

struct beir_options {
  /// A document's text is title + " " + text, as BEIR's evaluation and sentence-transformers'
  /// examples build it (a document without a title is its text alone); false: the text only.
  bool prepend_title = true;
};

namespace detail {
// Ids must be unique within a file: a second document or query with the same id would silently
// shadow the first in any id -> text map built from it.
inline void check_unique_ids(const std::vector<std::pair<std::string, std::string>>& rows, const std::string& file) {
  std::unordered_map<std::string_view, std::size_t> first;
  first.reserve(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (auto [it, fresh] = first.emplace(rows[i].first, i + 1); !fresh)
      throw input_error(file, i + 1, "_id",
                        "record " + std::to_string(i + 1) + " repeats the _id '" + rows[i].first + "' of record " + std::to_string(it->second));
}
}  // namespace detail

/// Reads `dir`/corpus.jsonl, `dir`/queries.jsonl and `dir`/qrels/`split`.tsv (with its header
/// line `query-id corpus-id score`). A qrel counts as relevant when its score is > 0, as BEIR
/// and Python's evaluator treat graded judgements. Every query is kept, judged or not (the
/// evaluator scores only queries with relevant documents). Errors name the file and record: a
/// missing file or field, a repeated id.
inline beir_data read_beir(const std::string& dir, const std::string& split, const beir_options& o = {}) {
  struct id : text_column<"_id"> {};
  struct title : text_column<"title"> {};
  struct text : text_column<"text"> {};
  struct query_id : text_column<"query-id"> {};
  struct corpus_id : text_column<"corpus-id"> {};
  struct judgement : score_column<"score"> {};
  namespace fs = std::filesystem;
  const auto corpus_file = (fs::path(dir) / "corpus.jsonl").string();
  const auto queries_file = (fs::path(dir) / "queries.jsonl").string();
  const auto qrels_file = (fs::path(dir) / "qrels" / (split + ".tsv")).string();
  read_options extra;
  extra.extra_fields = extra_fields::ignore;  // BEIR files carry "metadata" and the like
  beir_data b;
  {
    const auto docs = read_jsonl<schema<id, title, text>>(corpus_file, extra);
    b.corpus.reserve(docs.size());
    for (std::size_t i = 0; i < docs.size(); ++i) {
      const auto& t = docs[i].get<title>();
      b.corpus.emplace_back(docs[i].get<id>(), o.prepend_title && !t.empty() ? t + " " + docs[i].get<text>() : docs[i].get<text>());
    }
    detail::check_unique_ids(b.corpus, corpus_file);
  }
  {
    const auto qs = read_jsonl<schema<id, text>>(queries_file, extra);
    b.queries.reserve(qs.size());
    for (std::size_t i = 0; i < qs.size(); ++i) b.queries.emplace_back(qs[i].get<id>(), qs[i].get<text>());
    detail::check_unique_ids(b.queries, queries_file);
  }
  const auto qrels = read_tsv<schema<query_id, corpus_id, judgement>>(qrels_file);
  for (std::size_t i = 0; i < qrels.size(); ++i)
    if (qrels[i].get<judgement>() > 0) b.relevant[qrels[i].get<query_id>()].insert(qrels[i].get<corpus_id>());
  return b;
}

}  // namespace sbert
