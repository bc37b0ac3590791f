// SPDX-License-Identifier: Apache-2.0
// Transformer: tokenizer + HF encoder -> token embeddings (sentence_transformers.models.
// Transformer). Saved in the model's root folder: config.json, model.safetensors, the
// tokenizer's files and sentence_bert_config.json.
#pragma once
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <ATen/ops/from_blob.h>
#include <torch/nn/module.h>

#include <sbert/error.hpp>
#include <sbert/io/json_writer.hpp>
#include <sbert/io/safetensors_torch.hpp>
#include <sbert/models/bert.hpp>
#include <sbert/models/detail/json_config.hpp>
#include <sbert/models/encoder.hpp>
#include <sbert/models/load_encoder.hpp>
#include <sbert/models/module.hpp>
#include <sbert/models/tokenizers/sentencepiece.hpp>
#include <sbert/models/tokenizers/tokenizer.hpp>
#include <sbert/models/tokenizers/wordpiece.hpp>

namespace sbert::models {

/// The tokenizer of a HF model folder: SentencePiece (a .model file, or a tokenizer.json with a
/// Unigram model: XLM-RoBERTa) or WordPiece (tokenizer.json or vocab.txt: BERT).
[[nodiscard]] inline std::shared_ptr<const tokenizer> load_tokenizer(const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path d(dir);
  bool spm = fs::exists(d / "sentencepiece.bpe.model") || fs::exists(d / "spiece.model") ||
             fs::exists(d / "tokenizer.model");
  if (!spm && fs::exists(d / "tokenizer.json"))
    spm = detail::read_text_file((d / "tokenizer.json").string()).find("\"Unigram\"") != std::string::npos;
  if (spm) return std::make_shared<sentencepiece_tokenizer>(sentencepiece_tokenizer::load(dir));
  if (fs::exists(d / "tokenizer.json") || fs::exists(d / "vocab.txt"))
    return std::make_shared<wordpiece_tokenizer>(load_wordpiece(dir));
  if (fs::exists(d / "merges.txt"))
    throw model_error(dir + ": byte-level BPE tokenizers (RoBERTa, GPT-2: vocab.json + merges.txt) are not supported");
  throw model_error(dir + ": no tokenizer files (tokenizer.json, vocab.txt or a SentencePiece .model)");
}

namespace detail {
/// Python's str.strip() for the whitespace that occurs in text data.
inline std::string_view strip(std::string_view s) {
  constexpr std::string_view ws = " \t\n\r\v\f\x1c\x1d\x1e\x1f";
  const auto b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}
inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}
inline at::Tensor to_tensor(const std::vector<std::int64_t>& v, std::int64_t b, std::int64_t l) {
  return at::from_blob(const_cast<std::int64_t*>(v.data()), {b, l}, at::kLong).clone();
}
}  // namespace detail

struct transformer_options {
  std::int64_t max_seq_length = 0;  // 0: min(max_position_embeddings, tokenizer model_max_length)
  bool do_lower_case = false;       // lowercase before the tokenizer (which may lowercase too)
};

class transformer : public module {
 public:
  using options = transformer_options;

  transformer(std::shared_ptr<encoder> enc, std::shared_ptr<const tokenizer> tok, options o = {})
      : tokenizer_(std::move(tok)), o_(o) {
    auto_model = register_module("auto_model", std::move(enc));
    if (o_.max_seq_length <= 0) {
      o_.max_seq_length = auto_model->max_position_embeddings();
      if (auto* wp = dynamic_cast<const wordpiece_tokenizer*>(tokenizer_.get());
          wp && wp->model_max_length() > 0)
        o_.max_seq_length = std::min<std::int64_t>(o_.max_seq_length, static_cast<std::int64_t>(wp->model_max_length()));
    }
    if (o_.max_seq_length > auto_model->max_position_embeddings())
      throw model_error("transformer: max_seq_length " + std::to_string(o_.max_seq_length) +
                        " exceeds the encoder's max_position_embeddings " +
                        std::to_string(auto_model->max_position_embeddings()));
  }

  /// A HF folder or the root of a sentence-transformers folder: config.json,
  /// model.safetensors, tokenizer files, and sentence_bert_config.json when present (5.4+
  /// folders keep max_seq_length in tokenizer_config.json's model_max_length instead).
  [[nodiscard]] static std::shared_ptr<transformer> load(const std::string& dir) {
    namespace fs = std::filesystem;
    options o;
    // The names older versions wrote, searched in Python's order.
    for (const char* name : {"sentence_bert_config.json", "sentence_roberta_config.json",
                             "sentence_distilbert_config.json", "sentence_camembert_config.json",
                             "sentence_albert_config.json", "sentence_xlm-roberta_config.json",
                             "sentence_xlnet_config.json"}) {
      const auto p = detail::join_path(dir, name);
      if (!fs::exists(p)) continue;
      detail::json_file f(p);
      if (auto m = f.get_int("max_seq_length")) o.max_seq_length = *m;
      if (auto lc = f.get_bool("do_lower_case")) o.do_lower_case = *lc;
      break;
    }
    auto enc = load_encoder(dir);
    auto tok = load_tokenizer(dir);
    return std::make_shared<transformer>(std::move(enc), std::move(tok), o);
  }

