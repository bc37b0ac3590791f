// SPDX-License-Identifier: Apache-2.0
// The process group of a data-parallel run, on libtorch's own c10d: torchrun's launch contract
// (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT; env:// rendezvous through a
// c10d::TCPStore that rank 0 serves), Gloo on CPU, NCCL when the model is on CUDA and libtorch
// was built with it. One process-wide default group, as torch.distributed keeps one.
//
//   auto g = sbert::distributed::init_process_group();   // reads the environment; a no-op alone
//   if (sbert::distributed::is_main_process()) ...        // rank 0 writes files
#pragma once
#include <sbert/detail/compiled.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include <sbert/error.hpp>

namespace sbert::distributed {

/// What a launcher (torchrun, sbert-launch, a Slurm wrapper) tells each process.
struct launch_env {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  bool launched = false;  ///< WORLD_SIZE was set: started by a launcher

  /// Reads the variables; a value that is not a number, or a rank outside [0, WORLD_SIZE), is
  /// an error naming the variable. Without WORLD_SIZE: one process (rank 0 of 1).
  static launch_env from_env();
};

/// A group of processes and the collectives the trainer needs. Every call is blocking and
/// every rank must make the same calls in the same order (as in torch.distributed).
class process_group {
 public:
  /// Rendezvous at env.master_addr:master_port (rank 0 serves the store) and create the group.
  /// backend: "gloo", "nccl", or "" (gloo; nccl when `cuda`). timeout: for the rendezvous and
  /// for each collective, so a rank that died makes the others fail instead of hang.
  static std::shared_ptr<process_group> create(const launch_env& env, const std::string& backend = {},
                                               std::chrono::milliseconds timeout = std::chrono::minutes(30),
                                               bool cuda = false);
  ~process_group();
  process_group(const process_group&) = delete;
  process_group& operator=(const process_group&) = delete;

  [[nodiscard]] int rank() const { return rank_; }
  [[nodiscard]] int size() const { return size_; }
  [[nodiscard]] const std::string& backend() const { return backend_; }

  /// In-place sum over the ranks of each tensor (dense, contiguous, same shape on every rank).
  void all_reduce_sum(std::vector<at::Tensor>& tensors);
  /// In-place max over the ranks.
  void all_reduce_max(std::vector<at::Tensor>& tensors);

  /// A collective in flight. wait() blocks until it is done (failing as the blocking calls
  /// do); a second wait() returns at once. Dropping one unwaited leaves it to finish alone.
  class work {
   public:
    work();
    ~work();
    work(work&&) noexcept;
    work& operator=(work&&) noexcept;
    void wait();
    [[nodiscard]] bool valid() const { return impl_ != nullptr; }

   private:
    friend class process_group;
    struct impl;
    std::unique_ptr<impl> impl_;
  };
  /// all_reduce_sum without waiting, so communication overlaps with computation (the
  /// gradient reducer's buckets): the tensors must be left alone until wait() returns. Launches
  /// are matched by order, as the blocking calls are.
  [[nodiscard]] work all_reduce_sum_async(std::vector<at::Tensor>& tensors);
  /// Rank `root`'s values into every rank's tensors, in place.
  void broadcast(std::vector<at::Tensor>& tensors, int root = 0);
  /// Every rank's tensor (all the same shape), in rank order.
  [[nodiscard]] std::vector<at::Tensor> all_gather(const at::Tensor& t);
  void barrier();

 private:
  struct impl;
  process_group(std::unique_ptr<impl> p, int rank, int size, std::string backend);
  std::unique_ptr<impl> impl_;
  int rank_ = 0, size_ = 1;
  std::string backend_;
};

/// The process-wide group: created from the environment on the first call when WORLD_SIZE > 1
/// (later calls return it, whatever their arguments); null for a single process.
std::shared_ptr<process_group> init_process_group(const std::string& backend = {},
                                                  std::chrono::milliseconds timeout = std::chrono::minutes(30),
                                                  bool cuda = false);
/// The group init_process_group made, or null.
std::shared_ptr<process_group> default_group();
/// Drops the default group (its store and sockets close once no one holds it).
void destroy_process_group();
[[nodiscard]] inline int rank() {
  auto g = default_group();
  return g ? g->rank() : 0;
}
[[nodiscard]] inline int world_size() {
  auto g = default_group();
  return g ? g->size() : 1;
}
/// Rank 0 (or no group): the process that writes checkpoints, logs and the card.
[[nodiscard]] inline bool is_main_process() { return rank() == 0; }

}  // namespace sbert::distributed

#if SBERT_DEFINITIONS
// Debian's libtorch is built with Gloo; its c10d header compiles only with this set.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#if !__has_include(<gloo/context.h>)
#error "sbert/distributed needs Gloo's headers (Debian: apt-get install libgloo-dev)"
#endif
#include <cstdlib>
#include <mutex>

