// SPDX-License-Identifier: Apache-2.0
// Pooling: token embeddings -> one sentence embedding (sentence_transformers.models.Pooling).
// Several modes may be active; their outputs are concatenated in Python's fixed order
// cls, max, mean, mean_sqrt_len_tokens, weightedmean, lasttoken.
#pragma once
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <sbert/error.hpp>
#include <sbert/io/json_writer.hpp>
#include <sbert/models/detail/json_config.hpp>
#include <sbert/models/module.hpp>

namespace sbert::models {

class pooling : public module {
 public:
  struct options {
    std::int64_t word_embedding_dimension = 0;
    bool cls_token = false;
    bool mean_tokens = true;
    bool max_tokens = false;
    bool mean_sqrt_len_tokens = false;
    bool weightedmean_tokens = false;
    bool lasttoken = false;
    bool include_prompt = true;
    bool operator==(const options&) const = default;
  };

  static constexpr std::string_view mode_names[] = {"cls", "max", "mean", "mean_sqrt_len_tokens",
                                                    "weightedmean", "lasttoken"};

  explicit pooling(options o) : o_(o) {
    if (o_.word_embedding_dimension <= 0)
      throw model_error("pooling: word_embedding_dimension must be positive");
    if (!(o_.cls_token || o_.mean_tokens || o_.max_tokens || o_.mean_sqrt_len_tokens ||
          o_.weightedmean_tokens || o_.lasttoken))
      throw model_error("pooling: no pooling mode is enabled");
  }

  /// One mode by name ("mean", "cls", "max", "mean_sqrt_len_tokens", "weightedmean", "lasttoken").
  [[nodiscard]] static options mode(std::int64_t dim, std::string_view name) {
    options o;
    o.word_embedding_dimension = dim;
    o.mean_tokens = false;
    if (!set_mode(o, name))
      throw model_error("pooling: unknown pooling mode '" + std::string(name) +
                        "' (cls, max, mean, mean_sqrt_len_tokens, weightedmean, lasttoken)");
    return o;
  }

  /// Reads `dir`/config.json: the legacy boolean keys (<= 5.3) or the 5.4+ form
  /// {"embedding_dimension", "pooling_mode": name | [names], "include_prompt"}.
  [[nodiscard]] static std::shared_ptr<pooling> load(const std::string& dir) {
    detail::json_file f(detail::join_path(dir, "config.json"));
    options o;
    o.mean_tokens = false;
    if (auto d = f.get_int("word_embedding_dimension")) o.word_embedding_dimension = *d;
    else if (auto e = f.get_int("embedding_dimension")) o.word_embedding_dimension = *e;
    else throw f.error("word_embedding_dimension", "missing");
    if (auto pm = f.find("pooling_mode")) {
      std::string_view s;
      simdjson::dom::array arr;
      if (!pm->get_string().get(s)) {
        if (!set_mode(o, s)) throw f.error("pooling_mode", "unknown mode '" + std::string(s) + "'");
      } else if (!pm->get_array().get(arr)) {
        for (auto m : arr) {
          if (m.get_string().get(s)) throw f.error("pooling_mode", "expected mode names");
          if (!set_mode(o, s)) throw f.error("pooling_mode", "unknown mode '" + std::string(s) + "'");
        }
      } else {
        throw f.error("pooling_mode", "expected a mode name or a list of names");
      }
    }
    auto flag = [&](const char* key, bool& dst) { if (auto b = f.get_bool(key)) dst = dst || *b; };
    flag("pooling_mode_cls_token", o.cls_token);
    flag("pooling_mode_mean_tokens", o.mean_tokens);
    flag("pooling_mode_max_tokens", o.max_tokens);
    flag("pooling_mode_mean_sqrt_len_tokens", o.mean_sqrt_len_tokens);
    flag("pooling_mode_weightedmean_tokens", o.weightedmean_tokens);
    flag("pooling_mode_lasttoken", o.lasttoken);
    if (auto b = f.get_bool("include_prompt")) o.include_prompt = *b;
    if (!(o.cls_token || o.mean_tokens || o.max_tokens || o.mean_sqrt_len_tokens ||
          o.weightedmean_tokens || o.lasttoken))
      throw f.error("pooling_mode", "no pooling mode is enabled");
    return std::make_shared<pooling>(o);
  }

