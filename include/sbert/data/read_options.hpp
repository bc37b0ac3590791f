// SPDX-License-Identifier: Apache-2.0
// Options shared by every reader: how file fields map to schema columns, and what to do with
// bad rows (fail, by default; or skip them and say which).
#pragma once
#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <sbert/data/column.hpp>

namespace sbert {

/// What a CSV/TSV reader does with rows that have more fields than it needs.
enum class extra_fields {
  error,   ///< a row with a different field count than the header (or than needed) is an error
  ignore,  ///< fields after the last one used are ignored (STSb rows with licence columns)
};

/// One rejected row.
struct read_issue {
  std::size_t line = 0;
  std::string field;
  std::string message;
};

/// What a lenient read skipped.
struct read_report {
  std::size_t rows_read = 0;
  std::size_t rows_skipped = 0;
  std::vector<read_issue> issues;  // the first `max_issues` of them
};

struct read_options {
  /// Column name -> the field name in the file (default: the column's own name). A name that
  /// is not a column of the schema is an error (a typo would otherwise be ignored).
  std::map<std::string, std::string, std::less<>> fields;
  /// Column name -> 0-based field position (CSV/TSV rows, JSON array rows). Without a header
  /// and without positions, columns are read in schema order. As for `fields`, every name
  /// must be a column of the schema. Typed: `positions = {sbert::position<score>(4), ...}`.
  std::map<std::string, std::size_t, std::less<>> positions;
  /// Class labels given as strings ("entailment") map to their index in this list.
  std::vector<std::string> class_names;
  /// CSV/TSV: whether the first line names the fields.
  bool header = true;
  /// CSV only: the field delimiter.
  char delimiter = ',';
  sbert::extra_fields extra_fields = extra_fields::error;
  /// Skip bad rows instead of failing; they are counted and listed in `report` (or, when
  /// `report` is null, summarised on stderr).
  bool lenient = false;
  read_report* report = nullptr;
  std::size_t max_issues = 100;
};

/// A read_options::positions entry named by the column type, so the name cannot be misspelt:
///   o.positions = {sbert::position<score>(4), sbert::position<sentence1>(5)};
template <Column C>
[[nodiscard]] std::pair<const std::string, std::size_t> position(std::size_t index) {
  return {std::string(C::name), index};
}
/// A read_options::fields entry named by the column type:
///   o.fields = {sbert::field<score>("relatedness_score")};
template <Column C>
[[nodiscard]] std::pair<const std::string, std::string> field(std::string file_field) {
  return {std::string(C::name), std::move(file_field)};
}

}  // namespace sbert
