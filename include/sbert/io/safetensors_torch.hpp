// SPDX-License-Identifier: Apache-2.0
// libtorch on top of io/safetensors.hpp: tensors from validated byte ranges, state dicts to
// files, and loading a module's parameters by name with shape checks.
#pragma once
#include <cstring>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/core/ScalarType.h>
#include <torch/nn/module.h>

#include <sbert/error.hpp>
#include <sbert/io/safetensors.hpp>

namespace sbert::safetensors {

[[nodiscard]] inline c10::ScalarType to_scalar_type(dtype t, const std::string& where = {}) {
  switch (t) {
    case dtype::BOOL: return c10::ScalarType::Bool;
    case dtype::U8: return c10::ScalarType::Byte;
    case dtype::I8: return c10::ScalarType::Char;
    case dtype::I16: return c10::ScalarType::Short;
    case dtype::I32: return c10::ScalarType::Int;
    case dtype::I64: return c10::ScalarType::Long;
    case dtype::F16: return c10::ScalarType::Half;
    case dtype::BF16: return c10::ScalarType::BFloat16;
    case dtype::F32: return c10::ScalarType::Float;
    case dtype::F64: return c10::ScalarType::Double;
    case dtype::C64: return c10::ScalarType::ComplexFloat;
    default:
      throw model_error(where + (where.empty() ? "" : ": ") + "dtype " + std::string(name_of(t)) +
                        " has no libtorch equivalent in this version");
  }
}

[[nodiscard]] inline dtype from_scalar_type(c10::ScalarType s) {
  switch (s) {
    case c10::ScalarType::Bool: return dtype::BOOL;
    case c10::ScalarType::Byte: return dtype::U8;
    case c10::ScalarType::Char: return dtype::I8;
    case c10::ScalarType::Short: return dtype::I16;
    case c10::ScalarType::Int: return dtype::I32;
    case c10::ScalarType::Long: return dtype::I64;
    case c10::ScalarType::Half: return dtype::F16;
    case c10::ScalarType::BFloat16: return dtype::BF16;
    case c10::ScalarType::Float: return dtype::F32;
    case c10::ScalarType::Double: return dtype::F64;
    case c10::ScalarType::ComplexFloat: return dtype::C64;
    default:
      throw model_error(std::string("safetensors: cannot store tensors of type ") +
                        c10::toString(s));
  }
}

/// A CPU tensor holding a copy of `t`'s bytes (the copy lets the file be unmapped).
[[nodiscard]] inline at::Tensor to_tensor(const reader& r, const tensor_info& t) {
  auto out = at::empty(t.shape, at::TensorOptions().dtype(to_scalar_type(t.type, r.path() + ": tensor '" + t.name + "'")));
  const auto bytes = r.data(t);
  if (!bytes.empty()) std::memcpy(out.data_ptr(), bytes.data(), bytes.size());
  return out;
}

/// Every tensor of the file, in header order.
[[nodiscard]] inline std::vector<std::pair<std::string, at::Tensor>> load_file(const std::string& path) {
  auto r = reader::open(path);
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& t : r.tensors()) out.emplace_back(t.name, to_tensor(r, t));
  return out;
}

/// Writes named tensors (any device; copied to contiguous CPU memory first).
inline void save_file(const std::string& path,
                      const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                      const std::vector<std::pair<std::string, std::string>>& metadata = {
                          {"format", "pt"}}) {
  std::vector<at::Tensor> keep;
  std::vector<tensor_ref> refs;
  keep.reserve(tensors.size());
  for (const auto& [name, t] : tensors) {
    keep.push_back(t.detach().to(at::kCPU).contiguous());
    const auto& c = keep.back();
    tensor_ref ref;
    ref.name = name;
    ref.type = from_scalar_type(c.scalar_type());
    ref.shape.assign(c.sizes().begin(), c.sizes().end());
    ref.data = {static_cast<const std::byte*>(c.data_ptr()), c.nbytes()};
    refs.push_back(std::move(ref));
  }
  save_file(path, std::move(refs), metadata);
}

/// Parameters and buffers of `m` by their full dotted names (the state dict).
[[nodiscard]] inline std::vector<std::pair<std::string, at::Tensor>> state_dict(
    const torch::nn::Module& m) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& p : m.named_parameters(true)) out.emplace_back(p.key(), p.value());
  for (const auto& b : m.named_buffers(true)) out.emplace_back(b.key(), b.value());
  return out;
}

struct load_options {
  std::string prefix;                    // prepended to the module's names when looking up
  std::vector<std::string> optional;     // module names that may be absent from the file
  bool allow_unused = true;              // file tensors the module does not have are ignored
};

/// Copies every parameter and buffer of `m` from the file (converting dtype, keeping the
/// module's device). A missing tensor or a shape mismatch is a model_error naming both.
inline void load_into(torch::nn::Module& m, const reader& r, const load_options& o = {}) {
  std::unordered_set<std::string> used;
  auto assign = [&](const std::string& name, at::Tensor& dst) {
    const std::string key = o.prefix + name;
    const auto* info = r.find(key);
    if (!info) {
      for (const auto& opt : o.optional)
        if (opt == name) return;
      throw model_error(r.path() + ": tensor '" + key + "' not found (the model needs it)");
    }
    used.insert(key);
    auto src = to_tensor(r, *info);
    if (src.sizes() != dst.sizes()) {
      std::string want, got;
      for (auto d : dst.sizes()) want += (want.empty() ? "" : ",") + std::to_string(d);
      for (auto d : src.sizes()) got += (got.empty() ? "" : ",") + std::to_string(d);
      throw model_error(r.path() + ": tensor '" + key + "' has shape [" + got +
                        "] but the model expects [" + want + "] (config.json mismatch?)");
    }
    at::NoGradGuard ng;
    dst.copy_(src);
  };
  for (auto& p : m.named_parameters(true)) assign(p.key(), p.value());
  for (auto& b : m.named_buffers(true)) assign(b.key(), b.value());
  if (!o.allow_unused) {
    for (const auto& t : r.tensors())
      if (!used.count(t.name))
        throw model_error(r.path() + ": tensor '" + t.name + "' is not used by the model");
  }
}

}  // namespace sbert::safetensors
