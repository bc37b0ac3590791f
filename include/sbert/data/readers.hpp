// SPDX-License-Identifier: Apache-2.0
// Readers into a typed schema: JSON Lines, JSON arrays, CSV (RFC 4180), TSV (plain tab split),
// SQLite queries. File fields map to columns by name (the column's own name, or
// read_options::fields) or by position. Every bad value is an sbert::input_error naming the
// file, line and field; read_options::lenient skips such rows and reports them instead.
#pragma once
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <sbert/data/dataset.hpp>
#include <sbert/data/detail/read_core.hpp>
#include <sbert/data/read_options.hpp>

namespace sbert {

namespace detail {

template <class C>
typename C::value_type column_from_json(json_element v, const read_options& o) {
  if constexpr (C::kind == column_kind::text) return json_text(v);
  else if constexpr (C::kind == column_kind::text_list) return json_text_list(v);
  else if constexpr (C::kind == column_kind::score) return json_score(v);
  else if constexpr (C::kind == column_kind::class_label) return json_class(v, o.class_names);
  else return json_vector(v);
}

// Text and score/class columns read one field; text-list and vector columns read every field
// from their position to the end of the row.
template <class C>
typename C::value_type column_from_fields(std::span<const std::string_view> f, std::size_t pos, const read_options& o) {
  if constexpr (C::kind == column_kind::text) return to_text(f[pos]);
  else if constexpr (C::kind == column_kind::score) return to_score(f[pos]);
  else if constexpr (C::kind == column_kind::class_label) return to_class(f[pos], o.class_names);
  else if constexpr (C::kind == column_kind::text_list) {
    std::vector<std::string> out;
    for (std::size_t i = pos; i < f.size(); ++i) out.push_back(to_text(f[i]));
    return out;
  } else {
    std::vector<float> out;
    for (std::size_t i = pos; i < f.size(); ++i) out.push_back(to_score(f[i]));
    return out;
  }
}

template <class C>
constexpr bool takes_rest = C::kind == column_kind::text_list || C::kind == column_kind::vector;

// Build one row column by column (left to right) and append it only when every column
// converted, so a bad row never leaves the columns with different lengths.
template <class S, class Get, std::size_t... I>
void append_row(dataset<S>& d, Get&& get, std::index_sequence<I...>) {
  using cols = typename S::columns;
  std::tuple<typename std::tuple_element_t<I, cols>::value_type...> row{get(std::integral_constant<std::size_t, I>{})...};
  std::apply([&](auto&&... v) { d.push_back(std::move(v)...); }, std::move(row));
}

/// Every name in read_options::fields and ::positions must be a column of S: a misspelt name
/// would otherwise leave its column at its default (the schema position), the very misread
/// the typed schema exists to prevent.
template <Schema S>
void check_option_names(const std::string& file, const read_options& o) {
  auto known = [](std::string_view n) { return std::find(S::names.begin(), S::names.end(), n) != S::names.end(); };
  auto fail = [&](std::string_view option, const std::string& name) {
    std::string cols;
    for (auto c : S::names) cols += (cols.empty() ? "" : ", ") + std::string(c);
    throw input_error(file, 0, "", "read_options::" + std::string(option) + " names '" + name +
                                       "', which is not a column of the schema (its columns: " + cols +
                                       "); fix the name, or write sbert::" +
                                       (option == "fields" ? "field<column>(\"...\")" : "position<column>(n)") +
                                       " so that the compiler checks it");
  };
  for (const auto& [name, _] : o.fields)
    if (!known(name)) fail("fields", name);
  for (const auto& [name, _] : o.positions)
    if (!known(name)) fail("positions", name);
}

/// Convert one JSON row (an object, or an array read by position) into the data set.
template <Schema S>
using field_names = std::array<std::string, S::column_count>;

template <Schema S>
field_names<S> json_field_names(const read_options& o) {
  field_names<S> f;
  for (std::size_t i = 0; i < S::column_count; ++i) f[i] = field_name_for(S::names[i], o);
  return f;
}

template <Schema S>
void append_json_row(dataset<S>& d, json_element row, const std::string& file, std::size_t line,
                     const read_options& o, const field_names<S>& fields) {
  using cols = typename S::columns;
  const bool is_object = row.is_object();
  simdjson::dom::array arr;
  if (!is_object && row.get_array().get(arr))
    throw input_error(file, line, "", "a row must be a JSON object (or an array), got " + std::string(json_type_name(row)));
  auto get = [&](auto ic) {
    using C = std::tuple_element_t<decltype(ic)::value, cols>;
    const std::string& field = fields[decltype(ic)::value];
    json_element v;
    if (is_object) {
      auto err = row.get_object().value_unsafe().at_key(field).get(v);
      if (err) throw input_error(file, line, field, "missing field (column '" + std::string(C::name) + "')");
    } else {
      std::size_t pos = decltype(ic)::value;
      if (auto it = o.positions.find(C::name); it != o.positions.end()) pos = it->second;
      if (pos >= arr.size())
        throw input_error(file, line, "#" + std::to_string(pos), "the row has " + std::to_string(arr.size()) +
                                                                    " fields; column '" + std::string(C::name) + "' reads field " + std::to_string(pos));
      v = arr.at(pos).value_unsafe();
    }
    try {
      return column_from_json<C>(v, o);
    } catch (const std::invalid_argument& e) {
      throw input_error(file, line, field, e.what());
    }
  };
  append_row(d, get, std::make_index_sequence<S::column_count>{});
}

inline std::size_t count_lines(std::string_view text, std::size_t from, std::size_t to, std::size_t line) {
  for (std::size_t i = from; i < to; ++i) line += text[i] == '\n';
  return line;
}

/// JSON Lines over a buffer that has SIMDJSON_PADDING readable bytes past its end.
template <Schema S>
dataset<S> parse_jsonl_padded(std::string_view text, const std::string& file, const read_options& o) {
  check_option_names<S>(file, o);
  dataset<S> d;
  d.set_source(file);
  row_errors errs(o);
  simdjson::dom::parser parser;
  const auto fields = json_field_names<S>(o);
  d.reserve(static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1);
  std::size_t line = 0, pos = 0;
  bool any = false;
  while (pos < text.size()) {
    ++line;
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view l = text.substr(pos, end - pos);
    pos = end + 1;
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (trim(l).empty()) continue;  // blank lines carry no row
    any = true;
    try {
      json_element doc;
      if (auto err = parser.parse(l.data(), l.size(), false).get(doc))
        throw input_error(file, line, "", std::string("malformed JSON: ") + simdjson::error_message(err));
      append_json_row(d, doc, file, line, o, fields);
    } catch (const input_error& e) {
      errs.skipped(e);
    }
  }
  if (!any) throw input_error(file, 0, "", "the file is empty");
  errs.finish(file, d.size());
  return d;
}

/// A JSON array of rows, over a padded buffer. A small scanner finds each top-level element
/// (so errors can name its line); each element is then parsed and validated on its own.
template <Schema S>
dataset<S> parse_json_array_padded(std::string_view text, const std::string& file, const read_options& o) {
  check_option_names<S>(file, o);
  dataset<S> d;
  d.set_source(file);
  row_errors errs(o);
  simdjson::dom::parser dom;
  const auto fields = json_field_names<S>(o);
  std::size_t i = 0, line = 1;
  auto skip_ws = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n')) line += text[i++] == '\n';
  };
  skip_ws();
  if (i >= text.size() || text[i] != '[')
    throw input_error(file, line, "", "a JSON data set must be an array of rows ([{...}, {...}])");
  ++i;
  skip_ws();
  bool closed = false;
  if (i < text.size() && text[i] == ']') { ++i; closed = true; }
  while (!closed) {
    skip_ws();
    const std::size_t start = i, start_line = line;
    int depth = 0;
    bool in_string = false;
    for (; i < text.size(); ++i) {
      const char c = text[i];
      if (in_string) {
        if (c == '\\') ++i;
        else if (c == '"') in_string = false;
        else if (c == '\n') ++line;
        continue;
      }
      if (c == '"') in_string = true;
      else if (c == '{' || c == '[') ++depth;
      else if (c == '}' || c == ']') {
        if (depth == 0 && c == '}') throw input_error(file, line, "", "malformed JSON: an unmatched '}'");
        if (depth == 0) break;
        --depth;
      } else if (c == ',' && depth == 0) break;
      else if (c == '\n') ++line;
    }
    if (i >= text.size()) throw input_error(file, start_line, "", "malformed JSON: the array is not closed");
    std::string_view raw = text.substr(start, i - start);
    while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\n' || raw.back() == '\r' || raw.back() == '\t')) raw.remove_suffix(1);
    try {
      json_element row;
      if (raw.empty()) throw input_error(file, start_line, "", "malformed JSON: an empty array element");
      if (auto err = dom.parse(raw.data(), raw.size(), false).get(row))
        throw input_error(file, start_line, "", std::string("malformed JSON: ") + simdjson::error_message(err));
      append_json_row(d, row, file, start_line, o, fields);
    } catch (const input_error& e) {
      errs.skipped(e);
    }
    if (text[i] == ']') closed = true;
    ++i;
  }
  skip_ws();
  if (i < text.size()) throw input_error(file, line, "", "unexpected content after the JSON array");
  errs.finish(file, d.size());
  return d;
}

/// Which field feeds each column, from the header (or positions, or schema order). `hint` ends
/// the message of a field missing from the header (see header_hint).
template <Schema S>
std::vector<std::size_t> resolve_positions(const std::vector<std::string>* header, const std::string& file,
                                           const read_options& o, const std::string& hint = {}) {
  std::vector<std::size_t> pos(S::column_count);
  for (std::size_t i = 0; i < S::column_count; ++i) {
    const std::string_view col = S::names[i];
    if (auto it = o.positions.find(col); it != o.positions.end()) {
      pos[i] = it->second;
    } else if (header) {
      const std::string field = field_name_for(col, o);
      std::size_t j = 0;
      while (j < header->size() && (*header)[j] != field) ++j;
      if (j == header->size()) {
        std::string have;
        for (auto& h : *header) have += (have.empty() ? "" : ", ") + h;
        throw input_error(file, 1, field, "no such field in the header (column '" + std::string(col) +
                                              "'; the header has: " + have + ")" + hint);
      }
      pos[i] = j;
    } else {
      pos[i] = i;
    }
  }
  return pos;
}

/// Split-up records (CSV or TSV) -> rows.
template <Schema S>
class record_sink {
 public:
  /// `tsv`: the fields were split on tabs (for the hint when the header does not fit).
  record_sink(const std::string& file, const read_options& o, bool tsv) : file_(file), o_(o), errs_(o), tsv_(tsv) {
    check_option_names<S>(file, o);
    d_.set_source(file);
  }

