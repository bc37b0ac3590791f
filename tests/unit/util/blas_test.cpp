// select_blas_kernel(): ctest starts this program with OPENBLAS_CORETYPE=Prescott (the SSE3
// kernels OpenBLAS 0.3.21 falls back to on CPUs it does not know), so the library was
// initialised with them before main; the call must move it to the family the CPU supports
// best, and libtorch's matmuls must still be right afterwards.
#include <cstdlib>

#include <ATen/ATen.h>

#include <sbert/util/blas.hpp>

#undef CHECK
#include "catch.hpp"

namespace {
// fp32 matmul through libtorch (OpenBLAS sgemm) against the same product in double.
double sgemm_error() {
  at::manual_seed(3);
  auto a = at::randn({96, 80});
  auto b = at::randn({80, 72});
  auto exact = at::mm(a.to(at::kDouble), b.to(at::kDouble));
  return (at::mm(a, b).to(at::kDouble) - exact).abs().max().item<double>();
}
}  // namespace

TEST_CASE("select_blas_kernel: a forced older kernel is replaced by the CPU's best, once") {
  const double error_before = sgemm_error();
  const auto r = sbert::select_blas_kernel();
  INFO(r.describe());
  REQUIRE(r.openblas);  // scripts/setup.sh installs libopenblas0-openmp: libtorch must be on it
  using sbert::detail::openblas_core_rank;
  const char* started = std::getenv("OPENBLAS_CORETYPE");
  if (started != nullptr && std::string(started) == "Prescott") CHECK(r.before == "Prescott");  // ctest's case
  if (openblas_core_rank(r.before) < openblas_core_rank(r.preferred)) {
    CHECK(r.changed);
    CHECK(r.after == r.preferred);
    CHECK(std::string(std::getenv("OPENBLAS_CORETYPE")) == r.preferred);
  } else {
    CHECK_FALSE(r.changed);
  }
  CHECK(openblas_core_rank(r.after) >= openblas_core_rank(r.preferred));
  CHECK(error_before < 1e-3);
  CHECK(sgemm_error() < 1e-3);  // the new kernels compute the same product

  const auto again = sbert::select_blas_kernel();  // already the best: nothing to do
  CHECK_FALSE(again.changed);
  CHECK(again.before == r.after);
}

TEST_CASE("select_blas_kernel: kernel families are ranked by their vector units") {
  using sbert::detail::openblas_core_rank;
  CHECK(openblas_core_rank("Prescott") < openblas_core_rank("Sandybridge"));
  CHECK(openblas_core_rank("Sandybridge") < openblas_core_rank("Haswell"));
  CHECK(openblas_core_rank("Zen") == openblas_core_rank("Haswell"));
  CHECK(openblas_core_rank("Haswell") < openblas_core_rank("SkylakeX"));
  CHECK(openblas_core_rank("SKYLAKEX") == openblas_core_rank("skylakex"));
  CHECK(openblas_core_rank("SkylakeX") < openblas_core_rank("Cooperlake"));
  CHECK(openblas_core_rank("something new") == 0);
}

TEST_CASE("select_blas_kernel: SBERT_KEEP_OPENBLAS_CORETYPE=1 keeps the kernel the user forced", "[.][keep]") {
  const auto r = sbert::select_blas_kernel();
  REQUIRE(r.openblas);
  CHECK_FALSE(r.changed);
  CHECK(r.after == "Prescott");
  CHECK(sgemm_error() < 1e-3);
}
