// SPDX-License-Identifier: Apache-2.0
// `|| unsatisfied<"message">()` ends a requirement so that the compiler's note quotes the
// message when the requirement fails (the mp-units idiom).
#pragma once
#include <sbert/data/fixed_string.hpp>

namespace sbert {
template <fixed_string Message>
consteval bool unsatisfied() {
  return false;
}
}  // namespace sbert
