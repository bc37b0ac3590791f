// SPDX-License-Identifier: Apache-2.0
// A translation unit that only includes the umbrella header: the floor of benchmarks/compile_time.sh
// (what any program that includes sbert.hpp pays before its own code).
#include <sbert/sbert.hpp>
int main() { return 0; }
