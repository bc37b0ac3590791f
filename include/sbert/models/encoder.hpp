// SPDX-License-Identifier: Apache-2.0
// The interface of a Hugging Face transformer encoder (BERT, ...) as sbert's Transformer module
// uses it: token ids in, last hidden state out; weights by HF parameter names; config.json out.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <sbert/io/safetensors.hpp>

namespace sbert::models {

class encoder : public torch::nn::Module {
 public:
  ~encoder() override = default;

  /// input_ids, attention_mask: [batch, seq] int64; token_type_ids may be undefined (zeros).
  /// Returns the last hidden state [batch, seq, hidden]. When `hidden_states` is given it
  /// receives the embedding output and every layer's output (HF's output_hidden_states).
  virtual at::Tensor forward(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                             const at::Tensor& token_type_ids,
                             std::vector<at::Tensor>* hidden_states = nullptr) = 0;

  [[nodiscard]] virtual std::int64_t hidden_size() const = 0;
  [[nodiscard]] virtual std::int64_t max_position_embeddings() const = 0;
  [[nodiscard]] virtual std::string model_type() const = 0;
  /// The text of config.json (the file read at load time when the config is unchanged).
  [[nodiscard]] virtual std::string config_json() const = 0;
  /// Copies weights from a checkpoint by their HF names.
  virtual void load_weights(const safetensors::reader& r) = 0;
};

}  // namespace sbert::models
