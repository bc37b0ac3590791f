// SPDX-License-Identifier: Apache-2.0
// A string usable as a template argument: column names and diagnostic messages.
#pragma once
#include <algorithm>
#include <cstddef>
#include <string_view>

namespace sbert {

template <std::size_t N>
struct fixed_string {
  char data[N]{};
  constexpr fixed_string(const char (&s)[N]) { std::copy_n(s, N, data); }  // NOLINT: implicit by design
  [[nodiscard]] constexpr std::string_view view() const { return {data, N - 1}; }
  [[nodiscard]] static constexpr std::size_t size() { return N - 1; }
};

}  // namespace sbert