  void header(std::span<const std::string_view> fields) {
    std::vector<std::string> names(fields.begin(), fields.end());
    header_count_ = names.size();
    pos_ = resolve_positions<S>(&names, file_, o_, header_hint(names, tsv_, o_.delimiter));
    finish_positions();
  }
  void no_header() {
    pos_ = resolve_positions<S>(nullptr, file_, o_);
    finish_positions();
  }

  void record(std::span<const std::string_view> f, std::size_t line) {
    try {
      check_count(f, line);
      auto get = [&](auto ic) {
        using C = std::tuple_element_t<decltype(ic)::value, typename S::columns>;
        const std::size_t p = pos_[decltype(ic)::value];
        try {
          return column_from_fields<C>(f, p, o_);
        } catch (const std::invalid_argument& e) {
          throw input_error(file_, line, field_label(decltype(ic)::value), e.what());
        }
      };
      append_row(d_, get, std::make_index_sequence<S::column_count>{});
    } catch (const input_error& e) {
      errs_.skipped(e);
    }
  }

  dataset<S> finish() {
    errs_.finish(file_, d_.size());
    return std::move(d_);
  }

 private:
  void finish_positions() {
    needed_ = 0;
    has_rest_ = false;
    std::size_t i = 0;
    std::apply([&](auto... c) { ((has_rest_ |= takes_rest<decltype(c)>, needed_ = std::max(needed_, pos_[i++] + 1)), ...); },
               typename S::columns{});
  }
  std::string field_label(std::size_t col) const {
    std::string f = field_name_for(S::names[col], o_);
    return header_count_ ? f : f + " (field " + std::to_string(pos_[col] + 1) + ")";
  }
  void check_count(std::span<const std::string_view> f, std::size_t line) const {
    const bool strict = o_.extra_fields == extra_fields::error && !has_rest_;
    const std::size_t expect = header_count_ ? header_count_ : needed_;
    if (f.size() < needed_ || (strict && f.size() != expect))
      throw input_error(file_, line, "", "the row has " + std::to_string(f.size()) + " fields, expected " +
                                             std::to_string(strict ? expect : needed_) +
                                             (strict ? "" : " or more"));
  }

