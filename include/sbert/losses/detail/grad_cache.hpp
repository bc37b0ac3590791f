// SPDX-License-Identifier: Apache-2.0
// The GradCache engine (Gao et al., 2021) shared by every cached loss: the loss over a big
// batch with the memory of one mini-batch.
//   1. Embed every column in mini-batches with no autograd graph, saving the RNG state before
//      each mini-batch.
//   2. Compute the loss on the (detached) embeddings and the gradient of the loss with respect
//      to each embedding row: the "cached gradients".
//   3. When the returned loss is back-propagated, re-embed each mini-batch with the graph,
//      replaying its saved RNG state so dropout draws the same masks, and back-propagate
//      dot(embedding, cached_gradient * upstream_gradient) through the model, one mini-batch
//      at a time.
// Value and parameter gradients equal the uncached loss (up to float summation order).
//
// Step 2 runs over anchor mini-batches for the losses that are sums over anchors (MNRL, MNSRL:
// see anchor_chunks), as Python's cached losses do; any other core is evaluated on the whole
// batch at once (its score matrix is held, the model activations are not).
//
// In a distributed run a core with gather_across_devices gathers every rank's embeddings in
// step 2 (all_gather_with_grad on the detached rows): the gather's backward, a collective,
// sums each row's gradient over the ranks, so the cached gradients of this rank's rows hold
// every rank's loss terms. Step 3 stays local: each rank re-embeds only its own rows. Step 3 runs inside an autograd
// node (torch::autograd::Function), so `loss.backward()` is all a caller does; see the
// FeatureLoss contract in loss.hpp.
#pragma once
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include <ATen/Context.h>
#include <ATen/core/Tensor.h>
#include <ATen/core/ivalue.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros_like.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

#include <sbert/detail/nested_backward.hpp>
#include <sbert/distributed/gather.hpp>
#include <sbert/error.hpp>
#include <sbert/losses/loss.hpp>
#include <sbert/models/module.hpp>
#include <sbert/models/sentence_transformer.hpp>

namespace sbert::detail {

/// The default generators' states (CPU, and every CUDA device when there is one): what
/// dropout draws from.
struct rng_state {
  at::Tensor cpu;
  std::vector<at::Tensor> cuda;

  [[nodiscard]] static rng_state save() {
    rng_state s;
    {
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      s.cpu = gen.get_state();
    }
    if (at::hasCUDA()) {
      for (int i = 0; i < at::detail::getCUDAHooks().getNumGPUs(); ++i) {
        auto gen = at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(i)));
        std::lock_guard<std::mutex> lock(gen.mutex());
        s.cuda.push_back(gen.get_state());
      }
    }
    return s;
  }
  void restore() const {
    {
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(cpu);
    }
    for (std::size_t i = 0; i < cuda.size(); ++i) {
      auto gen = at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(i)));
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(cuda[i]);
    }
  }
};

/// Rows [start, start + n) of a tokenized batch (inputs only; outputs are recomputed).
inline models::features slice_rows(const models::features& f, std::int64_t start, std::int64_t n) {
  models::features out;
  out.input_ids = f.input_ids.narrow(0, start, n);
  if (f.attention_mask.defined()) out.attention_mask = f.attention_mask.narrow(0, start, n);
  if (f.token_type_ids.defined()) out.token_type_ids = f.token_type_ids.narrow(0, start, n);
  out.prompt_length = f.prompt_length;
  return out;
}

/// One column split into mini-batches, each with the RNG state it was first embedded under.
struct cached_column {
  std::vector<models::features> chunks;
  std::vector<rng_state> states;
  at::Tensor reps;   // [rows, dim], detached
  at::Tensor grad;   // d loss / d reps
};

/// What the backward node needs: the model, the mini-batches, the cached gradients, and the
/// cached gradients of the loss's own parameters (e.g. a learnable scale).
struct grad_cache_state : torch::CustomClassHolder {
  models::sentence_transformer* model = nullptr;
  std::vector<cached_column> columns;
  std::vector<std::pair<at::Tensor, at::Tensor>> param_grads;  // (parameter, d loss / d parameter)
};

