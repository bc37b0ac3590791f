// SPDX-License-Identifier: Apache-2.0
// Data parallelism over a process_group, as PyTorch's DistributedDataParallel does it: the
// parameters start equal (broadcast from rank 0), and before each optimizer step the gradients
// are summed over the ranks in flat buckets and divided by the world size. libtorch 1.13 has no
// C++ DDP module, so this is sbert's own: gradient_reducer overlaps the buckets' all-reduce with
// the backward pass (DDP's Reducer, on hooks of the parameters' gradient accumulators), and
// all_reduce_gradients reduces after it (same buckets, same sums).
#pragma once
#include <sbert/detail/compiled.hpp>

#include <cstdint>
#include <memory>
#include <vector>

#include <ATen/core/Tensor.h>

#include <sbert/distributed/process_group.hpp>

namespace sbert::distributed {

/// Rank 0's values into every rank's tensors (parameters, or any state that must start equal).
void broadcast_tensors(process_group& g, const std::vector<at::Tensor>& tensors);

/// Sums each tensor's gradient over the ranks and divides by the world size, in buckets of about
/// `bucket_bytes` (DDP's default 25 MiB) filled in reverse tensor order (DDP's: the order the
/// backward pass produces them). A tensor whose gradient only some ranks have (e.g. a module a
/// batch did not reach) gets zeros on the others, so every rank steps the same tensors; a tensor
/// no rank has a gradient for keeps none.
void all_reduce_gradients(process_group& g, const std::vector<at::Tensor>& tensors,
                          std::int64_t bucket_bytes = std::int64_t{25} << 20);

/// The same reduce, overlapped with the backward pass: each bucket's asynchronous all-reduce
/// starts as soon as the backward pass has accumulated all its gradients (and the buckets
/// before it have started: every rank launches them in the same order). The result equals
/// all_reduce_gradients' bit for bit.
///
///   bool overlap = r.prepare(loss, nested);   // every rank, before loss.backward()
///   loss.backward();
///   if (overlap) r.finish(); else all_reduce_gradients(g, params, bucket_bytes);
class gradient_reducer {
 public:
  /// Hooks every tensor's gradient accumulator; they do nothing until prepare().
  gradient_reducer(process_group& g, std::vector<at::Tensor> tensors, std::int64_t bucket_bytes = std::int64_t{25} << 20);
  ~gradient_reducer();
  gradient_reducer(const gradient_reducer&) = delete;
  gradient_reducer& operator=(const gradient_reducer&) = delete;

  /// Before the backward pass of `loss` that ends an optimizer step (every rank calls it, one
  /// small collective): finds the tensors this rank's graph reaches or that hold a gradient,
  /// agrees on them with the others, lays out the buckets and arms the hooks. `nested`: this
  /// rank's loss runs backward passes inside its backward (GradCache; detail::
  /// nested_backward_graphs). False (nothing armed) when any rank passed `nested`, or when the
  /// ranks' graphs reach different tensors: reduce after the backward pass with
  /// all_reduce_gradients then.
  bool prepare(const at::Tensor& loss, bool nested = false);
  /// After the backward pass of a prepare() that returned true: launches the buckets still
  /// waiting, waits for all, divides by the world size and writes the gradients back.
  void finish();

 private:
  struct state;
  std::unique_ptr<state> s_;
};

/// What the gradient reducers of this process did (for tests and benchmarks).
struct reducer_stats {
  std::int64_t overlapped_steps = 0;  ///< prepare() returned true and finish() ran
  std::int64_t fallback_steps = 0;    ///< prepare() returned false (nested backward, graphs differ)
  std::int64_t buckets = 0;           ///< buckets reduced by overlapped steps
  std::int64_t early_buckets = 0;     ///< of those, launched before the backward pass returned
};
[[nodiscard]] reducer_stats overlap_stats();

}  // namespace sbert::distributed

#if SBERT_DEFINITIONS
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include <ATen/ops/cat.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/zeros_like.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <sbert/error.hpp>