  const std::string& file_;
  const read_options& o_;
  row_errors errs_;
  dataset<S> d_;
  std::vector<std::size_t> pos_;
  std::size_t header_count_ = 0, needed_ = 0;
  bool has_rest_ = false;
  bool tsv_;
};

/// Plain tab-separated values: split on '\t' only, no quoting (as the files in shared/data).
template <Schema S>
dataset<S> parse_tsv_text(std::string_view text, const std::string& file, const read_options& o) {
  record_sink<S> sink(file, o, true);
  std::vector<std::string_view> fields;
  std::size_t line = 0, pos = 0;
  bool first = true;
  while (pos < text.size()) {
    ++line;
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view l = text.substr(pos, end - pos);
    pos = end + 1;
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (l.empty()) continue;
    fields.clear();
    for (std::size_t s = 0;;) {
      const std::size_t t = l.find('\t', s);
      fields.push_back(l.substr(s, t == std::string_view::npos ? std::string_view::npos : t - s));
      if (t == std::string_view::npos) break;
      s = t + 1;
    }
    if (first) {
      first = false;
      if (o.header) {
        sink.header(fields);
        continue;
      }
      sink.no_header();
    }
    sink.record(fields, line);
  }
  if (first) throw input_error(file, 0, "", "the file is empty");
  return sink.finish();
}

/// CSV as RFC 4180: quoted fields may hold delimiters, line breaks and doubled quotes.
template <Schema S>
dataset<S> parse_csv_text(std::string_view text, const std::string& file, const read_options& o) {
  record_sink<S> sink(file, o, false);
  std::vector<std::string> owned;
  std::vector<std::string_view> fields;
  std::size_t line = 1, pos = 0;
  bool first = true;
  const char delim = o.delimiter;
  while (pos < text.size()) {
    const std::size_t record_line = line;
    std::size_t nf = 0;
    bool record_done = false;
    // an empty physical line is not a record
    if (text[pos] == '\n' || (text[pos] == '\r' && pos + 1 < text.size() && text[pos + 1] == '\n')) {
      pos += text[pos] == '\r' ? 2 : 1;
      ++line;
      continue;
    }
    while (!record_done) {
      if (owned.size() <= nf) owned.emplace_back();
      std::string& f = owned[nf++];
      f.clear();
      if (pos < text.size() && text[pos] == '"') {
        ++pos;
        for (;;) {
          if (pos >= text.size())
            throw input_error(file, record_line, "", "unterminated quoted field (opened on this line)");
          const char c = text[pos++];
          if (c == '"') {
            if (pos < text.size() && text[pos] == '"') {
              f += '"';
              ++pos;
            } else {
              break;
            }
          } else {
            if (c == '\n') ++line;
            f += c;
          }
        }
        if (pos < text.size() && text[pos] != delim && text[pos] != '\n' && text[pos] != '\r')
          throw input_error(file, line, "", "unexpected character after a closing quote (a quote inside a field must be doubled: \"\")");
      } else {
        const std::size_t start = pos;
        while (pos < text.size() && text[pos] != delim && text[pos] != '\n' && text[pos] != '\r') {
          if (text[pos] == '"')
            throw input_error(file, line, "", "a quote inside an unquoted field (quote the field and double the quote)");
          ++pos;
        }
        f.assign(text.substr(start, pos - start));
      }
      if (pos >= text.size()) {
        record_done = true;
      } else if (text[pos] == delim) {
        ++pos;
      } else {  // end of record
        if (text[pos] == '\r') ++pos;
        if (pos < text.size() && text[pos] == '\n') ++pos;
        ++line;
        record_done = true;
      }
    }
    fields.assign(owned.begin(), owned.begin() + static_cast<std::ptrdiff_t>(nf));
    if (first) {
      first = false;
      if (o.header) {
        sink.header(fields);
        continue;
      }
      sink.no_header();
    }
    sink.record(fields, record_line);
  }
  if (first) throw input_error(file, 0, "", "the file is empty");
  return sink.finish();
}

}  // namespace detail

