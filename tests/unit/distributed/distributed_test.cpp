// SPDX-License-Identifier: Apache-2.0
// Exactness of data-parallel training: N Gloo processes on loopback (started by sbert-launch)
// against one process that sees the same global batches, after 10 optimizer steps.
//
//   test_distributed check <case> <sbert-launch> <nproc> <workdir>   the ctest entry
//   test_distributed worker <case> <nproc-of-the-run> <outdir> [...] one process of a run
//   test_distributed unreachable                                      store timeout message
//   test_distributed crash                                            a dead rank fails the others
//
// What "the same" means per case (the one-process reference):
//   cosent, mnrl_local  — each rank's loss is over its own slice, DDP averages the gradients:
//                         one process, batch b, gradient_accumulation_steps N (same micro-batches,
//                         loss / N each: exactly the average)
//   *_gather            — MNRL (mnrls: its symmetric form) with gather_across_devices: one
//                         process with batch N*b; likewise the cached forms (cmnrl, cmnrls:
//                         mini-batches of 3 rows, so a rank's 4 rows take 2), GIST (gist, and
//                         cgist cached) and MegaBatchMargin (megabatch, cmegabatch cached)
//   *_accum             — accumulation 2 in the run, 2 (gather) or 2N (no gather) alone
//   multi_gather        — a multi-dataset run (two MNRL data sets, proportional): batch N*b
//   resume              — a 2-process run resumed from its step-5 checkpoint against the
//                         uninterrupted 2-process run (resume_dropout: with dropout 0.1, so
//                         each rank must get its own generator state back)
//   resume_world        — an N-process gathering MNRL run resumed in one process with batch N*b
//                         against the uninterrupted N-process run; batch b alone is refused
//   ranks_write         — every rank given its own output_dir: only rank 0's gets files
// Launched with sbert-launch, or with PyTorch's torchrun when that is the launcher argument.
//   overlap             — mnrl_gather_accum in 10 KiB buckets, the all-reduce overlapped with
//                         the backward pass against reduced after it: bit-identical, and
//                         buckets were launched before the backward pass returned
//   overlap_cached      — the same with CachedMNRL, whose nested backward falls back
// Compared: each step's loss (|d| <= 1e-6 * max(1, |loss|)), the gradient norm, every
// parameter's gradient at steps 1 and 10 and the final weights (|d| <= 1e-6). Dropout is 0, so
// the runs are deterministic; one thread per process. ctest runs them in float64
// (SBERT_TEST_DOUBLE=1): in float32, 2 ranks are bit-identical to one process for CoSENT, but
// 4 ranks (or accumulation) sum the gradients in another order, and that rounding (~1e-7)
// grows through 10 Adam steps to ~2e-6 in the weights.
#include <ATen/Parallel.h>
#include <ATen/ops/abs.h>
#include <ATen/ops/ones.h>

#include <sbert/data.hpp>
#include <sbert/distributed/data_parallel.hpp>
#include <sbert/distributed/process_group.hpp>
#include <sbert/io/safetensors_torch.hpp>
#include <sbert/losses/cached.hpp>
#include <sbert/losses/cosent.hpp>
#include <sbert/losses/gist_embed.hpp>
#include <sbert/losses/mega_batch_margin.hpp>
#include <sbert/losses/multiple_negatives_ranking.hpp>
#include <sbert/losses/multiple_negatives_symmetric_ranking.hpp>
#include <sbert/models/bert.hpp>
#include <sbert/models/sentence_transformer.hpp>
#include <sbert/models/tokenizers/wordpiece.hpp>
#include <sbert/models/transformer.hpp>
#include <sbert/training/multi_dataset.hpp>
#include <sbert/training/trainer.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct sentence1 : sbert::text_column<"sentence1"> {};
struct sentence2 : sbert::text_column<"sentence2"> {};
struct score : sbert::score_column<"score"> {};
using sts_pairs = sbert::schema<sentence1, sentence2, score>;
using nli_triplets = sbert::schema<sbert::columns::anchor, sbert::columns::positive, sbert::columns::negative>;

