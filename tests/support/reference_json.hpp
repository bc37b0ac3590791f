// Reading shared/reference/*.json in torch tests: nested JSON lists -> tensors.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <simdjson.h>

#include <ATen/core/Tensor.h>
#include <ATen/ops/from_blob.h>

namespace sbert::test {

/// A nested list of numbers (any depth; scalars give a 0-d tensor) as a tensor of `type`.
/// Values are parsed as double and cast, which gives the exact float32 the reference wrote.
inline at::Tensor json_tensor(simdjson::dom::element e, at::ScalarType type = at::kFloat) {
  std::vector<double> values;
  std::vector<std::int64_t> shape;
  auto walk = [&](auto&& self, simdjson::dom::element x, std::size_t depth) -> void {
    if (x.is_array()) {
      auto arr = x.get_array().value_unsafe();
      const auto n = static_cast<std::int64_t>(arr.size());
      if (shape.size() <= depth) shape.push_back(n);
      else if (shape[depth] != n) throw std::runtime_error("ragged JSON tensor");
      for (auto c : arr) self(self, c, depth + 1);
    } else {
      double d = 0;
      if (x.is_int64()) d = static_cast<double>(x.get_int64().value_unsafe());
      else if (x.get_double().get(d)) throw std::runtime_error("non-numeric value in a JSON tensor");
      values.push_back(d);
    }
  };
  walk(walk, e, 0);
  return at::from_blob(values.data(), shape, at::kDouble).to(type).clone();
}

/// Loads a reference JSON file (kept alive by the returned parser).
struct json_file {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  explicit json_file(const std::string& path) {
    if (parser.load(path).get(root)) throw std::runtime_error("cannot read " + path);
  }
};

}  // namespace sbert::test
