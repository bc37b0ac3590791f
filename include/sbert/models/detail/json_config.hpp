// SPDX-License-Identifier: Apache-2.0
// IWYU pragma: private, include <sbert/models/sentence_transformer.hpp>
// Reading the small JSON config files of a model folder (simdjson DOM), with errors that name
// the file and the field. Torch-free.
#pragma once
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include <simdjson.h>

#include <sbert/error.hpp>

namespace sbert::models::detail {

[[nodiscard]] inline std::string read_text_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw model_error(path + ": missing or unreadable");
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline void write_text_file(const std::string& path, std::string_view text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw model_error(path + ": cannot open for writing");
  f.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!f) throw model_error(path + ": write failed");
}

[[nodiscard]] inline std::string join_path(const std::string& dir, const std::string& rel) {
  if (rel.empty()) return dir;
  return (std::filesystem::path(dir) / rel).string();
}

/// A parsed JSON file; keeps its text (some files are written back unchanged).
class json_file {
 public:
  explicit json_file(std::string path) : path_(std::move(path)) {
    text_ = read_text_file(path_);
    padded_ = simdjson::padded_string(text_);
    if (auto err = parser_.parse(padded_).get(root_))
      throw model_error(path_ + ": not valid JSON: " + simdjson::error_message(err));
  }
  json_file(const json_file&) = delete;
  json_file& operator=(const json_file&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] const std::string& text() const { return text_; }
  [[nodiscard]] simdjson::dom::element root() const { return root_; }

  [[nodiscard]] simdjson::dom::object object() const {
    simdjson::dom::object o;
    if (root_.get_object().get(o)) throw model_error(path_ + ": expected a JSON object");
    return o;
  }

  [[nodiscard]] model_error error(std::string_view field, const std::string& what) const {
    return model_error(input_error::format(path_, 0, std::string(field), what));
  }

  /// A field of the top-level object, or nullopt when absent or null.
  [[nodiscard]] std::optional<simdjson::dom::element> find(std::string_view key) const {
    simdjson::dom::element e;
    if (object().at_key(key).get(e) || e.is_null()) return std::nullopt;
    return e;
  }

  [[nodiscard]] std::optional<std::int64_t> get_int(std::string_view key) const {
    auto e = find(key);
    if (!e) return std::nullopt;
    std::int64_t v;
    if (e->get_int64().get(v)) {
      double d;  // Python may write 512.0 for an int-valued float; accept exact integers only
      if (e->get_double().get(d) || d != static_cast<double>(static_cast<std::int64_t>(d)))
        throw error(key, "expected an integer");
      v = static_cast<std::int64_t>(d);
    }
    return v;
  }
  [[nodiscard]] std::int64_t require_int(std::string_view key) const {
    auto v = get_int(key);
    if (!v) throw error(key, "missing");
    return *v;
  }
  [[nodiscard]] std::optional<double> get_double(std::string_view key) const {
    auto e = find(key);
    if (!e) return std::nullopt;
    double v;
    if (e->get_double().get(v)) throw error(key, "expected a number");
    return v;
  }
  [[nodiscard]] std::optional<bool> get_bool(std::string_view key) const {
    auto e = find(key);
    if (!e) return std::nullopt;
    bool v;
    if (e->get_bool().get(v)) throw error(key, "expected true or false");
    return v;
  }
  [[nodiscard]] std::optional<std::string> get_string(std::string_view key) const {
    auto e = find(key);
    if (!e) return std::nullopt;
    std::string_view v;
    if (e->get_string().get(v)) throw error(key, "expected a string");
    return std::string(v);
  }

  /// Assigns the field to `dst` when present (config fields keep their defaults otherwise).
  void read(std::string_view key, std::int64_t& dst) const { if (auto v = get_int(key)) dst = *v; }
  void read(std::string_view key, double& dst) const { if (auto v = get_double(key)) dst = *v; }
  void read(std::string_view key, bool& dst) const { if (auto v = get_bool(key)) dst = *v; }
  void read(std::string_view key, std::string& dst) const { if (auto v = get_string(key)) dst = *v; }

 private:
  std::string path_;
  std::string text_;
  simdjson::padded_string padded_;
  simdjson::dom::parser parser_;
  simdjson::dom::element root_;
};

}  // namespace sbert::models::detail
