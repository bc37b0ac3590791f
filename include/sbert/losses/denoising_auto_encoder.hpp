// SPDX-License-Identifier: Apache-2.0
// DenoisingAutoEncoderLoss (TSDAE, Wang et al. 2021): encode a damaged sentence into one
// vector, and train a decoder to rebuild the original sentence from that vector alone.
#pragma once
#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Reduction.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/cross_entropy_loss.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/triu.h>
#include <ATen/ops/zeros.h>
#include <c10/core/GradMode.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <sbert/error.hpp>
#include <sbert/losses/loss.hpp>
#include <sbert/models/bert.hpp>
#include <sbert/models/sentence_transformer.hpp>
#include <sbert/models/transformer.hpp>

namespace sbert {

/// TSDAE's noise: delete each whitespace-separated word with probability `del_ratio`, keeping
/// at least one (Python tokenizes with NLTK and detokenizes with Treebank rules; sbert splits
/// and joins on spaces).
[[nodiscard]] inline std::string delete_words(const std::string& text, std::mt19937_64& rng, double del_ratio = 0.6) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(std::move(w));
  if (words.empty()) return text;
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<bool> keep(words.size());
  bool any = false;
  for (std::size_t i = 0; i < words.size(); ++i) any |= (keep[i] = u(rng) > del_ratio);
  if (!any) keep[std::uniform_int_distribution<std::size_t>(0, words.size() - 1)(rng)] = true;
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i)
    if (keep[i]) out += (out.empty() ? "" : " ") + words[i];
  return out;
}

/// (damaged, original) pairs for DenoisingAutoEncoderLoss: Python's DenoisingAutoEncoderDataset.
[[nodiscard]] inline std::vector<std::pair<std::string, std::string>> denoising_pairs(const std::vector<std::string>& sentences,
                                                                                    double del_ratio = 0.6, std::uint64_t seed = 42) {
  std::mt19937_64 rng(seed);
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(sentences.size());
  for (const auto& s : sentences) out.emplace_back(delete_words(s, rng, del_ratio), s);
  return out;
}