std::string shared_dir() {
  const char* s = std::getenv("SBERT_SHARED_DIR");
  return s && *s ? s : SBERT_SHARED_DIR;
}

constexpr std::int64_t kPerDevice = 4;
constexpr std::int64_t kSteps = 10;
constexpr std::size_t kRows = 400;  // more than 10 steps of the largest global batch: one epoch
constexpr std::int64_t kMiniBatch = 3;  // the cached losses' mini-batches: fewer rows than a rank's

// A small BERT at a fixed random initialisation (bert-base vocabulary), without dropout unless
// asked; GIST's guide is another seed's.
std::shared_ptr<sbert::models::sentence_transformer> make_model(double dropout = 0, std::uint64_t seed = 7) {
  at::manual_seed(seed);
  sbert::models::bert_config cfg;
  cfg.hidden_size = 32;
  cfg.num_hidden_layers = 1;
  cfg.num_attention_heads = 2;
  cfg.intermediate_size = 64;
  cfg.hidden_dropout_prob = dropout;
  cfg.attention_probs_dropout_prob = dropout;
  auto encoder = std::make_shared<sbert::models::bert_model>(cfg);
  auto tok = std::make_shared<sbert::models::wordpiece_tokenizer>(
      sbert::models::load_wordpiece(shared_dir() + "/reference/tiny-bert-st"));
  auto t = std::make_shared<sbert::models::transformer>(encoder, tok, sbert::models::transformer_options{.max_seq_length = 32});
  auto m = sbert::models::sentence_transformer::from_parts(t, "mean");
  // SBERT_TEST_DOUBLE=1: float64 weights, so rounding (a different summation order) stays far
  // below the tolerance even where Adam divides a near-zero gradient by its own size.
  if (const char* d = std::getenv("SBERT_TEST_DOUBLE"); d && std::string(d) == "1") m->to(at::kDouble);
  return m;
}

sbert::dataset<sts_pairs> stsb() {
  sbert::read_options o;
  o.header = false;
  o.positions = {{"score", 4}, {"sentence1", 5}, {"sentence2", 6}};
  o.extra_fields = sbert::extra_fields::ignore;
  return sbert::read_tsv<sts_pairs>(shared_dir() + "/data/stsbenchmark/sts-train.csv", o)
      .map_column<score>([](float s) { return s / 5.0f; })
      .take(kRows);
}
sbert::dataset<nli_triplets> nli() {
  return sbert::read_tsv<nli_triplets>(shared_dir() + "/data/nli/nli_dev_triplets.tsv").take(kRows);
}

struct run_config {
  std::string loss;  // "cosent", "mnrl", "mnrls" (symmetric)
  bool gather = false, multi = false;
  std::int64_t batch = kPerDevice, accum = 1;
  std::string resume;             // a checkpoint folder to resume from
  double save_steps = 0;          // > 0: checkpoints every so many steps
  double dropout = 0;             // > 0: each rank draws its own masks (resume_dropout)
  bool per_rank_output = false;   // output_dir under rank{RANK}/ (ranks_write)
  bool overlap = true, cached = false;
  double bucket_mb = 25;
};

// The exactness cases (ctest's distributed.<name>.N): the loss, gathering across devices,
// gradient accumulation and the multi-dataset run. "resume" is the 2-process CoSENT run that
// the resume cases checkpoint and resume.
struct exactness_case {
  std::string_view name, loss;
  bool gather = false;
  std::int64_t accum = 1;
  bool multi = false;
};
constexpr exactness_case kCases[] = {
    {"cosent", "cosent"},
    {"mnrl_local", "mnrl"},
    {"mnrl_gather", "mnrl", true},
    {"mnrls_gather", "mnrls", true},
    {"cosent_accum", "cosent", false, 2},
    {"mnrl_gather_accum", "mnrl", true, 2},
    {"multi_gather", "mnrl", true, 1, true},
    {"cmnrl_gather", "cmnrl", true},
    {"cmnrls_gather", "cmnrls", true},
    {"gist_gather", "gist", true},
    {"cgist_gather", "cgist", true},
    {"megabatch_gather", "megabatch", true},
    {"cmegabatch_gather", "cmegabatch", true},
    {"resume", "cosent"},
};