namespace sbert::distributed {

namespace detail {
inline reducer_stats& stats_slot() {
  static reducer_stats s;
  return s;
}

// The buckets over `order` (indices into `tensors`): runs of one dtype and device, each closed
// once it holds `bucket_bytes` or more. Both reduce paths use it, so their sums are the same.
inline std::vector<std::vector<std::size_t>> plan_buckets(const std::vector<at::Tensor>& tensors,
                                                          const std::vector<std::size_t>& order, std::int64_t bucket_bytes) {
  std::vector<std::vector<std::size_t>> out;
  std::size_t k = 0;
  while (k < order.size()) {
    std::vector<std::size_t> bucket;
    std::int64_t bytes = 0;
    const auto& first = tensors[order[k]];
    while (k < order.size() && tensors[order[k]].scalar_type() == first.scalar_type() &&
           tensors[order[k]].device() == first.device() && (bucket.empty() || bytes < bucket_bytes)) {
      const auto& t = tensors[order[k]];
      bytes += t.numel() * static_cast<std::int64_t>(t.element_size());
      bucket.push_back(order[k++]);
    }
    out.push_back(std::move(bucket));
  }
  return out;
}

// Writes a reduced bucket back: each member's gradient (created as zeros where it has none)
// becomes its slice of `flat` times `scale`.
inline void scatter_bucket(const at::Tensor& flat, const std::vector<at::Tensor>& tensors, const std::vector<std::size_t>& members,
                           double scale) {
  flat.mul_(scale);
  std::int64_t off = 0;
  for (auto i : members) {
    const auto& t = tensors[i];
    if (!t.grad().defined()) t.mutable_grad() = at::zeros_like(t);
    auto& gr = t.mutable_grad();
    gr.copy_(flat.narrow(0, off, gr.numel()).view(gr.sizes()));
    off += gr.numel();
  }
}

// The globally used tensors in bucket order (reverse), from flags max-reduced over the ranks.
inline std::vector<std::size_t> used_in_reverse(const float* flags, std::size_t n) {
  std::vector<std::size_t> order;
  for (std::size_t i = n; i-- > 0;)
    if (flags[i] != 0.f) order.push_back(i);
  return order;
}
}  // namespace detail

SBERT_INLINE reducer_stats overlap_stats() { return detail::stats_slot(); }

SBERT_INLINE void broadcast_tensors(process_group& g, const std::vector<at::Tensor>& tensors) {
  c10::NoGradGuard no_grad;
  for (const auto& t : tensors) {
    // c10d works on dense contiguous tensors; parameters are, but copy back to be safe.
    std::vector<at::Tensor> one{t.detach().contiguous()};
    g.broadcast(one, 0);
    if (!one[0].is_same(t)) t.detach().copy_(one[0]);
  }
}

SBERT_INLINE void all_reduce_gradients(process_group& g, const std::vector<at::Tensor>& tensors, std::int64_t bucket_bytes) {
  if (g.size() <= 1 || tensors.empty()) return;
  c10::NoGradGuard no_grad;
  // Which tensors have a gradient on some rank: one small max-reduce.
  const auto n = tensors.size();
  at::Tensor has = at::zeros({static_cast<std::int64_t>(n)}, at::kFloat);
  auto* h = has.data_ptr<float>();
  for (std::size_t i = 0; i < n; ++i) h[i] = tensors[i].grad().defined() ? 1.f : 0.f;
  std::vector<at::Tensor> hv{has};
  g.all_reduce_max(hv);
  const auto order = detail::used_in_reverse(hv[0].data_ptr<float>(), n);
  for (auto i : order)
    if (!tensors[i].grad().defined()) tensors[i].mutable_grad() = at::zeros_like(tensors[i]);
  // Each bucket flattened into one buffer: few, large messages.
  const double inv = 1.0 / static_cast<double>(g.size());
  for (const auto& bucket : detail::plan_buckets(tensors, order, bucket_bytes)) {
    std::vector<at::Tensor> flat_parts;
    flat_parts.reserve(bucket.size());
    for (auto i : bucket) flat_parts.push_back(tensors[i].grad().reshape({-1}));
    std::vector<at::Tensor> flat{at::cat(flat_parts)};
    g.all_reduce_sum(flat);
    detail::scatter_bucket(flat[0], tensors, bucket, inv);
  }
}

struct gradient_reducer::state {
  struct bucket {
    std::vector<std::size_t> members;
    at::Tensor flat;  // the members' gradients, flattened: what is all-reduced
    std::size_t waiting = 0;
    process_group::work work;
  };
  // Called by the engine after a tensor's gradient accumulator has run.
  struct hook : torch::autograd::FunctionPostHook {
    hook(state* s, std::size_t i) : s(s), i(i) {}
    torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                              const torch::autograd::variable_list&) override {
      s->on_gradient(i);
      return outputs;
    }
    state* s;
    std::size_t i;
  };