// ---- public entry points -------------------------------------------------------------------

/// JSON Lines: one JSON object per line (fields by name), or one array per line (by position).
template <Schema S>
[[nodiscard]] dataset<S> read_jsonl(const std::string& path, const read_options& o = {}) {
  auto f = detail::load_file(path);
  return detail::parse_jsonl_padded<S>(f.text, path, o);
}
/// JSON Lines from memory; `name` stands for the file name in messages.
template <Schema S>
[[nodiscard]] dataset<S> parse_jsonl(std::string_view content, const read_options& o = {}, const std::string& name = "<memory>") {
  simdjson::padded_string buf(content);
  std::string_view t(buf.data(), buf.size());
  if (t.starts_with("\xEF\xBB\xBF")) t.remove_prefix(3);
  return detail::parse_jsonl_padded<S>(t, name, o);
}

/// A JSON file holding an array of rows.
template <Schema S>
[[nodiscard]] dataset<S> read_json(const std::string& path, const read_options& o = {}) {
  auto f = detail::load_file(path);
  return detail::parse_json_array_padded<S>(f.text, path, o);
}
template <Schema S>
[[nodiscard]] dataset<S> parse_json(std::string_view content, const read_options& o = {}, const std::string& name = "<memory>") {
  simdjson::padded_string buf(content);
  return detail::parse_json_array_padded<S>(std::string_view(buf.data(), buf.size()), name, o);
}