// The run of case `name` as one of N ranks (distributed) or as the one-process reference:
// gathering -> one process over the global batch (N*b rows); else the same micro-batches
// as accumulation (N times the run's), each loss / (accum N).
run_config config_for(const std::string& name, int n, bool distributed) {
  const auto* k = std::find_if(std::begin(kCases), std::end(kCases), [&](const exactness_case& x) { return x.name == name; });
  if (k == std::end(kCases)) throw std::invalid_argument("test_distributed: no exactness case '" + name + "'");
  run_config c;
  c.loss = std::string(k->loss);
  c.gather = k->gather;
  c.multi = k->multi;
  if (distributed) {
    c.accum = k->accum;
  } else if (c.gather) {
    c.batch = kPerDevice * n;
    c.accum = k->accum;
    c.gather = false;
  } else {
    c.accum = k->accum * n;
  }
  return c;
}

// Trains 10 steps; rank 0 writes steps.txt (step, loss, grad norm), grads.safetensors (every
// gradient at steps 1 and 10, after the all-reduce and clipping) and final.safetensors.
void train_once(const run_config& c, const std::string& out) {
  auto model = make_model(c.dropout);
  const std::string rank = std::getenv("RANK") ? std::getenv("RANK") : "0";
  const bool main = rank == "0";
  if (main) std::filesystem::create_directories(out);
  sbert::training_args args{.output_dir = c.per_rank_output ? out + "/rank" + rank + "/trainer" : out + "/trainer",
                            .max_steps = kSteps,
                            .per_device_train_batch_size = c.batch,
                            .learning_rate = 1e-3,
                            .warmup_steps = 2,
                            .gradient_accumulation_steps = c.accum,
                            .save_strategy = c.save_steps > 0 ? sbert::interval_strategy::steps : sbert::interval_strategy::no,
                            .save_steps = c.save_steps > 0 ? c.save_steps : 500,
                            .logging_steps = 1,
                            .report_to = {c.per_rank_output ? "tensorboard" : "none"},
                            .log_level = sbert::log_level::warning,
                            .disable_progress_bar = true,
                            .ddp_timeout = 60,
                            .ddp_bucket_cap_mb = c.bucket_mb,
                            .ddp_overlap = c.overlap};
  std::vector<std::pair<std::string, at::Tensor>> grads;
  std::string steps;
  sbert::callback cb;
  cb.on_pre_optimizer_step = [&](sbert::train_state& st) {
    if (st.global_step != 0 && st.global_step != kSteps - 1) return;
    for (const auto& p : model->named_parameters(true))
      if (p.value().grad().defined())
        grads.emplace_back("step" + std::to_string(st.global_step + 1) + "." + p.key(), p.value().grad().clone());
  };
  cb.on_step_end = [&](sbert::train_state& st) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "%lld %.17g %.17g\n", static_cast<long long>(st.global_step), st.step_loss,
                  st.step_grad_norm.value_or(-1));
    steps += buf;
  };
  sbert::multiple_negatives_ranking_loss mnrl{{.gather_across_devices = c.gather}};
  // Runs the trainer on `data` with `loss` (one instantiation per loss type).
  auto fit = [&](auto data, auto loss) {
    sbert::trainer t{model, args, std::move(data), std::move(loss)};
    t.add_callback(cb);
    t.train(c.resume);
  };
  auto nli_pairs = [] { return nli().remove_columns<sbert::columns::negative>(); };
  const sbert::gist_options gist{.gather_across_devices = c.gather};
  const sbert::mega_batch_margin_loss mega{{.gather_across_devices = c.gather}};
  if (c.multi) {
    auto triplets = nli();
    auto pairs = triplets.remove_columns<sbert::columns::negative>();
    sbert::multi_dataset_trainer t{model, args, sbert::train_on("pairs", std::move(pairs), mnrl),
                                   sbert::train_on("triplets", std::move(triplets), mnrl)};
    t.add_callback(cb);
    t.train(c.resume);
  } else if (c.cached) {
    sbert::trainer t{model, args, nli(), sbert::cached_multiple_negatives_ranking_loss{sbert::cached_multiple_negatives_ranking_loss::options{.mini_batch_size = 2}}};
    t.add_callback(cb);
    t.train(c.resume);
  } else if (c.loss == "cosent") {
    sbert::trainer t{model, args, stsb(), sbert::cosent_loss{}};
    t.add_callback(cb);
    t.train(c.resume);
  } else if (c.loss == "cmnrl") {
    fit(nli(), sbert::cached_multiple_negatives_ranking_loss{mnrl, {.mini_batch_size = kMiniBatch}});
  } else if (c.loss == "cmnrls") {
    fit(nli(), sbert::cached_multiple_negatives_symmetric_ranking_loss{
                   sbert::multiple_negatives_symmetric_ranking_loss{{.gather_across_devices = c.gather}}, {.mini_batch_size = kMiniBatch}});
  } else if (c.loss == "gist") {
    fit(nli(), sbert::gist_embed_loss{make_model(0, 11), gist});
  } else if (c.loss == "cgist") {
    fit(nli(), sbert::cached_gist_embed_loss{make_model(0, 11), gist, kMiniBatch});
  } else if (c.loss == "megabatch") {
    fit(nli_pairs(), mega);
  } else if (c.loss == "cmegabatch") {
    fit(nli_pairs(), sbert::grad_cache_loss<sbert::mega_batch_margin_loss>{mega, {.mini_batch_size = kMiniBatch}});
  } else if (c.loss == "mnrls") {
    sbert::trainer t{model, args, nli(), sbert::multiple_negatives_symmetric_ranking_loss{{.gather_across_devices = c.gather}}};
    t.add_callback(cb);
    t.train(c.resume);
  } else {
    sbert::trainer t{model, args, nli(), mnrl};
    t.add_callback(cb);
    t.train(c.resume);
  }
  if (!main) return;
  const auto st = sbert::distributed::overlap_stats();
  std::ofstream(out + "/overlap.txt") << st.overlapped_steps << ' ' << st.fallback_steps << ' ' << st.buckets << ' '
                                      << st.early_buckets << '\n';
  std::ofstream(out + "/steps.txt") << steps;
  if (!grads.empty()) sbert::safetensors::save_file(out + "/grads.safetensors", grads);
  std::vector<std::pair<std::string, at::Tensor>> w;
  for (const auto& p : model->named_parameters(true)) w.emplace_back(p.key(), p.value());
  sbert::safetensors::save_file(out + "/final.safetensors", w);
}

