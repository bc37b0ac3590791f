// Test main for executables that link libtorch: intra-op threads from the hardware
// (Debian's libtorch starts with one thread here).
#ifdef SBERT_CATCH3
#include <catch2/catch_session.hpp>
#else
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#endif
#include <ATen/Parallel.h>
#include <thread>
int main(int argc, char** argv) {
  at::set_num_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  return Catch::Session().run(argc, argv);
}
