// SPDX-License-Identifier: Apache-2.0
// IWYU pragma: private, include <sbert/data/arrow_writer.hpp>
// The Hugging Face `datasets` Features of a schema, as its JSON (dataset_info.json's
// "features", and the "huggingface" metadata key that datasets puts in Arrow and Parquet
// schemas), so that Python reads written files with the column types they were written with.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>

#include <sbert/data/column.hpp>
#include <sbert/io/json_writer.hpp>

namespace sbert::detail {

inline json::value hf_value(const char* dtype) {
  return json::value::make_object().set("dtype", dtype).set("_type", "Value");
}
inline json::value hf_sequence(json::value inner) {
  // "Sequence" (not datasets 4's "List"): every datasets version reads it
  return json::value::make_object().set("feature", std::move(inner)).set("_type", "Sequence");
}

inline json::value hf_feature(column_kind k, bool float64_scores) {
  switch (k) {
    case column_kind::text: return hf_value("string");
    case column_kind::text_list: return hf_sequence(hf_value("string"));
    case column_kind::score: return hf_value(float64_scores ? "float64" : "float32");
    case column_kind::class_label: return hf_value("int64");
    case column_kind::vector: return hf_sequence(hf_value("float32"));
  }
  return {};
}

/// {"name": feature, ...} in schema order.
template <class S>
json::value hf_features(bool float64_scores) {
  auto out = json::value::make_object();
  std::apply([&](auto... c) { (out.set(std::string(decltype(c)::name), hf_feature(decltype(c)::kind, float64_scores)), ...); },
             typename S::columns{});
  return out;
}

/// The schema-metadata value datasets writes under the key "huggingface".
template <class S>
std::string hf_schema_metadata(bool float64_scores) {
  return json::dump(json::value::make_object().set("info", json::value::make_object().set("features", hf_features<S>(float64_scores))));
}

/// FNV-1a, as hex: a stable stand-in for datasets' random `_fingerprint`.
inline std::string fingerprint_hex(std::string_view bytes, std::uint64_t h = 14695981039346656037ull) {
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
  static constexpr char hex[] = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) s[static_cast<std::size_t>(i)] = hex[h & 15];
  return s;
}

}  // namespace sbert::detail