/// CSV (RFC 4180 quoting; read_options::delimiter, ',' by default).
template <Schema S>
[[nodiscard]] dataset<S> read_csv(const std::string& path, const read_options& o = {}) {
  auto f = detail::load_file(path);
  return detail::parse_csv_text<S>(f.text, path, o);
}
template <Schema S>
[[nodiscard]] dataset<S> parse_csv(std::string_view content, const read_options& o = {}, const std::string& name = "<memory>") {
  if (content.starts_with("\xEF\xBB\xBF")) content.remove_prefix(3);
  return detail::parse_csv_text<S>(content, name, o);
}

/// TSV: split on tabs only, no quoting (sentences may contain quotes).
template <Schema S>
[[nodiscard]] dataset<S> read_tsv(const std::string& path, const read_options& o = {}) {
  auto f = detail::load_file(path);
  return detail::parse_tsv_text<S>(f.text, path, o);
}
template <Schema S>
[[nodiscard]] dataset<S> parse_tsv(std::string_view content, const read_options& o = {}, const std::string& name = "<memory>") {
  if (content.starts_with("\xEF\xBB\xBF")) content.remove_prefix(3);
  return detail::parse_tsv_text<S>(content, name, o);
}

/// The rows of an SQL query on an SQLite database. Result columns map to schema columns by
/// name (or read_options::positions); text-list and vector columns hold a JSON array as TEXT.
/// "line" in messages is the 1-based result row.
template <Schema S>
[[nodiscard]] dataset<S> read_sqlite(const std::string& db_path, const std::string& query, const read_options& o = {}) {
  detail::check_option_names<S>(db_path, o);
  detail::require_file(db_path);  // SQLite would say "unable to open database file"
  sqlite3* raw = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string msg = raw ? sqlite3_errmsg(raw) : "out of memory";
    sqlite3_close(raw);
    throw input_error(db_path, 0, "", "cannot open the SQLite database: " + msg);
  }
  std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db(raw, &sqlite3_close);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db.get(), query.c_str(), -1, &st, nullptr) != SQLITE_OK)
    throw input_error(db_path, 0, "", "the query failed: " + std::string(sqlite3_errmsg(db.get())));
  std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> stmt(st, &sqlite3_finalize);
  std::vector<std::string> names;
  for (int i = 0; i < sqlite3_column_count(st); ++i) names.emplace_back(sqlite3_column_name(st, i));
  const auto pos = detail::resolve_positions<S>(&names, db_path, o);
  dataset<S> d;
  d.set_source(db_path);
  detail::row_errors errs(o);
  simdjson::dom::parser parser;
  std::size_t row = 0;
  for (;;) {
    const int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) throw input_error(db_path, row + 1, "", "reading the query result failed: " + std::string(sqlite3_errmsg(db.get())));
    ++row;
    try {
      auto get = [&](auto ic) {
        using C = std::tuple_element_t<decltype(ic)::value, typename S::columns>;
        const int c = static_cast<int>(pos[decltype(ic)::value]);
        const std::string field = c < static_cast<int>(names.size()) ? names[static_cast<std::size_t>(c)] : "#" + std::to_string(c);
        if (c >= static_cast<int>(names.size())) throw input_error(db_path, row, field, "the query has no such result column");
        const int type = sqlite3_column_type(st, c);
        if (type == SQLITE_NULL) throw input_error(db_path, row, field, "NULL value");
        const auto* txt = reinterpret_cast<const char*>(sqlite3_column_text(st, c));
        const std::string_view sv(txt ? txt : "", static_cast<std::size_t>(sqlite3_column_bytes(st, c)));
        try {
          if constexpr (C::kind == column_kind::text) {
            if (type != SQLITE_TEXT) throw std::invalid_argument("expected TEXT");
            return detail::to_text(sv);
          } else if constexpr (C::kind == column_kind::score) {
            if (type == SQLITE_INTEGER || type == SQLITE_FLOAT) {
              const double v = sqlite3_column_double(st, c);
              if (!std::isfinite(v)) throw std::invalid_argument("a score must be finite");
              return static_cast<float>(v);
            }
            return detail::to_score(sv);
          } else if constexpr (C::kind == column_kind::class_label) {
            if (type == SQLITE_INTEGER) return static_cast<std::int64_t>(sqlite3_column_int64(st, c));
            if (type == SQLITE_FLOAT) throw std::invalid_argument("a class label must be an integer, got a REAL");
            return detail::to_class(sv, o.class_names);
          } else {
            simdjson::padded_string buf(sv);
            detail::json_element v;
            if (parser.parse(buf).get(v)) throw std::invalid_argument("expected a JSON array in TEXT");
            return detail::column_from_json<C>(v, o);
          }
        } catch (const std::invalid_argument& e) {
          throw input_error(db_path, row, field, e.what());
        }
      };
      detail::append_row(d, get, std::make_index_sequence<S::column_count>{});
    } catch (const input_error& e) {
      errs.skipped(e);
    }
  }
  errs.finish(db_path, d.size());
  return d;
}

}  // namespace sbert
