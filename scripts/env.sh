# Sourced by the scripts: runtime settings for Debian's libtorch on this CPU.
# OpenBLAS 0.3.21 does not recognise recent CPUs and falls back to SSE3 kernels; name the
# newest kernel family the CPU really supports (never one it lacks: that would be SIGILL).
# A shell may export an older family (Haswell on an AVX-512 machine costs fp32 training ~40 %,
# see README): that is replaced too, unless SBERT_KEEP_OPENBLAS_CORETYPE=1 says it is wanted.
if [ "${SBERT_KEEP_OPENBLAS_CORETYPE:-0}" != 1 ] && [ -r /proc/cpuinfo ]; then
  flags="$(grep -m1 '^flags' /proc/cpuinfo)"
  case "$flags" in
    *avx512f*) export OPENBLAS_CORETYPE=SkylakeX ;;
    *avx2*)    export OPENBLAS_CORETYPE=Haswell ;;
  esac
fi
