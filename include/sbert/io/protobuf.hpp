// SPDX-License-Identifier: Apache-2.0
// The protobuf wire format by hand (varints, tags, fixed-width and length-delimited fields),
// for the few messages sbert writes without linking protobuf: TensorBoard's Event
// (training/tensorboard.hpp) and W&B's Record (training/wandb.hpp). Torch-free.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include <sbert/error.hpp>

namespace sbert::protobuf {

inline void varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}
inline void tag(std::string& out, unsigned field, unsigned wire) { varint(out, (static_cast<std::uint64_t>(field) << 3) | wire); }
inline void fixed64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}
inline void fixed32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}
/// A length-delimited field (string, bytes or an embedded message), written even when empty:
/// an empty embedded message still says which member of a oneof is set.
inline void bytes(std::string& out, unsigned field, std::string_view s) {
  tag(out, field, 2);
  varint(out, s.size());
  out.append(s);
}
/// A varint field (int32/int64/bool); negative values take ten bytes, as protobuf writes them.
inline void int_field(std::string& out, unsigned field, std::int64_t v) {
  tag(out, field, 0);
  varint(out, static_cast<std::uint64_t>(v));
}

/// Walks one message; every error names the file and the byte offset within the message.
struct reader {
  std::string_view s;
  std::size_t i = 0;
  const std::string& file;
  const char* message = "protobuf";  ///< the message's name, for errors

  [[noreturn]] void fail(const std::string& what) const {
    throw input_error(file, 0, "", std::string("bad ") + message + " protobuf at byte " + std::to_string(i) + ": " + what);
  }
  [[nodiscard]] bool done() const { return i >= s.size(); }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (i >= s.size()) fail("truncated varint");
      const auto b = static_cast<unsigned char>(s[i++]);
      v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    fail("varint longer than 10 bytes");
  }
  std::uint64_t fixed(int n) {
    if (i + static_cast<std::size_t>(n) > s.size()) fail("truncated fixed-width field");
    std::uint64_t v = 0;
    for (int k = 0; k < n; ++k) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(s[i + k])) << (8 * k);
    i += static_cast<std::size_t>(n);
    return v;
  }
  std::string_view bytes() {
    const auto n = varint();
    if (n > s.size() - i) fail("length-delimited field runs past the end");
    auto r = s.substr(i, n);
    i += n;
    return r;
  }
  void skip(unsigned wire) {
    switch (wire) {
      case 0: varint(); break;
      case 1: fixed(8); break;
      case 2: bytes(); break;
      case 5: fixed(4); break;
      default: fail("unsupported wire type " + std::to_string(wire));
    }
  }
};

}  // namespace sbert::protobuf