/// The TSDAE decoder: a BERT causal LM whose embeddings, self-attention and feed-forward
/// weights *are* the encoder's (tie_encoder_decoder=True), plus its own cross-attention per
/// layer (attending to the sentence embedding as a one-token memory) and LM-head transform;
/// the output projection is the word-embedding matrix (tied), with its own bias.
class tsdae_decoder : public torch::nn::Module {
 public:
  explicit tsdae_decoder(std::shared_ptr<models::bert_model> encoder) : enc_(std::move(encoder)) {
    if (!enc_) throw model_error("DenoisingAutoEncoderLoss: the model's first module must be a BERT Transformer");
    const auto& c = enc_->config();
    for (std::size_t i = 0; i < enc_->layers->size(); ++i)
      cross_.push_back(register_module("crossattention_" + std::to_string(i), std::make_shared<models::bert_attention>(c)));
    transform_ = register_module("transform_dense", torch::nn::Linear(c.hidden_size, c.hidden_size));
    norm_ = register_module("transform_LayerNorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)));
    bias_ = register_parameter("lm_bias", at::zeros({c.vocab_size}));
    // Hugging Face's BERT initialisation for the new weights: N(0, 0.02), zero biases.
    c10::NoGradGuard no_grad;
    for (auto& p : named_parameters()) {
      if (p.key().find("LayerNorm") != std::string::npos) continue;
      if (p.key().ends_with("weight")) p.value().normal_(0.0, 0.02);
      else p.value().zero_();
    }
    act_ = c.hidden_act;
    attn_dropout_ = c.attention_probs_dropout_prob;
  }

  /// Logits [B, L, vocab] for decoder inputs [B, L] given sentence embeddings [B, H].
  at::Tensor forward(const at::Tensor& input_ids, const at::Tensor& sentence_embedding) {
    const auto b = input_ids.size(0), l = input_ids.size(1);
    auto x = enc_->embeddings->forward(input_ids, at::Tensor());
    const auto dtype = x.scalar_type();
    const auto causal = (at::triu(at::ones({l, l}, x.options()), 1) * models::detail::lowest_of(dtype)).view({1, 1, l, l});
    const auto memory = sentence_embedding.unsqueeze(1);  // [B, 1, H]
    const auto no_mask = at::zeros({b, 1, 1, 1}, x.options());
    for (std::size_t i = 0; i < cross_.size(); ++i) {
      auto layer = std::dynamic_pointer_cast<models::bert_layer>(enc_->layers->ptr(i));
      const auto a = layer->attention->forward(x, causal);
      const auto c = cross_attention(*cross_[i], a, memory, no_mask);
      x = layer->output->forward(layer->intermediate->forward(c), c);
    }
    const auto h = norm_->forward(models::detail::activation(act_, transform_->forward(x)));
    return at::linear(h, enc_->embeddings->word_embeddings->weight, bias_);
  }

 private:
  at::Tensor cross_attention(models::bert_attention& att, const at::Tensor& x, const at::Tensor& memory, const at::Tensor& mask) {
    const auto ctx = models::detail::multi_head_attention(
        att.self->query->forward(x), att.self->key->forward(memory), att.self->value->forward(memory),
        enc_->config().num_attention_heads, mask, attn_dropout_, is_training());
    return att.output->forward(ctx, x);
  }

  std::shared_ptr<models::bert_model> enc_;  // not registered: its weights belong to the model
  std::vector<std::shared_ptr<models::bert_attention>> cross_;
  torch::nn::Linear transform_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
  at::Tensor bias_;
  std::string act_;
  double attn_dropout_ = 0.1;
};

/// Mirrors sentence_transformers.losses.DenoisingAutoEncoderLoss with tie_encoder_decoder=True
/// (the default and the paper's setting). Inputs: (damaged, original) — see denoising_pairs;
/// no label. The model encodes the damaged text; the decoder reads the original's tokens
/// shifted right (teacher forcing) with cross-attention to that one vector and predicts the
/// next token; loss = CE over the original's tokens, pad positions ignored. The decoder's own
/// weights (cross-attention, LM-head transform, bias) are the loss's parameters(); the tied
/// ones are the model's. Only BERT encoders are supported (Python accepts any HF decoder).
class denoising_auto_encoder_loss {
 public:
  static constexpr inputs_spec inputs{.texts = exactly(2), .labels = label_kind::none};
  static constexpr std::string_view name = "DenoisingAutoEncoderLoss";
  /// BibTeX for the model card.
  static constexpr std::string_view citation = R"bib(@inproceedings{wang-2021-TSDAE,
    title = "TSDAE: Using Transformer-based Sequential Denoising Auto-Encoderfor Unsupervised Sentence Embedding Learning",
    author = "Wang, Kexin and Reimers, Nils and Gurevych, Iryna",
    booktitle = "Findings of the Association for Computational Linguistics: EMNLP 2021",
    month = nov,
    year = "2021",
    address = "Punta Cana, Dominican Republic",
    publisher = "Association for Computational Linguistics",
    pages = "671--688",
    url = "https://arxiv.org/abs/2104.06979",
})bib";

  explicit denoising_auto_encoder_loss(models::sentence_transformer& model)
      : decoder_(std::make_shared<tsdae_decoder>(std::dynamic_pointer_cast<models::bert_model>(model.first_transformer().auto_model))),
        pad_(model.first_transformer().get_tokenizer() ? model.first_transformer().get_tokenizer()->pad_id() : 0) {
    decoder_->to(model.device());
  }

  [[nodiscard]] at::Tensor operator()(models::sentence_transformer& m, std::span<models::features> f, const at::Tensor& /*labels*/) const {
    decoder_->train(m.is_training());
    m.forward(f[0]);
    const auto target = f[1].input_ids.to(f[0].sentence_embedding.device());
    const auto l = target.size(1);
    if (l < 2) throw error("DenoisingAutoEncoderLoss: the original texts tokenize to fewer than two tokens");
    const auto logits = decoder_->forward(target.narrow(1, 0, l - 1), f[0].sentence_embedding);
    const auto labels = target.narrow(1, 1, l - 1).reshape({-1});
    return at::cross_entropy_loss(logits.reshape({-1, logits.size(-1)}), labels, {}, at::Reduction::Mean, pad_);
  }

  [[nodiscard]] std::vector<at::Tensor> parameters() const { return decoder_->parameters(); }
  /// The decoder's own weights by their names (its biases and LayerNorm undecayed).
  [[nodiscard]] std::shared_ptr<torch::nn::Module> module() const { return decoder_; }
  void to(const at::Device& d) { decoder_->to(d); }
  [[nodiscard]] tsdae_decoder& decoder() const { return *decoder_; }
  [[nodiscard]] config_entries config() const { return {{"decoder_name_or_path", "null"}, {"tie_encoder_decoder", "true"}}; }

 private:
  std::shared_ptr<tsdae_decoder> decoder_;
  std::int64_t pad_ = 0;
};

}  // namespace sbert