  void forward(features& f) override {
    const auto& h = f.token_embeddings;
    if (!h.defined()) throw model_error("pooling: features have no token_embeddings");
    if (h.size(-1) != o_.word_embedding_dimension)
      throw model_error("pooling: token embeddings have dimension " + std::to_string(h.size(-1)) +
                        " but the pooling config says " + std::to_string(o_.word_embedding_dimension));
    auto mask = f.attention_mask.defined() ? f.attention_mask : at::ones({h.size(0), h.size(1)}, f.input_ids.options().dtype(at::kLong).device(h.device()));
    if (!o_.include_prompt && f.prompt_length && *f.prompt_length > 0) {
      mask = mask.clone();
      mask.narrow(1, 0, std::min<std::int64_t>(*f.prompt_length, mask.size(1))).zero_();
    }
    const auto m = mask.unsqueeze(-1).expand(h.sizes()).to(h.scalar_type());
    std::vector<at::Tensor> out;
    if (o_.cls_token) out.push_back(h.select(1, 0));
    if (o_.max_tokens) out.push_back(std::get<0>(h.masked_fill(m == 0, -1e9).max(1)));
    if (o_.mean_tokens || o_.mean_sqrt_len_tokens) {
      const auto sum = (h * m).sum(1);
      const auto count = m.sum(1).clamp_min(1e-9);
      if (o_.mean_tokens) out.push_back(sum / count);
      if (o_.mean_sqrt_len_tokens) out.push_back(sum / at::sqrt(count));
    }
    if (o_.weightedmean_tokens) {
      const auto l = h.size(1);
      auto w = at::arange(1, l + 1, h.options()).unsqueeze(0).unsqueeze(-1).expand(h.sizes());
      const auto wm = m * w;
      out.push_back((h * wm).sum(1) / wm.sum(1).clamp_min(1e-9));
    }
    if (o_.lasttoken) {
      // The last attended position, from the flipped mask's argmax; handles left padding too.
      const auto l = h.size(1);
      auto [values, idx] = mask.flip({1}).max(1);
      idx = at::where(values == 0, at::full_like(idx, l - 1), idx);
      auto gather = (l - idx - 1).unsqueeze(-1).unsqueeze(1).expand({h.size(0), 1, h.size(2)});
      out.push_back(at::gather(h * m, 1, gather).squeeze(1));
    }
    f.sentence_embedding = out.size() == 1 ? out[0] : at::cat(out, 1);
  }

  [[nodiscard]] std::string type_name() const override { return "sentence_transformers.models.Pooling"; }
  [[nodiscard]] std::string class_name() const override { return "Pooling"; }
  [[nodiscard]] std::optional<std::int64_t> embedding_dimension() const override {
    const int n = o_.cls_token + o_.max_tokens + o_.mean_tokens + o_.mean_sqrt_len_tokens +
                  o_.weightedmean_tokens + o_.lasttoken;
    return n * o_.word_embedding_dimension;
  }

  /// config.json with the 5.2 keys, json.dump(indent=4), as every Python version loads.
  [[nodiscard]] std::string config_json() const {
    json::value v = json::value::make_object();
    v.set("word_embedding_dimension", o_.word_embedding_dimension)
        .set("pooling_mode_cls_token", o_.cls_token)
        .set("pooling_mode_mean_tokens", o_.mean_tokens)
        .set("pooling_mode_max_tokens", o_.max_tokens)
        .set("pooling_mode_mean_sqrt_len_tokens", o_.mean_sqrt_len_tokens)
        .set("pooling_mode_weightedmean_tokens", o_.weightedmean_tokens)
        .set("pooling_mode_lasttoken", o_.lasttoken)
        .set("include_prompt", o_.include_prompt);
    return json::dump(v, {.indent = 4});
  }
  void save(const std::string& dir) const override {
    detail::write_text_file(detail::join_path(dir, "config.json"), config_json());
  }

  [[nodiscard]] const options& config() const { return o_; }

 private:
  static bool set_mode(options& o, std::string_view name) {
    if (name == "cls") o.cls_token = true;
    else if (name == "mean") o.mean_tokens = true;
    else if (name == "max") o.max_tokens = true;
    else if (name == "mean_sqrt_len_tokens") o.mean_sqrt_len_tokens = true;
    else if (name == "weightedmean") o.weightedmean_tokens = true;
    else if (name == "lasttoken") o.lasttoken = true;
    else return false;
    return true;
  }

  options o_;
};

}  // namespace sbert::models