std::map<long long, std::pair<double, double>> read_steps(const std::string& file) {
  std::map<long long, std::pair<double, double>> out;
  std::ifstream f(file);
  long long s;
  double l, g;
  while (f >> s >> l >> g) out[s] = {l, g};
  return out;
}

// Largest |a - b| over the tensors both files hold; every name must be in both.
double max_diff(const std::string& a, const std::string& b, bool& ok) {
  auto ta = sbert::safetensors::load_file(a), tb = sbert::safetensors::load_file(b);
  std::map<std::string, at::Tensor> mb(tb.begin(), tb.end());
  double worst = 0;
  if (ta.size() != tb.size()) {
    std::printf("FAIL %s and %s hold %zu and %zu tensors\n", a.c_str(), b.c_str(), ta.size(), tb.size());
    ok = false;
  }
  for (const auto& [name, t] : ta) {
    auto it = mb.find(name);
    if (it == mb.end()) {
      std::printf("FAIL %s is not in %s\n", name.c_str(), b.c_str());
      ok = false;
      continue;
    }
    worst = std::max(worst, (t.to(at::kDouble) - it->second.to(at::kDouble)).abs().max().item<double>());
  }
  return worst;
}

int run_and_wait(const std::string& cmd) {
  std::printf("+ %s\n", cmd.c_str());
  std::fflush(stdout);
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

std::string self_exe() { return std::filesystem::read_symlink("/proc/self/exe").string(); }

// A TCP port nothing listens on now (the kernel's pick for a throwaway socket).
int free_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return static_cast<int>(ntohs(a.sin_port));
}

