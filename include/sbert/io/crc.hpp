// SPDX-License-Identifier: Apache-2.0
// Table-driven reflected CRC-32 for any polynomial: CRC32C (Castagnoli) for TensorBoard's
// TFRecord framing (training/tensorboard.hpp), the IEEE CRC-32 of zlib for W&B's datastore
// (training/wandb.hpp). Torch-free.
#pragma once
#include <array>
#include <cstdint>
#include <string_view>

namespace sbert::crc {

/// The 256-entry table of the reflected polynomial `poly` (0xEDB88320 IEEE, 0x82F63B78 Castagnoli).
[[nodiscard]] constexpr std::array<std::uint32_t, 256> reflected_table(std::uint32_t poly) {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ poly : c >> 1;
    t[i] = c;
  }
  return t;
}

inline constexpr auto ieee_table = reflected_table(0xEDB88320u);
inline constexpr auto castagnoli_table = reflected_table(0x82F63B78u);

/// The CRC of `data` with `table`, continuing from `crc` (zlib's crc32(data, crc) convention:
/// 0 starts a new one).
[[nodiscard]] inline std::uint32_t update(const std::array<std::uint32_t, 256>& table, std::string_view data,
                                          std::uint32_t crc = 0) {
  std::uint32_t c = crc ^ 0xFFFFFFFFu;
  for (unsigned char b : data) c = table[(c ^ b) & 0xFFu] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

}  // namespace sbert::crc
