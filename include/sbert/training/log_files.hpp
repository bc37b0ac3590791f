// SPDX-License-Identifier: Apache-2.0
// Callbacks writing the trainer's log records to a file of the user's choosing: CSV (one row
// per record, one column per key) and JSON Lines. Torch-free.
#pragma once
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <sbert/error.hpp>
#include <sbert/io/json_writer.hpp>
#include <sbert/training/callbacks.hpp>

namespace sbert {

namespace detail {
inline bool is_integral_key(const std::string& k) { return k == "step" || k == "global_step"; }

/// A record as one JSON object; step counters as integers, as trainer_state.json has them.
[[nodiscard]] inline std::string log_record_json(const log_record& r) {
  json::value o = json::value::make_object();
  for (const auto& [k, v] : r) {
    if (is_integral_key(k) && std::isfinite(v)) o.set(k, static_cast<std::int64_t>(v));
    else o.set(k, v);
  }
  return json::dump(o);
}

/// RFC 4180 quoting, only where needed.
[[nodiscard]] inline std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

[[nodiscard]] inline std::string csv_number(const std::string& k, double v) {
  if (is_integral_key(k) && std::isfinite(v)) return std::to_string(static_cast<std::int64_t>(v));
  return json::python_float(v);  // shortest round-trip digits; nan/inf as Python prints them
}

inline void ensure_parent(const std::string& path) {
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
}
}  // namespace detail

/// Appends each log record to `path` as one JSON object per line (the format of the trainer's
/// own trainer_log.jsonl). The file is truncated when the callback is created.
[[nodiscard]] inline callback jsonl_logger_callback(std::string path) {
  detail::ensure_parent(path);
  if (!std::ofstream(path, std::ios::trunc)) throw error("jsonl logger: cannot create " + path);
  callback c;
  c.on_log = [path = std::move(path)](train_state&, const log_record& r) {
    std::ofstream f(path, std::ios::app);
    f << detail::log_record_json(r) << '\n';
    if (!f) throw error("jsonl logger: writing " + path + " failed");
  };
  return c;
}

/// Writes the log to `path` as CSV: a header with every key seen so far (first-seen order), one
/// row per record, empty cells for keys a record lacks (train rows have no eval_* values and the
/// other way round). Rows are appended; when a record brings a new key the file is rewritten
/// with the wider header (under a temporary name, then renamed, so a reader never sees half a file).
[[nodiscard]] inline callback csv_logger_callback(std::string path) {
  struct state_t {
    std::string path;
    std::vector<std::string> columns;
    std::vector<log_record> rows;
  };
  detail::ensure_parent(path);
  if (!std::ofstream(path, std::ios::trunc)) throw error("csv logger: cannot create " + path);
  auto st = std::make_shared<state_t>(state_t{std::move(path), {}, {}});
  auto row_text = [](const std::vector<std::string>& cols, const log_record& r) {
    std::string line;
    for (std::size_t i = 0; i < cols.size(); ++i) {
      if (i) line += ',';
      if (auto v = find_value(r, cols[i])) line += detail::csv_number(cols[i], *v);
    }
    return line + '\n';
  };
  callback c;
  c.on_log = [st, row_text](train_state&, const log_record& r) {
    bool widened = false;
    for (const auto& [k, v] : r) {
      bool known = false;
      for (const auto& col : st->columns) known = known || col == k;
      if (!known) {
        st->columns.push_back(k);
        widened = true;
      }
    }
    st->rows.push_back(r);
    if (widened) {
      const std::string tmp = st->path + ".tmp";
      {
        std::ofstream f(tmp, std::ios::trunc);
        for (std::size_t i = 0; i < st->columns.size(); ++i) f << (i ? "," : "") << detail::csv_field(st->columns[i]);
        f << '\n';
        for (const auto& row : st->rows) f << row_text(st->columns, row);
        if (!f) throw error("csv logger: writing " + tmp + " failed");
      }
      std::filesystem::rename(tmp, st->path);
    } else {
      std::ofstream f(st->path, std::ios::app);
      f << row_text(st->columns, r);
      if (!f) throw error("csv logger: writing " + st->path + " failed");
    }
  };
  return c;
}

}  // namespace sbert