#include <ATen/ops/empty_like.h>
#include <ATen/ops/zeros.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace sbert::distributed {

namespace detail {
inline int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (*end != '\0' || x < 0 || x > 1 << 30)
    throw error(std::string("distributed launch: environment variable ") + name + "='" + v + "' is not a non-negative integer");
  return static_cast<int>(x);
}
inline std::shared_ptr<process_group>& default_group_slot() {
  static std::shared_ptr<process_group> g;
  return g;
}
inline std::mutex& default_group_mutex() {
  static std::mutex m;
  return m;
}
}  // namespace detail

SBERT_INLINE launch_env launch_env::from_env() {
  launch_env e;
  e.launched = std::getenv("WORLD_SIZE") && *std::getenv("WORLD_SIZE");
  e.world_size = detail::env_int("WORLD_SIZE", 1);
  e.rank = detail::env_int("RANK", 0);
  e.local_rank = detail::env_int("LOCAL_RANK", e.rank);
  if (const char* a = std::getenv("MASTER_ADDR"); a && *a) e.master_addr = a;
  e.master_port = detail::env_int("MASTER_PORT", 29500);
  if (e.world_size < 1) throw error("distributed launch: WORLD_SIZE must be at least 1");
  if (e.rank >= e.world_size)
    throw error("distributed launch: RANK=" + std::to_string(e.rank) + " is outside [0, WORLD_SIZE=" +
                std::to_string(e.world_size) + ")");
  if (e.master_port == 0 || e.master_port > 65535)
    throw error("distributed launch: MASTER_PORT=" + std::to_string(e.master_port) + " is not a TCP port");
  if (e.world_size > 1 && (!std::getenv("MASTER_ADDR") || !std::getenv("MASTER_PORT")))
    throw error("distributed launch: WORLD_SIZE=" + std::to_string(e.world_size) +
                " but MASTER_ADDR / MASTER_PORT are not both set (the address and port rank 0 listens on)");
  return e;
}

struct process_group::impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
};

SBERT_INLINE process_group::process_group(std::unique_ptr<impl> p, int rank, int size, std::string backend)
    : impl_(std::move(p)), rank_(rank), size_(size), backend_(std::move(backend)) {}
SBERT_INLINE process_group::~process_group() = default;

SBERT_INLINE std::shared_ptr<process_group> process_group::create(const launch_env& env, const std::string& backend,
                                                                  std::chrono::milliseconds timeout, bool cuda) {
  const std::string be = backend.empty() ? (cuda ? "nccl" : "gloo") : backend;
  if (be != "gloo" && be != "nccl")
    throw error("distributed: backend '" + be + "' is not one sbert has (\"gloo\", \"nccl\", or \"\" to choose)");
  const std::string where = env.master_addr + ":" + std::to_string(env.master_port);
  auto p = std::make_unique<impl>();
  // Under torchrun with its default static rendezvous the launcher's agent already serves the
  // store on MASTER_PORT (TORCHELASTIC_USE_AGENT_STORE=True): every rank is then a client, and
  // keys live under the restart attempt's prefix, as PyTorch's env:// rendezvous does.
  const char* agent = std::getenv("TORCHELASTIC_USE_AGENT_STORE");
  const bool agent_store = agent && std::string(agent) == "True";
  try {
    c10d::TCPStoreOptions o;
    o.port = static_cast<std::uint16_t>(env.master_port);
    o.isServer = env.rank == 0 && !agent_store;
    o.numWorkers = static_cast<std::size_t>(env.world_size);
    o.waitWorkers = !agent_store;
    o.timeout = timeout;
    p->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, o);
    if (agent_store) {
      const char* attempt = std::getenv("TORCHELASTIC_RESTART_COUNT");
      p->store = c10::make_intrusive<c10d::PrefixStore>(std::string("/worker/attempt_") + (attempt && *attempt ? attempt : "0"),
                                                        p->store);
    }
  } catch (const std::exception& ex) {
    throw error("distributed: rank " + std::to_string(env.rank) + " of " + std::to_string(env.world_size) +
                " could not meet the others at MASTER_ADDR:MASTER_PORT = " + where + " within " +
                std::to_string(timeout.count() / 1000) + " s (is rank 0 running, the port free and reachable?): " +
                ex.what());
  }
  try {
    if (be == "gloo") {
      auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
      // Bind to the address the others reach us on: loopback for a one-machine run, the
      // machine's own name otherwise (GLOO_SOCKET_IFNAME picks an interface, as in PyTorch).
      if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
        opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      else if (env.master_addr == "127.0.0.1" || env.master_addr == "localhost")
        opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      else
        opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      opts->threads = 2;
      p->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(p->store, env.rank, env.world_size, opts);
    } else {
#ifdef USE_C10D_NCCL
      auto opts = c10d::ProcessGroupNCCL::Options::create();
      opts->timeout = timeout;
      p->pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(p->store, env.rank, env.world_size, opts);
#else
      throw error("distributed: backend nccl needs a libtorch built with NCCL (USE_C10D_NCCL); this one is CPU-only: use gloo");
#endif
    }
  } catch (const error&) {
    throw;
  } catch (const std::exception& ex) {
    throw error("distributed: creating the " + be + " process group (rank " + std::to_string(env.rank) + " of " +
                std::to_string(env.world_size) + ", store " + where + ") failed: " + ex.what());
  }
  return std::shared_ptr<process_group>(new process_group(std::move(p), env.rank, env.world_size, be));
}

