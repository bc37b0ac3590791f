// SPDX-License-Identifier: Apache-2.0
// Writing JSON by hand, formatted byte for byte as Python's json.dumps does, so the files sbert
// writes (modules.json, config.json, ...) are identical to those the Python library writes.
// Reading JSON is simdjson's job; this header only writes.
#pragma once
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace sbert::json {

/// A JSON value to write. Objects keep insertion order (Python dicts do).
class value {
 public:
  using array = std::vector<value>;
  using object = std::vector<std::pair<std::string, value>>;

  value() = default;                                    // null
  value(std::nullptr_t) {}
  value(bool b) : v_(b) {}
  value(int i) : v_(static_cast<std::int64_t>(i)) {}
  value(long i) : v_(static_cast<std::int64_t>(i)) {}
  value(long long i) : v_(static_cast<std::int64_t>(i)) {}
  value(unsigned i) : v_(static_cast<std::int64_t>(i)) {}
  value(unsigned long i) : v_(static_cast<std::int64_t>(i)) {}
  value(unsigned long long i) : v_(static_cast<std::int64_t>(i)) {}
  value(double d) : v_(d) {}
  value(float f) : v_(static_cast<double>(f)) {}
  value(const char* s) : v_(std::string(s)) {}
  value(std::string s) : v_(std::move(s)) {}
  value(std::string_view s) : v_(std::string(s)) {}
  value(array a) : v_(std::make_shared<array>(std::move(a))) {}
  value(object o) : v_(std::make_shared<object>(std::move(o))) {}

  static value make_array() { return value(array{}); }
  static value make_object() { return value(object{}); }

  [[nodiscard]] bool is_null() const { return std::holds_alternative<std::monostate>(v_); }
  [[nodiscard]] bool is_array() const { return std::holds_alternative<std::shared_ptr<array>>(v_); }
  [[nodiscard]] bool is_object() const {
    return std::holds_alternative<std::shared_ptr<object>>(v_);
  }

  /// Append to an object (the value must be one); returns *this for chaining.
  value& set(std::string key, value v) {
    auto& o = *std::get<std::shared_ptr<object>>(v_);
    for (auto& [k, old] : o)
      if (k == key) {
        old = std::move(v);
        return *this;
      }
    o.emplace_back(std::move(key), std::move(v));
    return *this;
  }
  value& push(value v) {
    std::get<std::shared_ptr<array>>(v_)->push_back(std::move(v));
    return *this;
  }

  using storage = std::variant<std::monostate, bool, std::int64_t, double, std::string,
                               std::shared_ptr<array>, std::shared_ptr<object>>;
  [[nodiscard]] const storage& raw() const { return v_; }

 private:
  storage v_;
};

/// Formatting options, mirroring json.dumps(indent=..., sort_keys=..., ensure_ascii=...).
struct dump_options {
  int indent = -1;            // < 0: one line with ", " and ": " separators (Python's default)
  bool sort_keys = false;
  bool ensure_ascii = true;   // Python's default: non-ASCII as \uXXXX (surrogate pairs)
};

namespace detail {

inline void append_u4(std::string& out, unsigned cp) {
  static constexpr char hex[] = "0123456789abcdef";
  out += "\\u";
  for (int s = 12; s >= 0; s -= 4) out += hex[(cp >> s) & 0xF];
}

/// Decodes one UTF-8 sequence; invalid bytes come back as U+FFFD so output is always valid.
inline unsigned next_code_point(std::string_view s, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  auto cont = [&](std::size_t k) {
    return i + k < s.size() && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
  };
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]) & 0x3Fu; };
  if (b0 < 0x80) { ++i; return b0; }
  if ((b0 & 0xE0) == 0xC0 && cont(1)) {
    unsigned cp = ((b0 & 0x1Fu) << 6) | byte(1);
    i += 2;
    return cp >= 0x80 ? cp : 0xFFFD;
  }
  if ((b0 & 0xF0) == 0xE0 && cont(1) && cont(2)) {
    unsigned cp = ((b0 & 0x0Fu) << 12) | (byte(1) << 6) | byte(2);
    i += 3;
    return cp >= 0x800 ? cp : 0xFFFD;
  }
  if ((b0 & 0xF8) == 0xF0 && cont(1) && cont(2) && cont(3)) {
    unsigned cp = ((b0 & 0x07u) << 18) | (byte(1) << 12) | (byte(2) << 6) | byte(3);
    i += 4;
    return cp >= 0x10000 && cp <= 0x10FFFF ? cp : 0xFFFD;
  }
  ++i;
  return 0xFFFD;
}

}  // namespace detail

