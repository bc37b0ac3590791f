// SPDX-License-Identifier: Apache-2.0
// Dense: activation(W x + b) on the sentence embedding (sentence_transformers.models.Dense).
// Saved as config.json + model.safetensors with tensors linear.weight [out, in], linear.bias.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

#include <ATen/core/Tensor.h>
#include <torch/nn/init.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include <sbert/error.hpp>
#include <sbert/io/json_writer.hpp>
#include <sbert/io/safetensors_torch.hpp>
#include <sbert/models/detail/json_config.hpp>
#include <sbert/models/module.hpp>

namespace sbert::models {

class dense : public module {
 public:
  struct options {
    std::int64_t in_features = 0;
    std::int64_t out_features = 0;
    bool bias = true;
    /// Python's class path: torch.nn.modules.activation.Tanh (the default), ...Identity,
    /// ...ReLU, ...GELU, ...Sigmoid.
    std::string activation_function = "torch.nn.modules.activation.Tanh";
  };

  explicit dense(options o) : o_(std::move(o)) {
    if (o_.in_features <= 0 || o_.out_features <= 0)
      throw model_error("dense: in_features and out_features must be positive");
    check_activation(o_.activation_function, "dense");
    linear = register_module("linear", torch::nn::Linear(
        torch::nn::LinearOptions(o_.in_features, o_.out_features).bias(o_.bias)));
  }

  [[nodiscard]] static std::shared_ptr<dense> load(const std::string& dir) {
    detail::json_file f(detail::join_path(dir, "config.json"));
    options o;
    o.in_features = f.get_int("in_features").value_or(0);
    o.out_features = f.get_int("out_features").value_or(0);
    if (o.in_features <= 0) throw f.error("in_features", "missing or not positive");
    if (o.out_features <= 0) throw f.error("out_features", "missing or not positive");
    o.bias = f.get_bool("bias").value_or(true);
    if (auto a = f.get_string("activation_function")) o.activation_function = *a;
    check_activation(o.activation_function, f.path());
    if (auto r = f.get_bool("use_residual"); r && *r)
      throw f.error("use_residual", "residual Dense layers are not supported");
    auto d = std::make_shared<dense>(o);
    const auto w = detail::join_path(dir, "model.safetensors");
    if (!std::filesystem::exists(w)) {
      if (std::filesystem::exists(detail::join_path(dir, "pytorch_model.bin")))
        throw model_error(w + ": missing; only pytorch_model.bin (pickle) is present, which sbert never loads");
      throw model_error(w + ": missing");
    }
    safetensors::load_into(*d, safetensors::reader::open(w));
    return d;
  }

  void forward(features& f) override {
    auto y = linear->forward(f.sentence_embedding);
    const auto& a = o_.activation_function;
    if (a.ends_with(".Tanh")) y = at::tanh(y);
    else if (a.ends_with(".ReLU")) y = at::relu(y);
    else if (a.ends_with(".GELU")) y = at::gelu(y);
    else if (a.ends_with(".Sigmoid")) y = at::sigmoid(y);
    f.sentence_embedding = y;
  }

  [[nodiscard]] std::string type_name() const override { return "sentence_transformers.models.Dense"; }
  [[nodiscard]] std::string class_name() const override { return "Dense"; }
  [[nodiscard]] std::optional<std::int64_t> embedding_dimension() const override { return o_.out_features; }

  [[nodiscard]] std::string config_json() const {
    json::value v = json::value::make_object();
    v.set("in_features", o_.in_features)
        .set("out_features", o_.out_features)
        .set("bias", o_.bias)
        .set("activation_function", o_.activation_function);
    return json::dump(v, {.indent = 4});  // Python: json.dump(..., indent=4)
  }
  void save(const std::string& dir) const override {
    detail::write_text_file(detail::join_path(dir, "config.json"), config_json());
    safetensors::save_file(detail::join_path(dir, "model.safetensors"), safetensors::state_dict(*this));
  }

  [[nodiscard]] const options& config() const { return o_; }
  torch::nn::Linear linear{nullptr};

 private:
  static void check_activation(const std::string& a, const std::string& where) {
    for (const char* ok : {".Tanh", ".Identity", ".ReLU", ".GELU", ".Sigmoid"})
      if (a.ends_with(ok)) return;
    throw model_error(input_error::format(where, 0, "activation_function",
                                          "'" + a + "' is not supported (Tanh, Identity, ReLU, GELU, Sigmoid)"));
  }
  options o_;
};

}  // namespace sbert::models