// The command that starts `n` processes of `args` with `launcher`: sbert-launch, or PyTorch's
// torchrun (its default static rendezvous: the agent serves the store on --master_port and the
// workers are its clients). `--redirects 2 --tee 2`: Debian's torchrun 1.13 under Python 3.11
// fails on the default "0" (its Std.from_str finds no zero IntFlag member); 2 keeps stderr
// flowing to the console and is valid on every torchrun.
std::string launch(const std::string& launcher, int n, const std::string& args) {
  if (std::filesystem::path(launcher).filename() == "torchrun")
    return launcher + " --nproc_per_node " + std::to_string(n) + " --master_addr 127.0.0.1 --master_port " +
           std::to_string(free_port()) + " --redirects 2 --tee 2 --no_python " + args;
  return launcher + " --nproc " + std::to_string(n) + " -- " + args;
}

// Rank 0 alone writes: each rank gets its own output_dir (rank{RANK}/trainer), checkpoints
// every 5 steps and TensorBoard logs; rank 1's folder must hold no file at all.
int check_ranks_write(const std::string& launcher, int n, const std::filesystem::path& dir) {
  if (run_and_wait(launch(launcher, n, self_exe() + " worker ranks_write " + std::to_string(n) + " " + (dir / "dist").string())) != 0)
    return 1;
  auto files_under = [](const std::filesystem::path& p) {
    std::vector<std::string> out;
    if (std::filesystem::exists(p))
      for (const auto& e : std::filesystem::recursive_directory_iterator(p))
        if (!e.is_directory()) out.push_back(e.path().string());
    return out;
  };
  bool ok = true;
  for (int r = 1; r < n; ++r)
    for (const auto& f : files_under(dir / "dist" / ("rank" + std::to_string(r)))) {
      std::printf("FAIL rank %d wrote %s\n", r, f.c_str());
      ok = false;
    }
  const auto main_dir = dir / "dist" / "rank0" / "trainer";
  for (const char* want : {"checkpoint-5/trainer_state.json", "checkpoint-10/model.safetensors", "checkpoint-10/rng_state.safetensors"})
    if (!std::filesystem::exists(main_dir / want)) {
      std::printf("FAIL rank 0 did not write %s\n", (main_dir / want).c_str());
      ok = false;
    }
  bool events = false;
  for (const auto& f : files_under(main_dir)) events = events || f.find("tfevents") != std::string::npos;
  if (!events) std::printf("FAIL rank 0 wrote no TensorBoard events file\n");
  ok = ok && events;
  std::printf("rank 0 wrote %zu files, the other ranks none\n", files_under(main_dir).size());
  if (ok) std::filesystem::remove_all(dir);
  std::printf(ok ? "PASS\n" : "FAIL\n");
  return ok ? 0 : 1;
}

// The overlap cases' runs: on (the default) or off, in 10 KiB buckets (the small BERT's
// tensors then fill many).
run_config overlap_config(const std::string& name) {
  run_config c;
  c.cached = name.starts_with("overlap_cached");
  c.loss = "mnrl";
  c.gather = !c.cached;  // CachedMNRL does not gather
  c.accum = c.cached ? 1 : 2;
  c.overlap = name.ends_with("_on");
  c.bucket_mb = 0.01;
  return c;
}

