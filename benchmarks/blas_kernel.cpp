// fp32 sgemm GFLOP/s through libtorch with the OpenBLAS kernels the process started with, then
// after sbert::select_blas_kernel() switched them to the CPU's best. Start it as a user's shell
// would, e.g. `OPENBLAS_CORETYPE=Haswell build/benchmarks/blas_kernel` on an AVX-512 machine, or
// with no variable set (OpenBLAS 0.3.21 then picks by itself: SSE3 kernels on CPUs it does not
// know). Prints both figures and their ratio.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <sbert/util/blas.hpp>

namespace {
double gflops(int n, int reps) {
  auto a = at::randn({n, n});
  auto b = at::randn({n, n});
  auto c = at::mm(a, b);  // warm-up: thread pool, buffers
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) c = at::mm(a, b);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return 2.0 * n * n * static_cast<double>(n) * reps / s / 1e9;
}
}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 1024;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 20;
  at::set_num_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  const char* env = std::getenv("OPENBLAS_CORETYPE");
  std::printf("OPENBLAS_CORETYPE at start: %s; intra-op threads: %d; sgemm %dx%d, %d reps\n",
              env ? env : "(unset)", at::get_num_threads(), n, n, reps);
  const double before = gflops(n, reps);
  const auto r = sbert::select_blas_kernel();
  const double after = gflops(n, reps);
  std::printf("as started (%s): %.1f GFLOP/s\n", r.before.empty() ? "?" : r.before.c_str(), before);
  std::printf("after select_blas_kernel: %s: %.1f GFLOP/s\n", r.describe().c_str(), after);
  std::printf("ratio after/before: %.2f\n", after / before);
  return r.openblas ? 0 : 1;
}
