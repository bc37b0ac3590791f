// SPDX-License-Identifier: Apache-2.0
// What flows between the modules of a sentence_transformer (Python's `features` dict) and the
// base class every module (transformer, pooling, dense, normalize) derives from.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

namespace sbert::models {

/// A tokenized batch going in, embeddings coming out. Tensors are [batch, seq] (ids, masks),
/// [batch, seq, hidden] (token_embeddings) and [batch, dim] (sentence_embedding).
struct features {
  at::Tensor input_ids;
  at::Tensor attention_mask;
  at::Tensor token_type_ids;             // undefined: all zeros
  std::optional<std::int64_t> prompt_length;  // tokens of the prompt prefix (include_prompt)

  at::Tensor token_embeddings;           // set by the transformer
  at::Tensor sentence_embedding;         // set by pooling, then dense/normalize
  bool output_hidden_states = false;     // ask the encoder for every layer's output
  std::vector<at::Tensor> all_layer_embeddings;  // embeddings output + one per layer
};

/// A sentence-transformers module: it reads and extends `features`, and saves itself into a
/// folder that the Python library (and sbert) loads.
class module : public torch::nn::Module {
 public:
  using torch::nn::Module::Module;
  ~module() override = default;

  /// Runs the module on the batch in place.
  virtual void forward(features& f) = 0;
  /// The `type` written to modules.json (the legacy 5.2 names every version loads).
  [[nodiscard]] virtual std::string type_name() const = 0;
  /// The folder suffix in "{idx}_{ClassName}".
  [[nodiscard]] virtual std::string class_name() const = 0;
  /// Transformer saves into the model's root folder, as in Python.
  [[nodiscard]] virtual bool save_in_root() const { return false; }
  /// Writes the module's files into `dir` (which exists).
  virtual void save(const std::string& dir) const = 0;
  /// Output dimension of the sentence embedding after this module, when it defines one.
  [[nodiscard]] virtual std::optional<std::int64_t> embedding_dimension() const { return std::nullopt; }
};

}  // namespace sbert::models
