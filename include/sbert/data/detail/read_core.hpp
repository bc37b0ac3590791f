// SPDX-License-Identifier: Apache-2.0
// IWYU pragma: private, include <sbert/data/readers.hpp>
// The non-template core of the readers: loading files, converting field text to column values,
// resolving which file field feeds which column, and the lenient-mode bookkeeping.
#pragma once
#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <sbert/data/column.hpp>
#include <sbert/data/read_options.hpp>
#include <sbert/error.hpp>

namespace sbert::detail {

/// The whole file, padded for simdjson, with a UTF-8 BOM skipped.
struct loaded_file {
  simdjson::padded_string buffer;
  std::string_view text;  // without the BOM
};

/// A missing path or a folder gets its own message (simdjson would say "Error reading the
/// file."); a relative path names the working directory it was looked up from.
inline void require_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (st.type() == fs::file_type::not_found) {
    std::string where;
    if (fs::path(path).is_relative()) {
      const auto cwd = fs::current_path(ec);
      if (!ec) where = " (relative to the working directory " + cwd.string() + ")";
    }
    throw input_error(path, 0, "", "no such file" + where);
  }
  if (st.type() == fs::file_type::directory) throw input_error(path, 0, "", "is a folder, not a file");
}

inline loaded_file load_file(const std::string& path) {
  require_file(path);
  loaded_file f;
  auto err = simdjson::padded_string::load(path).get(f.buffer);
  if (err) throw input_error(path, 0, "", std::string("cannot read the file: ") + simdjson::error_message(err));
  f.text = std::string_view(f.buffer.data(), f.buffer.size());
  if (f.text.starts_with("\xEF\xBB\xBF")) f.text.remove_prefix(3);
  bool blank = true;
  for (char c : f.text)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') { blank = false; break; }
  if (blank) throw input_error(path, 0, "", "the file is empty");
  return f;
}

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

inline std::string quoted(std::string_view s) {
  std::string out = "'";
  out.append(s.substr(0, 60));
  if (s.size() > 60) out += "...";
  return out + "'";
}

// ---- field text -> column value (the error message; the caller adds file/line/field) ------
inline std::string to_text(std::string_view raw) {
  if (!simdjson::validate_utf8(raw.data(), raw.size())) throw std::invalid_argument("invalid UTF-8 in a text field");
  return std::string(raw);
}

inline float to_score(std::string_view raw) {
  const std::string_view s = trim(raw);
  if (s.empty()) throw std::invalid_argument("a score is empty");
  double v = 0;
  const char* begin = s.data();
  if (*begin == '+') ++begin;
  auto [p, ec] = std::from_chars(begin, s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size())
    throw std::invalid_argument("a score must be a number, got " + quoted(s));
  if (!std::isfinite(v)) throw std::invalid_argument("a score must be finite, got " + quoted(s));
  return static_cast<float>(v);
}

inline std::int64_t to_class(std::string_view raw, const std::vector<std::string>& names) {
  const std::string_view s = trim(raw);
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (!s.empty() && ec == std::errc() && p == s.data() + s.size()) return v;
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == s) return static_cast<std::int64_t>(i);
  if (names.empty()) throw std::invalid_argument("a class label must be an integer, got " + quoted(s) +
                                                 " (pass read_options::class_names to map names to ids)");
  std::string known;
  for (auto& n : names) known += (known.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown class label " + quoted(s) + " (known: " + known + ")");
}

// ---- JSON values -> column values ------------------------------------------------------------
// Rows are parsed with simdjson's DOM parser, one row at a time: it validates the whole row
// (a malformed tail is an error, not silently ignored) and a bad row cannot poison the next.
using json_element = simdjson::dom::element;

inline std::string_view json_type_name(json_element v) {
  switch (v.type()) {
    case simdjson::dom::element_type::ARRAY: return "an array";
    case simdjson::dom::element_type::OBJECT: return "an object";
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64:
    case simdjson::dom::element_type::DOUBLE: return "a number";
    case simdjson::dom::element_type::STRING: return "a string";
    case simdjson::dom::element_type::BOOL: return "a boolean";
    case simdjson::dom::element_type::NULL_VALUE: return "null";
  }
  return "?";
}