/// Embeds `f` in mini-batches without a graph.
inline cached_column embed_without_graph(models::sentence_transformer& m, const models::features& f, std::int64_t mini_batch_size) {
  cached_column c;
  if (!f.input_ids.defined() || f.input_ids.size(0) == 0) {
    c.reps = at::empty({0, m.embedding_dimension()}, at::TensorOptions().device(m.device()));
    return c;
  }
  const auto rows = f.input_ids.size(0);
  std::vector<at::Tensor> parts;
  c10::NoGradGuard no_grad;
  for (std::int64_t s = 0; s < rows; s += mini_batch_size) {
    const auto n = std::min(mini_batch_size, rows - s);
    c.chunks.push_back(slice_rows(f, s, n));
    c.states.push_back(rng_state::save());
    auto x = c.chunks.back();
    m.forward(x);
    parts.push_back(x.sentence_embedding.detach());
  }
  c.reps = parts.size() == 1 ? parts[0] : at::cat(parts, 0);
  return c;
}

/// The autograd node of step 3.
struct grad_cache_function : torch::autograd::Function<grad_cache_function> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& value, const at::Tensor& anchor,
                            c10::intrusive_ptr<grad_cache_state> state) {
    (void)anchor;  // only ties the node into the graph of the model's parameters
    ctx->saved_data["state"] = c10::IValue::make_capsule(std::move(state));
    return value.clone();
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grad_out) {
    auto holder = ctx->saved_data["state"].toCapsule();
    auto& st = static_cast<grad_cache_state&>(*holder);
    const auto upstream = grad_out[0];
    // The RNG stream after this step must not depend on the replay: restore it at the end.
    const auto now = rng_state::save();
    {
      c10::AutoGradMode grad_on(true);
      for (auto& col : st.columns) {
        std::int64_t start = 0;
        for (std::size_t k = 0; k < col.chunks.size(); ++k) {
          col.states[k].restore();
          auto x = col.chunks[k];
          st.model->forward(x);
          const auto n = x.sentence_embedding.size(0);
          const auto g = col.grad.narrow(0, start, n) * upstream;
          start += n;
          const auto surrogate = (x.sentence_embedding * g).sum();
          torch::autograd::backward({surrogate});
        }
      }
      for (auto& [p, g] : st.param_grads) {
        auto& acc = p.mutable_grad();
        acc = acc.defined() ? acc + g * upstream : g * upstream;
      }
    }
    now.restore();
    return {at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

/// The embeddings an anchor-chunked core reads: `local` (this rank's rows of each column) and
/// `all` (every rank's rows of the columns the core gathers, in rank order; `local` itself for
/// the others and in one process); `offset` is where this rank's rows start in a gathered column.
struct chunk_view {
  std::span<const at::Tensor> local;
  std::span<const at::Tensor> all;
  std::int64_t offset = 0;
};

/// Cores whose value is a sum over anchor rows (MNRL, MNSRL) specialise this with
///     static bool gathers(const Core&, std::size_t column)   column read across ranks?
///     static at::Tensor part(const Core&, const chunk_view& v, const at::Tensor& labels,
///                            std::int64_t start, std::int64_t n)
/// `part` returning the contribution of local anchors [start, start + n); step 2 then runs
/// over anchor mini-batches too, so the [B, k * B] score matrix is never held whole (as
/// Python's cached losses do) and peak memory stays flat as the batch grows. The engine
/// gathers once before the chunks (so ranks with different chunk counts never wait on each
/// other) and back-propagates through the gathers once after them.
template <class Core>
struct anchor_chunks {
  static constexpr bool enabled = false;
};

/// Runs the engine: `core(embeddings, labels)` is an embedding loss (a tensor; loss_parts are
/// summed). Returns the value, attached to the model's parameters through the backward node
/// when grad mode is on.
template <class Core>
at::Tensor grad_cache(models::sentence_transformer& m, std::span<models::features> f, const at::Tensor& labels,
                      std::int64_t mini_batch_size, const Core& core) {
  if (mini_batch_size <= 0) throw error("grad_cache: mini_batch_size must be positive");
  auto state = c10::make_intrusive<grad_cache_state>();
  state->model = &m;
  for (const auto& x : f) state->columns.push_back(embed_without_graph(m, x, mini_batch_size));

  auto eval_core = [&](std::span<const at::Tensor> e) {
    auto r = core(e, labels);
    if constexpr (std::same_as<std::remove_cvref_t<decltype(r)>, loss_parts>) return r.total();
    else return r;
  };
  std::vector<at::Tensor> reps;
  for (auto& c : state->columns) reps.push_back(c.reps);
  const auto anchors = reps.front().size(0);
  if (!c10::GradMode::is_enabled()) {
    if constexpr (anchor_chunks<Core>::enabled) {
      at::Tensor total;
      const chunk_view v{reps, reps, 0};  // under no_grad nothing is gathered (evaluation)
      for (std::int64_t s = 0; s < anchors; s += mini_batch_size) {
        const auto p = anchor_chunks<Core>::part(core, v, labels, s, std::min(mini_batch_size, anchors - s));
        total = total.defined() ? total + p : p;
      }
      return total;
    } else {
      return eval_core(reps).detach();
    }
  }

  // Step 2: the loss on leaf copies of the embeddings, and its gradient with respect to them.
  std::vector<at::Tensor> leaves, wrt;
  for (auto& r : reps) leaves.push_back(r.detach().requires_grad_(true));
  wrt = leaves;
  std::vector<at::Tensor> own;
  if constexpr (HasParameters<Core>)
    for (auto& p : core.parameters())
      if (p.requires_grad()) own.push_back(p);
  for (auto& p : own) wrt.push_back(p);
  at::Tensor value;
  torch::autograd::variable_list grads(wrt.size());
  auto add_grads = [&](const at::Tensor& v) {
    if (!v.requires_grad()) return;
    const auto g = torch::autograd::grad({v}, wrt, {}, false, false, true);
    for (std::size_t i = 0; i < g.size(); ++i)
      if (g[i].defined()) grads[i] = grads[i].defined() ? grads[i] + g[i] : g[i];
  };
  if constexpr (anchor_chunks<Core>::enabled) {
    // The gathered columns hang off their own leaves (`sources`), not off `leaves`: the chunks'
    // gradients then stop at the gathered tensors (accumulated in `grads` after the local ones
    // and the parameters), and the gathers' backward runs once, below.
    std::vector<at::Tensor> all = leaves, sources;
    std::vector<std::size_t> gathered;
    std::int64_t offset = 0;
    if (distributed::world_size() > 1)
      for (std::size_t k = 0; k < leaves.size(); ++k)
        if (anchor_chunks<Core>::gathers(core, k)) {
          sources.push_back(leaves[k].detach().requires_grad_(true));
          std::int64_t o = 0;
          all[k] = distributed::all_gather_with_grad(sources.back(), &o);
          if (gathered.empty()) offset = o;
          gathered.push_back(k);
          wrt.push_back(all[k]);
          grads.emplace_back();
        }
    const chunk_view v{leaves, all, offset};
    for (std::int64_t s = 0; s < anchors; s += mini_batch_size) {
      const auto p = anchor_chunks<Core>::part(core, v, labels, s, std::min(mini_batch_size, anchors - s));
      add_grads(p);
      value = value.defined() ? value + p.detach() : p.detach();
    }
    // Every rank runs every gather's backward, in the same order (zeros where its own anchors
    // did not reach a column): each is a collective.
    const auto first = leaves.size() + own.size();
    for (std::size_t j = 0; j < gathered.size(); ++j) {
      const auto k = gathered[j];
      auto up = grads[first + j].defined() ? grads[first + j] : at::zeros_like(all[k]);
      const auto g = torch::autograd::grad({all[k]}, {sources[j]}, {up}, false, false, true)[0];
      if (g.defined()) grads[k] = grads[k].defined() ? grads[k] + g : g;
    }
  } else {
    value = eval_core(leaves);
    add_grads(value);
  }
  for (std::size_t i = 0; i < leaves.size(); ++i)
    state->columns[i].grad = grads[i].defined() ? grads[i] : at::zeros_like(leaves[i]);
  for (std::size_t i = 0; i < own.size(); ++i)
    if (grads[leaves.size() + i].defined()) state->param_grads.emplace_back(own[i], grads[leaves.size() + i]);

  at::Tensor anchor;
  for (const auto& p : m.parameters())
    if (p.requires_grad()) {
      anchor = p;
      break;
    }
  if (!anchor.defined()) anchor = own.empty() ? at::Tensor() : own.front();
  if (!anchor.defined()) return value.detach();
  ++nested_backward_graphs();  // its backward runs backward passes: no overlapped gradient reduce
  return grad_cache_function::apply(value.detach(), anchor, std::move(state));
}

}  // namespace sbert::detail