  process_group& g;
  std::vector<at::Tensor> tensors;
  std::int64_t bucket_bytes;
  // Held so that every forward pass reuses these nodes (a tensor keeps only a weak reference).
  std::vector<std::shared_ptr<torch::autograd::Node>> nodes;
  std::vector<std::uintptr_t> hook_keys;
  std::unordered_map<const torch::autograd::Node*, std::size_t> index;
  std::mutex mu;
  bool armed = false;
  std::vector<bucket> buckets;
  std::vector<std::pair<std::int64_t, std::int64_t>> slot;  // per tensor: bucket (-1: none), offset
  std::vector<char> ready;
  std::size_t next = 0;  // the next bucket to launch
  std::int64_t early = 0;

  state(process_group& g, std::vector<at::Tensor> t, std::int64_t b) : g(g), tensors(std::move(t)), bucket_bytes(b) {}

  // Hooks tensor i's gradient accumulator, moving the hook when the tensor has a new one (its
  // dtype or device changed since).
  void attach(std::size_t i) {
    const auto& t = tensors[i];
    auto node = t.requires_grad() && t.is_leaf() ? torch::autograd::impl::grad_accumulator(t) : nullptr;
    if (node == nodes[i]) return;
    if (nodes[i]) {
      nodes[i]->del_post_hook(hook_keys[i]);
      index.erase(nodes[i].get());
    }
    nodes[i] = node;
    hook_keys[i] = node ? node->add_post_hook(std::make_unique<hook>(this, i)) : 0;
    if (node) index.emplace(node.get(), i);
  }
  void on_gradient(std::size_t i) {
    std::lock_guard<std::mutex> lock(mu);
    if (!armed) return;
    if (slot[i].first < 0 || ready[i])
      throw error("distributed: a gradient was accumulated " + std::string(slot[i].first < 0 ? "for a tensor" : "twice for a tensor") +
                  " the overlapped all-reduce did not expect (a loss whose backward runs backward passes of its own must count "
                  "itself in sbert::detail::nested_backward_graphs, as the GradCache losses do)");
    take(i);
    launch_ready();
  }
  // Copies tensor i's gradient (zeros without one) into its bucket.
  void take(std::size_t i) {
    c10::NoGradGuard no_grad;
    ready[i] = 1;
    auto& b = buckets[static_cast<std::size_t>(slot[i].first)];
    auto dst = b.flat.narrow(0, slot[i].second, tensors[i].numel());
    const auto& gr = tensors[i].grad();
    if (gr.defined()) dst.copy_(gr.reshape({-1}));
    else dst.zero_();
    --b.waiting;
  }
  void launch_ready() {
    while (next < buckets.size() && buckets[next].waiting == 0) {
      auto& b = buckets[next++];
      std::vector<at::Tensor> v{b.flat};
      b.work = g.all_reduce_sum_async(v);
      if (armed) ++early;
    }
  }
};

SBERT_INLINE gradient_reducer::gradient_reducer(process_group& g, std::vector<at::Tensor> tensors, std::int64_t bucket_bytes)
    : s_(std::make_unique<state>(g, std::move(tensors), bucket_bytes)) {
  s_->nodes.resize(s_->tensors.size());
  s_->hook_keys.resize(s_->tensors.size());
  for (std::size_t i = 0; i < s_->tensors.size(); ++i) s_->attach(i);
}

SBERT_INLINE gradient_reducer::~gradient_reducer() {
  for (std::size_t i = 0; i < s_->nodes.size(); ++i)
    if (s_->nodes[i]) s_->nodes[i]->del_post_hook(s_->hook_keys[i]);
}