  /// Tokenizes texts (stripped, lowercased if do_lower_case), truncated to max_seq_length and
  /// padded to the longest, rounded up to a multiple of `pad_to_multiple_of` (0 or 1: no
  /// rounding; never beyond max_seq_length). Tensors are on the CPU.
  [[nodiscard]] features tokenize(std::span<const std::string> texts, std::int64_t pad_to_multiple_of = 0) const {
    return tokenize_impl(texts, {}, pad_to_multiple_of);
  }
  /// One text as tokenize() reads it, unpadded (the trainer's token cache keeps these).
  void encode_text(encoding& out, const std::string& text) const {
    if (!tokenizer_) throw model_error("transformer: no tokenizer");
    tokenizer_->encode_into(out, prep(text), std::nullopt, static_cast<std::size_t>(o_.max_seq_length), false);
  }
  /// Pads unpadded encodings into a batch, as tokenize() does: one code path, so a batch
  /// collated from cached encodings is bit-identical to one tokenized from the texts.
  [[nodiscard]] features collate(const std::vector<encoding>& encs, std::int64_t pad_to_multiple_of = 0) const {
    if (!tokenizer_) throw model_error("transformer: no tokenizer");
    if (pad_to_multiple_of < 0) throw error("transformer: pad_to_multiple_of must be >= 0");
    std::size_t longest = 0;
    for (const auto& e : encs) longest = std::max(longest, e.input_ids.size());
    // Rounding never truncates: a max_seq_length that is no multiple keeps the longest.
    const auto m = static_cast<std::size_t>(std::max<std::int64_t>(pad_to_multiple_of, 1));
    const std::size_t rounded = (longest + m - 1) / m * m;
    const std::size_t len = std::max(longest, std::min(rounded, static_cast<std::size_t>(o_.max_seq_length)));
    const auto batch = tokenizer_->pad(encs, len);
    features f;
    const auto n = static_cast<std::int64_t>(batch.batch), l = static_cast<std::int64_t>(batch.seq_len);
    f.input_ids = detail::to_tensor(batch.input_ids, n, l);
    f.attention_mask = detail::to_tensor(batch.attention_mask, n, l);
    f.token_type_ids = detail::to_tensor(batch.token_type_ids, n, l);
    return f;
  }
  /// Text pairs (cross-encoder style inputs), truncated longest-first.
  [[nodiscard]] features tokenize_pairs(std::span<const std::string> first,
                                        std::span<const std::string> second) const {
    if (first.size() != second.size()) throw error("tokenize_pairs: sizes differ");
    return tokenize_impl(first, second);
  }

  void forward(features& f) override {
    if (!f.input_ids.defined()) throw model_error("transformer: features have no input_ids");
    std::vector<at::Tensor> hidden;
    f.token_embeddings = auto_model->forward(f.input_ids, f.attention_mask, f.token_type_ids,
                                             f.output_hidden_states ? &hidden : nullptr);
    if (f.output_hidden_states) f.all_layer_embeddings = std::move(hidden);
  }

  [[nodiscard]] std::string type_name() const override { return "sentence_transformers.models.Transformer"; }
  [[nodiscard]] std::string class_name() const override { return "Transformer"; }
  [[nodiscard]] bool save_in_root() const override { return true; }
  [[nodiscard]] std::optional<std::int64_t> embedding_dimension() const override {
    return auto_model->hidden_size();
  }

  /// sentence_bert_config.json as Python 5.2 writes it (json.dump indent 4).
  [[nodiscard]] std::string sentence_bert_config_json() const {
    json::value v = json::value::make_object();
    v.set("max_seq_length", o_.max_seq_length).set("do_lower_case", o_.do_lower_case);
    return json::dump(v, {.indent = 4});
  }

  void save(const std::string& dir) const override {
    detail::write_text_file(detail::join_path(dir, "config.json"), auto_model->config_json());
    safetensors::save_file(detail::join_path(dir, "model.safetensors"),
                           safetensors::state_dict(*auto_model));
    if (tokenizer_) tokenizer_->save(dir);
    detail::write_text_file(detail::join_path(dir, "sentence_bert_config.json"),
                            sentence_bert_config_json());
  }

  [[nodiscard]] std::int64_t max_seq_length() const { return o_.max_seq_length; }
  void set_max_seq_length(std::int64_t n) {
    if (n <= 0 || n > auto_model->max_position_embeddings())
      throw error("transformer: max_seq_length must be in [1, max_position_embeddings]");
    o_.max_seq_length = n;
  }
  [[nodiscard]] bool do_lower_case() const { return o_.do_lower_case; }
  [[nodiscard]] const std::shared_ptr<const tokenizer>& get_tokenizer() const { return tokenizer_; }

  std::shared_ptr<encoder> auto_model;

 private:
  [[nodiscard]] std::string prep(const std::string& s) const {
    auto t = detail::strip(s);
    return o_.do_lower_case ? detail::ascii_lower(t) : std::string(t);
  }
  [[nodiscard]] features tokenize_impl(std::span<const std::string> a, std::span<const std::string> b,
                                       std::int64_t pad_to_multiple_of = 0) const {
    if (!tokenizer_) throw model_error("transformer: no tokenizer");
    std::vector<encoding> encs(a.size());
    const auto max_len = static_cast<std::size_t>(o_.max_seq_length);
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (b.empty()) encode_text(encs[i], a[i]);
      else tokenizer_->encode_into(encs[i], prep(a[i]), std::string_view(prep(b[i])), max_len, false);
    }
    return collate(encs, pad_to_multiple_of);
  }

  std::shared_ptr<const tokenizer> tokenizer_;
  options o_;
};

}  // namespace sbert::models