namespace detail {
// c10d reports a dead peer or a timeout as c10::Error; say which collective and rank.
template <class F>
void collective(const char* what, int rank, F&& f) {
  try {
    f()->wait();
  } catch (const std::exception& ex) {
    throw error(std::string("distributed: ") + what + " failed on rank " + std::to_string(rank) +
                " (another rank crashed, or exceeded ddp_timeout): " + ex.what());
  }
}
}  // namespace detail

SBERT_INLINE void process_group::all_reduce_sum(std::vector<at::Tensor>& tensors) {
  if (tensors.empty()) return;
  detail::collective("all_reduce", rank_, [&] { return impl_->pg->allreduce(tensors); });
}
struct process_group::work::impl {
  c10::intrusive_ptr<c10d::Work> w;
  int rank = 0;
};
SBERT_INLINE process_group::work::work() = default;
SBERT_INLINE process_group::work::~work() = default;
SBERT_INLINE process_group::work::work(work&&) noexcept = default;
SBERT_INLINE process_group::work& process_group::work::operator=(work&&) noexcept = default;
SBERT_INLINE void process_group::work::wait() {
  if (!impl_) return;
  auto p = std::move(impl_);
  detail::collective("all_reduce", p->rank, [&] { return p->w; });
}
SBERT_INLINE process_group::work process_group::all_reduce_sum_async(std::vector<at::Tensor>& tensors) {
  work out;
  if (tensors.empty()) return out;
  out.impl_ = std::make_unique<work::impl>();
  out.impl_->rank = rank_;
  try {
    out.impl_->w = impl_->pg->allreduce(tensors);
  } catch (const std::exception& ex) {
    throw error(std::string("distributed: all_reduce failed on rank ") + std::to_string(rank_) + ": " + ex.what());
  }
  return out;
}
SBERT_INLINE void process_group::all_reduce_max(std::vector<at::Tensor>& tensors) {
  if (tensors.empty()) return;
  c10d::AllreduceOptions o;
  o.reduceOp = c10d::ReduceOp::MAX;
  detail::collective("all_reduce", rank_, [&] { return impl_->pg->allreduce(tensors, o); });
}
SBERT_INLINE void process_group::broadcast(std::vector<at::Tensor>& tensors, int root) {
  if (tensors.empty()) return;
  c10d::BroadcastOptions o;
  o.rootRank = root;
  detail::collective("broadcast", rank_, [&] { return impl_->pg->broadcast(tensors, o); });
}
SBERT_INLINE std::vector<at::Tensor> process_group::all_gather(const at::Tensor& t) {
  std::vector<at::Tensor> in{t.contiguous()};
  std::vector<std::vector<at::Tensor>> out(1);
  for (int r = 0; r < size_; ++r) out[0].push_back(at::empty_like(in[0]));
  detail::collective("all_gather", rank_, [&] { return impl_->pg->allgather(out, in); });
  return out[0];
}
SBERT_INLINE void process_group::barrier() {
  // A one-element all-reduce: Gloo's barrier takes no timeout of its own.
  std::vector<at::Tensor> t{at::zeros({1})};
  all_reduce_sum(t);
}

SBERT_INLINE std::shared_ptr<process_group> init_process_group(const std::string& backend, std::chrono::milliseconds timeout,
                                                              bool cuda) {
  std::lock_guard<std::mutex> lock(detail::default_group_mutex());
  auto& g = detail::default_group_slot();
  if (g) return g;
  const auto env = launch_env::from_env();
  if (env.world_size <= 1) return nullptr;
  g = process_group::create(env, backend, timeout, cuda);
  return g;
}
SBERT_INLINE std::shared_ptr<process_group> default_group() {
  std::lock_guard<std::mutex> lock(detail::default_group_mutex());
  return detail::default_group_slot();
}
SBERT_INLINE void destroy_process_group() {
  std::lock_guard<std::mutex> lock(detail::default_group_mutex());
  detail::default_group_slot().reset();
}

}  // namespace sbert::distributed
#endif  // SBERT_DEFINITIONS