// The same 2-process run with the all-reduce overlapped and after the backward pass: the
// steps, gradients and weights must be equal bit for bit, and the overlapped run must have
// overlapped (buckets launched before the backward pass returned), or fallen back on every
// step for the cached loss.
int check_overlap(const std::string& name, const std::string& launcher, const std::string& work) {
  const auto dir = std::filesystem::path(work) / name;
  std::filesystem::remove_all(dir);
  const std::string on = (dir / "on").string(), off = (dir / "off").string();
  for (const auto& [mode, out] : {std::pair{"_on", on}, std::pair{"_off", off}})
    if (run_and_wait(launcher + " --nproc 2 -- " + self_exe() + " worker " + name + mode + " 2 " + out) != 0) return 1;
  bool ok = true;
  auto slurp = [](const std::string& f) {
    std::ifstream in(f);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const auto s_on = slurp(on + "/steps.txt"), s_off = slurp(off + "/steps.txt");
  std::printf("overlapped:\n%sreduced after the backward pass:\n%s", s_on.c_str(), s_off.c_str());
  if (s_on.empty() || s_on != s_off) {
    std::printf("FAIL the logged steps differ\n");
    ok = false;
  }
  const double wg = max_diff(on + "/grads.safetensors", off + "/grads.safetensors", ok);
  const double ww = max_diff(on + "/final.safetensors", off + "/final.safetensors", ok);
  long long st_on[4] = {}, st_off[4] = {};
  {
    std::ifstream a(on + "/overlap.txt"), b(off + "/overlap.txt");
    for (auto& x : st_on) a >> x;
    for (auto& x : st_off) b >> x;
  }
  std::printf("%s: gradients differ by %.3g, final weights by %.3g (must be 0); overlapped run: %lld steps overlapped, "
              "%lld fell back, %lld buckets, %lld launched before the backward pass returned; the other: %lld overlapped\n",
              name.c_str(), wg, ww, st_on[0], st_on[1], st_on[2], st_on[3], st_off[0]);
  ok = ok && wg == 0 && ww == 0 && st_off[0] == 0 && st_off[1] == 0;
  if (name == "overlap_cached") ok = ok && st_on[0] == 0 && st_on[1] == kSteps;
  else ok = ok && st_on[0] == kSteps && st_on[1] == 0 && st_on[2] >= 3 * kSteps && st_on[3] >= 1;
  if (ok) std::filesystem::remove_all(dir);
  std::printf(ok ? "PASS\n" : "FAIL\n");
  return ok ? 0 : 1;
}

int check(const std::string& name, const std::string& launcher, int n, const std::string& work) {
  const auto dir = std::filesystem::path(work) / (name + "_n" + std::to_string(n));
  std::filesystem::remove_all(dir);
  const std::string dist = (dir / "dist").string(), ref = (dir / "ref").string();
  if (name == "ranks_write") return check_ranks_write(launcher, n, dir);
  if (name == "resume" || name == "resume_dropout") {
    // The uninterrupted run (checkpoints every 5 steps), then a run resumed from its step 5.
    // With dropout each rank must get its own generator state back.
    const std::string variant = name == "resume" ? "" : " dropout";
    if (run_and_wait(launch(launcher, n, self_exe() + " worker resume_full " + ref + variant)) != 0) return 1;
    std::filesystem::create_directories(dist + "/trainer");
    std::filesystem::copy(ref + "/trainer/checkpoint-5", dist + "/trainer/checkpoint-5", std::filesystem::copy_options::recursive);
    if (run_and_wait(launch(launcher, n, self_exe() + " worker resume_from " + dist + variant)) != 0) return 1;
  } else if (name == "resume_world") {
    // An n-process MNRL run gathering across devices (global batch n*4), resumed from its
    // step 5 in ONE process with batch n*4: the same global batches, the same loss. A resume
    // whose global batch differs is refused with a message first.
    if (run_and_wait(launch(launcher, n, self_exe() + " worker resume_world_full " + std::to_string(n) + " " + ref)) != 0) return 1;
    std::filesystem::create_directories(dist + "/trainer");
    std::filesystem::copy(ref + "/trainer/checkpoint-5", dist + "/trainer/checkpoint-5", std::filesystem::copy_options::recursive);
    run_config c;
    c.loss = "mnrl";
    c.resume = dist + "/trainer/checkpoint-5";
    try {
      train_once(c, dist);  // batch 4: a global batch of 4, not n*4
      std::printf("FAIL resuming with another global batch size was not refused\n");
      return 1;
    } catch (const sbert::error& e) {
      std::printf("refused as expected: %s\n", e.what());
      if (std::string(e.what()).find("global batch of " + std::to_string(n * kPerDevice) + " rows") == std::string::npos) return 1;
    }
    c.batch = kPerDevice * n;
    std::printf("+ one process, resumed from the %d-process checkpoint\n", n);
    std::fflush(stdout);
    train_once(c, dist);
  } else {
    if (run_and_wait(launch(launcher, n, self_exe() + " worker " + name + " " + std::to_string(n) + " " + dist)) != 0)
      return 1;
    std::printf("+ one process, reference\n");
    std::fflush(stdout);
    train_once(config_for(name, n, false), ref);
  }
  bool ok = true;
  const auto sd = read_steps(dist + "/steps.txt"), sr = read_steps(ref + "/steps.txt");
  if (sd.empty() || (!name.starts_with("resume") && sd.size() != static_cast<std::size_t>(kSteps))) {
    std::printf("FAIL the distributed run logged %zu steps\n", sd.size());
    ok = false;
  }
  double worst_loss = 0, worst_norm = 0;
  for (const auto& [step, v] : sd) {
    auto it = sr.find(step);
    if (it == sr.end()) {
      std::printf("FAIL step %lld is missing from the reference\n", step);
      ok = false;
      continue;
    }
    const double dl = std::abs(v.first - it->second.first) / std::max(1.0, std::abs(it->second.first));
    const double dn = std::abs(v.second - it->second.second) / std::max(1.0, std::abs(it->second.second));
    std::printf("step %2lld  loss %.9f vs %.9f  grad_norm %.9f vs %.9f\n", step, v.first, it->second.first, v.second,
                it->second.second);
    worst_loss = std::max(worst_loss, dl);
    worst_norm = std::max(worst_norm, dn);
  }
  const bool resumed = name.starts_with("resume");
  const double wg = resumed ? 0.0 : max_diff(dist + "/grads.safetensors", ref + "/grads.safetensors", ok);
  const double ww = max_diff(dist + "/final.safetensors", ref + "/final.safetensors", ok);
  std::printf("%s, %d processes: max loss diff %.3g (relative), grad norm %.3g, gradients %.3g, final weights %.3g; tolerance 1e-6\n",
              name.c_str(), n, worst_loss, worst_norm, wg, ww);
  ok = ok && worst_loss <= 1e-6 && worst_norm <= 1e-6 && wg <= 1e-6 && ww <= 1e-6;
  // A run that learned nothing would pass trivially: the weights must have moved.
  {
    std::vector<std::pair<std::string, at::Tensor>> w;
    for (const auto& p : make_model()->named_parameters(true)) w.emplace_back(p.key(), p.value());
    sbert::safetensors::save_file((dir / "init.safetensors").string(), w);
    const double moved = max_diff(ref + "/final.safetensors", (dir / "init.safetensors").string(), ok);
    std::printf("the weights moved by up to %.3g in training\n", moved);
    ok = ok && moved > 1e-4;
  }
  if (ok) std::filesystem::remove_all(dir);
  std::printf(ok ? "PASS\n" : "FAIL\n");
  return ok ? 0 : 1;
}

// A rank whose store is not there fails within ddp_timeout, naming the address.
int unreachable() {
  ::setenv("WORLD_SIZE", "2", 1);
  ::setenv("RANK", "1", 1);
  ::setenv("MASTER_ADDR", "127.0.0.1", 1);
  ::setenv("MASTER_PORT", "1", 1);  // nothing listens on port 1
  try {
    (void)sbert::distributed::init_process_group("gloo", std::chrono::milliseconds(1500));
  } catch (const sbert::error& e) {
    const std::string m = e.what();
    std::printf("%s\n", m.c_str());
    return m.find("127.0.0.1:1 ") != std::string::npos ? 0 : 1;
  }
  std::printf("FAIL: no error\n");
  return 1;
}

// A rank that dies makes the others' next collective fail with an error (Gloo sees the closed
// connection) well within ddp_timeout, instead of hanging: rank 1 (a child process) joins the
// group and exits; rank 0 then all-reduces.
int crash() {
  const int port = free_port();
  ::setenv("WORLD_SIZE", "2", 1);
  ::setenv("MASTER_ADDR", "127.0.0.1", 1);
  ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
  const std::string self = self_exe();
  const pid_t child = ::fork();
  if (child == 0) {
    ::setenv("RANK", "1", 1);
    ::execl(self.c_str(), self.c_str(), "crash_child", static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  ::setenv("RANK", "0", 1);
  const auto timeout = std::chrono::seconds(20);
  auto g = sbert::distributed::init_process_group("gloo", timeout);
  int status = 0;
  ::waitpid(child, &status, 0);  // rank 1 has left
  const auto t0 = std::chrono::steady_clock::now();
  try {
    std::vector<at::Tensor> t{at::ones({4})};
    g->all_reduce_sum(t);
  } catch (const sbert::error& e) {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("after %.2f s: %s\n", s, e.what());
    return std::string(e.what()).find("all_reduce failed on rank 0") != std::string::npos && s < 20 ? 0 : 1;
  }
  std::printf("FAIL: the all-reduce with a dead rank returned\n");
  return 1;
}

int crash_child() {
  (void)sbert::distributed::init_process_group("gloo", std::chrono::seconds(20));
  std::_Exit(1);  // dies without a goodbye, as a crash would
}

}  // namespace

int main(int argc, char** argv) try {
  at::set_num_threads(1);
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "check" && argc == 5 && std::string(argv[2]).starts_with("overlap")) return check_overlap(argv[2], argv[3], argv[4]);
  if (mode == "check" && argc == 6) return check(argv[2], argv[3], std::atoi(argv[4]), argv[5]);
  if (mode == "worker" && argc >= 4) {
    const std::string name = argv[2];
    if (name == "resume_full" || name == "resume_from") {
      auto c = config_for("resume", 2, true);
      c.save_steps = 5;
      if (argc > 4 && std::string(argv[4]) == "dropout") c.dropout = 0.1;
      if (name == "resume_from") c.resume = std::string(argv[3]) + "/trainer/checkpoint-5";
      train_once(c, argv[3]);
      return 0;
    }
    if (argc != 5) return 2;
    if (name == "resume_world_full") {
      run_config c;
      c.loss = "mnrl";
      c.gather = true;
      c.save_steps = 5;
      train_once(c, argv[4]);
      return 0;
    }
    if (name == "ranks_write") {
      auto c = config_for("cosent", std::atoi(argv[3]), true);
      c.save_steps = 5;
      c.per_rank_output = true;
      train_once(c, argv[4]);
      return 0;
    }
    if (name.starts_with("overlap")) {
      train_once(overlap_config(name), argv[4]);
      return 0;
    }
    train_once(config_for(name, std::atoi(argv[3]), true), argv[4]);
    return 0;
  }
  if (mode == "unreachable") return unreachable();
  if (mode == "crash") return crash();
  if (mode == "crash_child") return crash_child();
  std::fprintf(stderr, "usage: test_distributed check CASE LAUNCHER NPROC WORKDIR | worker ... | unreachable\n");
  return 2;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error (rank %s): %s\n", std::getenv("RANK") ? std::getenv("RANK") : "-", e.what());
  return 1;
}
