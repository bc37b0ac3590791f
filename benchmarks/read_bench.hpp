// Shared by the file-read benchmarks: real rows repeated into a >= 100 MB file written with
// sbert's writers, and cold/warm read timing on one core (the readers are single-threaded and
// these programs do not link libtorch, so no other thread runs).
#pragma once
#include <sbert/data/dataset.hpp>

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace bench {

/// `base` repeated until writing it with `write` gives a file of at least `min_bytes`; the
/// per-copy size comes from writing `base` once (repeats a megabyte apart do not compress
/// against each other, so sizes add up).
template <class S, class Write>
std::size_t write_repeated(const sbert::dataset<S>& base, const std::string& path, std::size_t min_bytes, Write write) {
  write(base, path);
  const auto one = std::filesystem::file_size(path);
  const std::size_t copies = (min_bytes + one - 1) / one + 1;  // +1: the footer/schema is counted once
  typename sbert::dataset<S>::storage cols;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ([&](auto& out, const auto& in) {
      out.reserve(in.size() * copies);
      for (std::size_t i = 0; i < copies; ++i) out.insert(out.end(), in.begin(), in.end());
    }(std::get<I>(cols), std::get<I>(base.columns())), ...);
  }(std::make_index_sequence<S::column_count>{});
  const sbert::dataset<S> big(std::move(cols));
  write(big, path);
  return big.size();
}

struct figures {
  double first_s = 0, cold_s = 1e30, warm_s = 1e30;
};

/// `read()` timed (it returns what it read, freed after the clock stops: freeing a data set is
/// its owner's cost, not the reader's): the first call, on a heap trimmed of what writing the
/// file left (as in a fresh process); the best of 3 with the default heap (glibc gives large
/// freed blocks back, so every read writes its strings to fresh pages, as a one-off read does:
/// "cold"); the best of 3 with a heap that keeps freed memory ("warm": the reader's own work).
/// The file is in the page cache throughout (it was just written).
inline figures time_reads(const std::function<std::shared_ptr<void>()>& read) {
  figures f;
  auto once = [&] {
    const auto t0 = std::chrono::steady_clock::now();
    auto kept = read();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    kept.reset();
    return s;
  };
  malloc_trim(0);
  f.first_s = once();
  for (int i = 0; i < 3; ++i) f.cold_s = std::min(f.cold_s, once());
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 512 << 20);
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  for (int i = 0; i < 3; ++i) f.warm_s = std::min(f.warm_s, once());
  return f;
}

/// Whether glibc backs this process's heap with transparent huge pages (the tunable is read at
/// start-up, so it can only come from the environment).
inline bool thp_heap() {
  const char* t = std::getenv("GLIBC_TUNABLES");
  return t != nullptr && (std::strstr(t, "glibc.malloc.hugetlb=1") != nullptr || std::strstr(t, "glibc.malloc.hugetlb=2") != nullptr);
}

/// A one-off read writes every output string to fresh heap pages; with 4 KiB pages the kernel's
/// page faults cost more than parsing. After the default-heap figures, run the same program once
/// more with glibc's transparent-huge-page heap (glibc >= 2.35, THP "madvise" or "always"), so
/// one run prints both. SBERT_BENCH_ONE_HEAP=1 skips the second run.
inline void rerun_with_thp_heap(char** argv) {
  if (thp_heap() || std::getenv("SBERT_BENCH_ONE_HEAP") != nullptr) return;
  std::ifstream thp("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string mode((std::istreambuf_iterator<char>(thp)), std::istreambuf_iterator<char>());
  if (mode.empty() || mode.find("[never]") != std::string::npos) {
    std::printf("(transparent huge pages are off on this machine: no THP-heap figures)\n");
    return;
  }
  const char* old = std::getenv("GLIBC_TUNABLES");
  const std::string tunables = old != nullptr && *old != '\0' ? std::string(old) + ":glibc.malloc.hugetlb=1" : "glibc.malloc.hugetlb=1";
  ::setenv("GLIBC_TUNABLES", tunables.c_str(), 1);
  std::fflush(stdout);
  ::execv("/proc/self/exe", argv);
  std::perror("execv /proc/self/exe");  // the default-heap figures stand
}

inline void report(const char* program, const std::string& what, std::size_t bytes, std::size_t rows, const figures& f,
                   const char* goal) {
  const double mb = static_cast<double>(bytes) / 1e6;
  auto line = [&](const char* name, double s) { std::printf(" %s %.0f MB/s (%.2f M rows/s);", name, mb / s, static_cast<double>(rows) / s / 1e6); };
  std::printf("%s: %s: %.1f MB, %zu rows, heap %s:", program, what.c_str(), mb, rows,
              thp_heap() ? "THP (glibc.malloc.hugetlb=1)" : "4 KiB pages (glibc default)");
  line("first read", f.first_s);
  line("cold heap", f.cold_s);
  line("warm heap", f.warm_s);
  std::printf(" goal %s\n", goal);
  std::fflush(stdout);
}

}  // namespace bench
