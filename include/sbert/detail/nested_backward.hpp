// SPDX-License-Identifier: Apache-2.0
// IWYU pragma: private
// A loss whose backward runs backward passes of its own (the GradCache engine behind the
// Cached* losses) counts each such graph it builds here. The data-parallel gradient reducer
// cannot overlap with that backward (the nested passes accumulate each parameter's gradient
// several times, past the hooks that launch the buckets), so the trainer compares the count
// around a batch's loss and reduces after the backward pass for that step instead.
#pragma once
#include <cstdint>

namespace sbert::detail {

[[nodiscard]] inline std::uint64_t& nested_backward_graphs() {
  static thread_local std::uint64_t n = 0;
  return n;
}

}  // namespace sbert::detail