SBERT_INLINE bool gradient_reducer::prepare(const at::Tensor& loss, bool nested) {
  auto& s = *s_;
  std::lock_guard<std::mutex> lock(s.mu);
  s.armed = false;
  s.buckets.clear();  // a step a failure left unfinished: its collectives are abandoned
  const auto n = s.tensors.size();
  for (std::size_t i = 0; i < n; ++i) s.attach(i);
  // Which tensors the graph of `loss` reaches: the gradient accumulators among its nodes.
  std::vector<char> reached(n, 0);
  {
    std::vector<torch::autograd::Node*> todo;
    std::unordered_set<torch::autograd::Node*> seen;
    if (loss.defined()) {
      if (auto fn = loss.grad_fn()) todo.push_back(fn.get());
      else if (loss.requires_grad()) todo.push_back(torch::autograd::impl::grad_accumulator(loss).get());
    }
    for (auto* f : todo) seen.insert(f);
    while (!todo.empty()) {
      auto* f = todo.back();
      todo.pop_back();
      if (auto it = s.index.find(f); it != s.index.end()) reached[it->second] = 1;
      for (const auto& e : f->next_edges())
        if (e.function && seen.insert(e.function.get()).second) todo.push_back(e.function.get());
    }
  }
  // One small sum-reduce, so every rank decides the same: per tensor, how many ranks' graphs
  // reach it and how many hold a gradient (from earlier micro-steps); whether any rank runs a
  // nested backward. Used: reached or held somewhere. Ranks whose graphs reach different
  // tensors reduce after the backward pass: their hooks would fire at different points of the
  // backward, and a collective inside it (all_gather_with_grad's) must meet the bucket
  // launches in the same order on every rank.
  at::Tensor flags = at::zeros({2 * static_cast<std::int64_t>(n) + 1}, at::kFloat);
  auto* f = flags.data_ptr<float>();
  for (std::size_t i = 0; i < n; ++i) {
    f[i] = reached[i] ? 1.f : 0.f;
    f[n + i] = s.tensors[i].grad().defined() ? 1.f : 0.f;
  }
  f[2 * n] = nested ? 1.f : 0.f;
  std::vector<at::Tensor> fv{flags};
  s.g.all_reduce_sum(fv);
  f = fv[0].data_ptr<float>();
  const auto world = static_cast<float>(s.g.size());
  bool fall_back = f[2 * n] != 0.f;
  std::vector<float> used(n);
  for (std::size_t i = 0; i < n; ++i) {
    fall_back = fall_back || (f[i] != 0.f && f[i] != world);
    used[i] = f[i] != 0.f || f[n + i] != 0.f ? 1.f : 0.f;
  }
  if (fall_back) {
    ++detail::stats_slot().fallback_steps;
    return false;
  }
  const auto order = detail::used_in_reverse(used.data(), n);
  s.slot.assign(n, {-1, 0});
  s.ready.assign(n, 0);
  s.next = 0;
  s.early = 0;
  for (const auto& members : detail::plan_buckets(s.tensors, order, s.bucket_bytes)) {
    state::bucket b;
    std::int64_t off = 0;
    for (auto i : members) {
      s.slot[i] = {static_cast<std::int64_t>(s.buckets.size()), off};
      off += s.tensors[i].numel();
    }
    const auto& t0 = s.tensors[members.front()];
    b.flat = at::empty({off}, at::TensorOptions().dtype(t0.scalar_type()).device(t0.device()));
    b.waiting = members.size();
    b.members = members;
    s.buckets.push_back(std::move(b));
  }
  s.armed = true;
  // Used elsewhere but not reached here: this backward adds nothing, the gradient is final now.
  for (auto i : order)
    if (!reached[i]) s.take(i);
  s.launch_ready();
  return true;
}

SBERT_INLINE void gradient_reducer::finish() {
  auto& s = *s_;
  std::lock_guard<std::mutex> lock(s.mu);
  if (!s.armed) throw error("distributed: gradient_reducer::finish() without a prepare() that returned true");
  s.armed = false;
  // Reached in the graph but given no gradient by the engine: zeros, as all_reduce_gradients.
  for (auto& b : s.buckets)
    if (b.waiting)
      for (auto i : b.members)
        if (!s.ready[i]) s.take(i);
  s.launch_ready();
  c10::NoGradGuard no_grad;
  const double inv = 1.0 / static_cast<double>(s.g.size());
  for (auto& b : s.buckets) {
    b.work.wait();
    detail::scatter_bucket(b.flat, s.tensors, b.members, inv);
  }
  auto& st = detail::stats_slot();
  ++st.overlapped_steps;
  st.buckets += static_cast<std::int64_t>(s.buckets.size());
  st.early_buckets += s.early;
  s.buckets.clear();
}

}  // namespace sbert::distributed
#endif  // SBERT_DEFINITIONS
