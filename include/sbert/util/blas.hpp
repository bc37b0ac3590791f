#pragma once
// The OpenBLAS kernel family, chosen from the CPU's flags at run time.
//
// Debian's libtorch does its fp32 matmuls in whatever BLAS libblas.so.3 points to; with
// libopenblas0-openmp that is OpenBLAS 0.3.21, which picks its kernels once, when it is loaded:
// a CPU model it does not know gets older kernels (down to SSE3 "Prescott"), and a shell may
// export OPENBLAS_CORETYPE=Haswell on an AVX-512 machine (half the sgemm speed). Setting the
// variable in the program is too late: the library was initialised before main. So this asks
// the loaded OpenBLAS for its kernel family and, when the CPU supports a better one, switches it
// through OpenBLAS's own exported entry points (gotoblas_dynamic_quit/_init, which re-run its
// start-up selection under the new OPENBLAS_CORETYPE). Torch-free; nothing happens when the
// BLAS is not a dynamic-arch OpenBLAS (reference BLAS, MKL) or the CPU is not x86-64.
//
// Call it before the first matmul (models::set_threads_from_hardware() does), never while
// another thread is inside BLAS. SBERT_KEEP_OPENBLAS_CORETYPE=1 keeps a kernel the user forced.
#include <dlfcn.h>

#include <cctype>
#include <cstdlib>
#include <string>
#include <string_view>

namespace sbert {

namespace detail {
/// Orders OpenBLAS's x86-64 core names by the vector units their kernels use; unknown = 0.
inline int openblas_core_rank(std::string_view name) {
  std::string n(name);
  for (auto& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (n == "cooperlake" || n == "sapphirerapids") return 4;  // AVX-512 (+ bf16)
  if (n == "skylakex") return 3;                               // AVX-512
  if (n == "haswell" || n == "zen") return 2;                 // AVX2 + FMA
  if (n == "sandybridge" || n == "bulldozer" || n == "piledriver" || n == "steamroller" ||
      n == "excavator")
    return 1;  // AVX
  return 0;
}
}  // namespace detail

/// What select_blas_kernel() found and did.
struct blas_kernel_report {
  bool openblas = false;   ///< a dynamic-arch OpenBLAS is loaded in this process
  std::string before;      ///< its kernel family on entry ("Prescott", "Haswell", "SkylakeX", ...)
  std::string after;       ///< and on return
  std::string preferred;   ///< the best family this CPU supports ("" where none is known)
  bool changed = false;
  /// One line for logs and benchmark output.
  [[nodiscard]] std::string describe() const {
    if (!openblas) return "BLAS: not a dynamic-arch OpenBLAS (kernels not selected by sbert)";
    std::string s = "BLAS: OpenBLAS " + after + " kernels";
    if (changed) s += " (switched from " + before + ")";
    if (!preferred.empty() && detail::openblas_core_rank(after) < detail::openblas_core_rank(preferred))
      s += " (kept; the CPU supports " + preferred + ")";
    return s;
  }
};


/// The best OpenBLAS kernel family for this CPU (the one scripts/env.sh names): "SkylakeX" with
/// AVX-512 F/BW/DQ/VL, "Haswell" with AVX2 + FMA, else "". The OS must have enabled the state
/// (GCC's __builtin_cpu_supports checks XGETBV), so a kernel chosen here never raises SIGILL.
inline std::string preferred_openblas_coretype() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
  return {};
}

/// Switches the loaded OpenBLAS to preferred_openblas_coretype() when its current family is
/// older (never to an older one), unless SBERT_KEEP_OPENBLAS_CORETYPE=1 and OPENBLAS_CORETYPE is
/// set. Safe to call more than once.
inline blas_kernel_report select_blas_kernel() {
  blas_kernel_report r;
  using name_fn = char* (*)();
  using void_fn = void (*)();
  auto corename = reinterpret_cast<name_fn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  auto quit = reinterpret_cast<void_fn>(dlsym(RTLD_DEFAULT, "gotoblas_dynamic_quit"));
  auto init = reinterpret_cast<void_fn>(dlsym(RTLD_DEFAULT, "gotoblas_dynamic_init"));
  r.preferred = preferred_openblas_coretype();
  if (corename == nullptr || quit == nullptr || init == nullptr) return r;
  r.openblas = true;
  const char* now = corename();
  r.before = r.after = now != nullptr ? now : "";
  if (r.preferred.empty() || detail::openblas_core_rank(r.before) >= detail::openblas_core_rank(r.preferred))
    return r;
  const char* keep = std::getenv("SBERT_KEEP_OPENBLAS_CORETYPE");
  if (keep != nullptr && std::string_view(keep) == "1" && std::getenv("OPENBLAS_CORETYPE") != nullptr) return r;
  // OpenBLAS's start-up selection reads the variable: set it, then make it select again.
  setenv("OPENBLAS_CORETYPE", r.preferred.c_str(), 1);
  quit();
  init();
  now = corename();
  r.after = now != nullptr ? now : "";
  r.changed = r.after != r.before;
  return r;
}

}  // namespace sbert