/// Appends `s` as a quoted JSON string, escaped as Python's json module escapes it.
inline void write_string(std::string& out, std::string_view s, bool ensure_ascii = true) {
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          if (c < 0x20 || (ensure_ascii && c == 0x7F)) detail::append_u4(out, c);
          else out += static_cast<char>(c);
      }
      continue;
    }
    const std::size_t start = i;
    const unsigned cp = detail::next_code_point(s, i);
    if (!ensure_ascii) {
      if (cp == 0xFFFD && !(i - start == 3 && s.substr(start, 3) == "\xEF\xBF\xBD"))
        out += "\xEF\xBF\xBD";
      else
        out.append(s.substr(start, i - start));
    } else if (cp >= 0x10000) {
      const unsigned v = cp - 0x10000;
      detail::append_u4(out, 0xD800 + (v >> 10));
      detail::append_u4(out, 0xDC00 + (v & 0x3FF));
    } else {
      detail::append_u4(out, cp);
    }
  }
  out += '"';
}

/// Python's repr(float): shortest round-trip digits, scientific when the exponent is < -4 or
/// >= 16, and always a '.0' or exponent so it reads back as a float.
inline std::string python_float(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, r.ptr);  // [-]d[.ddd]e[+-]XX
  const bool neg = sci[0] == '-';
  const auto epos = sci.find('e');
  std::string mant = sci.substr(neg ? 1 : 0, epos - (neg ? 1 : 0));
  const int exp = std::stoi(sci.substr(epos + 1));
  std::string digits;
  for (char ch : mant)
    if (ch != '.') digits += ch;
  std::string out = neg ? "-" : "";
  if (exp < -4 || exp >= 16) {
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char eb[16];
    std::snprintf(eb, sizeof eb, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    out += eb;
  } else if (exp < 0) {
    out += "0." + std::string(static_cast<std::size_t>(-exp - 1), '0') + digits;
  } else {
    const auto int_len = static_cast<std::size_t>(exp) + 1;
    if (digits.size() <= int_len) {
      out += digits + std::string(int_len - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, int_len) + "." + digits.substr(int_len);
    }
  }
  return out;
}

namespace detail {
inline void dump_to(std::string& out, const value& v, const dump_options& o, int depth) {
  auto newline = [&](int d) {
    out += '\n';
    out.append(static_cast<std::size_t>(o.indent * d), ' ');
  };
  const char* item_sep = o.indent >= 0 ? "," : ", ";
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) out += "null";
        else if constexpr (std::is_same_v<T, bool>) out += x ? "true" : "false";
        else if constexpr (std::is_same_v<T, std::int64_t>) out += std::to_string(x);
        else if constexpr (std::is_same_v<T, double>) out += python_float(x);
        else if constexpr (std::is_same_v<T, std::string>) write_string(out, x, o.ensure_ascii);
        else if constexpr (std::is_same_v<T, std::shared_ptr<value::array>>) {
          if (x->empty()) { out += "[]"; return; }
          out += '[';
          for (std::size_t i = 0; i < x->size(); ++i) {
            if (i) out += item_sep;
            if (o.indent >= 0) newline(depth + 1);
            dump_to(out, (*x)[i], o, depth + 1);
          }
          if (o.indent >= 0) newline(depth);
          out += ']';
        } else {
          if (x->empty()) { out += "{}"; return; }
          std::vector<const std::pair<std::string, value>*> items;
          for (const auto& kv : *x) items.push_back(&kv);
          if (o.sort_keys)
            std::stable_sort(items.begin(), items.end(),
                             [](auto* a, auto* b) { return a->first < b->first; });
          out += '{';
          for (std::size_t i = 0; i < items.size(); ++i) {
            if (i) out += item_sep;
            if (o.indent >= 0) newline(depth + 1);
            write_string(out, items[i]->first, o.ensure_ascii);
            out += ": ";
            dump_to(out, items[i]->second, o, depth + 1);
          }
          if (o.indent >= 0) newline(depth);
          out += '}';
        }
      },
      v.raw());
}
}  // namespace detail

/// json.dumps(v, indent=..., sort_keys=..., ensure_ascii=...).
[[nodiscard]] inline std::string dump(const value& v, const dump_options& o = {}) {
  std::string out;
  detail::dump_to(out, v, o, 0);
  return out;
}

}  // namespace sbert::json