inline std::string json_text(json_element v) {
  std::string_view s;
  if (v.get_string().get(s)) throw std::invalid_argument("expected a string, got " + std::string(json_type_name(v)));
  return std::string(s);
}

inline float json_score(json_element v) {
  double d = 0;
  if (!v.is_number() || v.get_double().get(d))
    throw std::invalid_argument("a score must be a number, got " + std::string(json_type_name(v)));
  if (!std::isfinite(d)) throw std::invalid_argument("a score must be finite");
  return static_cast<float>(d);
}

inline std::int64_t json_class(json_element v, const std::vector<std::string>& names) {
  if (v.is_string()) return to_class(std::string_view(v.get_string().value_unsafe()), names);
  std::int64_t i = 0;
  if (v.is_int64() && !v.get_int64().get(i)) return i;
  if (v.is_uint64()) throw std::invalid_argument("a class label is out of the int64 range");
  if (v.is_double()) throw std::invalid_argument("a class label must be an integer, got a non-integer number");
  throw std::invalid_argument("a class label must be an integer or a string, got " + std::string(json_type_name(v)));
}

inline std::vector<std::string> json_text_list(json_element v) {
  simdjson::dom::array arr;
  if (v.get_array().get(arr)) throw std::invalid_argument("expected an array of strings, got " + std::string(json_type_name(v)));
  std::vector<std::string> out;
  out.reserve(arr.size());
  for (auto e : arr) out.push_back(json_text(e));
  return out;
}

inline std::vector<float> json_vector(json_element v) {
  simdjson::dom::array arr;
  if (v.get_array().get(arr)) throw std::invalid_argument("expected an array of numbers, got " + std::string(json_type_name(v)));
  std::vector<float> out;
  out.reserve(arr.size());
  for (auto e : arr) out.push_back(json_score(e));
  return out;
}

/// Lenient-mode bookkeeping: record a skipped row, or rethrow when strict.
class row_errors {
 public:
  explicit row_errors(const read_options& o) : opts_(o), local_report_() {}
  read_report& report() { return opts_.report ? *opts_.report : local_report_; }
  void skipped(const input_error& e) {
    if (!opts_.lenient) throw e;
    auto& r = report();
    ++r.rows_skipped;
    if (r.issues.size() < opts_.max_issues) r.issues.push_back({e.line, e.field, e.what()});
  }
  void finish(const std::string& path, std::size_t rows) {
    auto& r = report();
    r.rows_read += rows;
    if (opts_.lenient && !opts_.report && r.rows_skipped)
      std::cerr << "sbert: " << path << ": skipped " << r.rows_skipped << " bad row(s); first: "
                << (r.issues.empty() ? "" : r.issues.front().message) << '\n';
  }

 private:
  const read_options& opts_;
  read_report local_report_;
};

/// A hint for a CSV/TSV header that names none of the missing fields: the file is probably
/// another format, or has no header at all. Empty when nothing looks wrong.
inline std::string header_hint(const std::vector<std::string>& header, bool tsv, char delimiter) {
  if (header.size() == 1 && !tsv && delimiter != '\t' && header[0].find('\t') != std::string::npos)
    return "; the header is one field with tabs in it, so this looks like a TSV file: read it with sbert::read_tsv";
  if (header.size() == 1 && tsv && header[0].find(',') != std::string::npos)
    return "; the header is one field with commas in it, so this looks like a CSV file: read it with sbert::read_csv";
  for (std::size_t i = 0; i < header.size(); ++i) {
    const std::string_view h = trim(header[i]);
    double v = 0;
    const char* b = h.data() + (h.starts_with('+') || h.starts_with('-') ? 1 : 0);
    auto [p, ec] = std::from_chars(b, h.data() + h.size(), v);
    if (!h.empty() && ec == std::errc() && p == h.data() + h.size())
      return "; the first line looks like data, not a header (field " + std::to_string(i + 1) + " is the number " +
             quoted(h) + "): if the file has no header, set read_options::header = false (columns are then read in "
             "schema order, or by read_options::positions)";
  }
  return {};
}

/// The file field name a column reads from.
inline std::string field_name_for(std::string_view column, const read_options& o) {
  if (auto it = o.fields.find(column); it != o.fields.end()) return it->second;
  return std::string(column);
}

}  // namespace sbert::detail
