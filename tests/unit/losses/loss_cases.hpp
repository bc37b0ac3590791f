// The embedding cases of shared/reference/losses.json as tensors (shared by the catalog tests).
#pragma once
#include <string>
#include <vector>

#include <ATen/ops/allclose.h>

#include "reference_json.hpp"

namespace sbert::test {

struct embedding_case {
  std::string id;
  std::vector<at::Tensor> inputs;  // leaves with requires_grad
  at::Tensor labels;               // undefined when the case has none
  double loss = 0;
  std::vector<at::Tensor> grads;
  simdjson::dom::element raw;
};

inline std::vector<embedding_case> embedding_cases(json_file& f) {
  std::vector<embedding_case> out;
  for (auto c : f.root["embedding_cases"]["cases"].get_array()) {
    embedding_case lc;
    lc.id = std::string(std::string_view(c["id"].get_string()));
    for (auto t : c["inputs"].get_array()) lc.inputs.push_back(json_tensor(t).set_requires_grad(true));
    if (!c["labels"].is_null()) {
      const std::string_view dt = c["labels_dtype"].get_string();
      lc.labels = json_tensor(c["labels"], dt == "int64" ? at::kLong : at::kFloat);
    }
    lc.loss = c["loss"].get_double();
    for (auto g : c["grads"].get_array()) lc.grads.push_back(json_tensor(g));
    lc.raw = c;
    out.push_back(std::move(lc));
  }
  return out;
}

}  // namespace sbert::test
