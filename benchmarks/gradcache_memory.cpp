// Peak memory of one training step (forward + backward) with CachedMultipleNegativesRankingLoss
// (GradCache, mini-batch 32) against the plain MultipleNegativesRankingLoss, for batches of
// 64 ... 4096 (anchor, positive) pairs of short texts on the tiny reference model. Each step
// runs in a fresh child process so that its peak RSS (getrusage ru_maxrss) is its own; the
// figure printed is the growth of the peak over the process's RSS before the step.
//   usage: gradcache_memory [reference_dir] [max_batch]
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include <ATen/Parallel.h>

#include <sbert/losses/cached.hpp>
#include <sbert/losses/multiple_negatives_ranking.hpp>
#include <sbert/models/sentence_transformer.hpp>

namespace {
long peak_rss_kib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

long current_rss_kib() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

std::vector<std::string> texts(std::size_t n, const char* kind) {
  static const char* words[] = {"red", "river", "quiet", "market", "train", "winter", "paper", "garden", "music", "stone", "bright", "city"};
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(std::string("a ") + kind + " about the " + words[i % 12] + " " + words[(i / 12) % 12] + " " + words[(i / 144) % 12] + " number " + std::to_string(i));
  return out;
}

/// One step in this (child) process; prints a line with the peak growth.
void step(const std::string& ref, std::size_t batch, bool cached) {
  at::set_num_threads(1);
  auto m = sbert::models::sentence_transformer::load(ref + "/tiny-bert-st");
  m->train();
  auto a = texts(batch, "question"), p = texts(batch, "answer");
  std::vector<sbert::models::features> f{m->tokenize(a), m->tokenize(p)};
  const long before = current_rss_kib();
  const long peak_before = peak_rss_kib();
  const auto t0 = std::chrono::steady_clock::now();
  at::Tensor loss;
  if (cached) {
    sbert::cached_multiple_negatives_ranking_loss l({.mini_batch_size = 32});
    loss = l(*m, f, {});
  } else {
    std::vector<at::Tensor> e;
    for (auto& x : f) {
      m->forward(x);
      e.push_back(x.sentence_embedding);
    }
    loss = sbert::multiple_negatives_ranking_loss{}(e, {});
  }
  loss.backward();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const long peak = peak_rss_kib();
  std::printf("%-7s batch %5zu: peak RSS %7.1f MiB, step growth %7.1f MiB (loss %.4f, %.1f s)\n", cached ? "cached" : "plain", batch,
              static_cast<double>(peak) / 1024, static_cast<double>(peak - std::max(before, peak_before)) / 1024, loss.item<double>(), secs);
  std::fflush(stdout);
}
}  // namespace

int main(int argc, char** argv) {
  const std::string ref = argc > 1 ? argv[1] : std::string(SBERT_SHARED_DIR) + "/reference";
  const std::size_t max_batch = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 4096;
  std::printf("GradCache memory: one MNRL training step on tiny-bert-st, short texts, one thread\n");
  std::fflush(stdout);  // before fork: the children must not inherit a full buffer
  for (bool cached : {false, true}) {
    for (std::size_t b = 64; b <= max_batch; b *= 2) {
      if (!cached && b > 1024) break;  // the plain loss's growth is clear by then
      const pid_t pid = fork();
      if (pid == 0) {
        try {
          step(ref, b, cached);
        } catch (const std::exception& e) {
          std::fprintf(stderr, "batch %zu: %s\n", b, e.what());
          _exit(1);
        }
        _exit(0);
      }
      int status = 0;
      waitpid(pid, &status, 0);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
    }
  }
  return 0;
}
