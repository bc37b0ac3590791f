// SPDX-License-Identifier: Apache-2.0
// dataset_dict: named splits ("train", "dev", ...), and split slicing as Hugging Face datasets
// writes it: "train", "train[:10000]", "train[10%:20%]", "train[-500:]".
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <sbert/data/dataset.hpp>
#include <sbert/error.hpp>

namespace sbert {

/// A parsed split specification: name and optional [from:to] bounds, absolute or percent.
struct split_spec {
  std::string name;
  std::optional<double> from;  // a row index, or a percentage when `percent`
  std::optional<double> to;
  bool percent = false;

  /// Parse "name", "name[a:b]", "name[a%:b%]". Throws sbert::error on a malformed spec.
  static split_spec parse(std::string_view spec) {
    split_spec s;
    const auto bad = [&](const std::string& why) {
      return error("split specification '" + std::string(spec) + "': " + why +
                   " (expected e.g. \"train\", \"train[:1000]\", \"train[10%:20%]\")");
    };
    const auto open = spec.find('[');
    s.name = std::string(spec.substr(0, open));
    if (s.name.empty()) throw bad("the split name is empty");
    if (open == std::string_view::npos) return s;
    if (spec.back() != ']') throw bad("missing closing ']'");
    std::string_view inner = spec.substr(open + 1, spec.size() - open - 2);
    const auto colon = inner.find(':');
    if (colon == std::string_view::npos) throw bad("missing ':' inside the brackets");
    int pct_count = 0, bound_count = 0;
    auto bound = [&](std::string_view b) -> std::optional<double> {
      while (!b.empty() && b.front() == ' ') b.remove_prefix(1);
      while (!b.empty() && b.back() == ' ') b.remove_suffix(1);
      if (b.empty()) return std::nullopt;
      ++bound_count;
      if (b.back() == '%') {
        ++pct_count;
        b.remove_suffix(1);
      }
      std::string str(b);
      std::size_t used = 0;
      long long v = 0;
      try {
        v = std::stoll(str, &used);
      } catch (...) {
        throw bad("'" + str + "' is not an integer");
      }
      if (used != str.size()) throw bad("'" + str + "' is not an integer");
      return static_cast<double>(v);
    };
    s.from = bound(inner.substr(0, colon));
    s.to = bound(inner.substr(colon + 1));
    if (pct_count && pct_count != bound_count) throw bad("mixing percent and absolute bounds");
    s.percent = pct_count > 0;
    if (s.percent)
      for (auto b : {s.from, s.to})
        if (b && (*b < -100 || *b > 100)) throw bad("a percentage must lie in [-100, 100]");
    return s;
  }

  /// The absolute [begin, end) rows of a split of n rows. Percent bounds round to the closest
  /// row, half to even, as Python's round() in Hugging Face datasets.
  [[nodiscard]] std::pair<std::size_t, std::size_t> resolve(std::size_t n) const {
    const double dn = static_cast<double>(n);
    auto abs = [&](std::optional<double> b, double dflt) {
      if (!b) return dflt;
      double v = percent ? std::nearbyint(*b * dn / 100.0) : *b;
      if (v < 0) v += dn;
      return std::clamp(v, 0.0, dn);
    };
    const double f = abs(from, 0.0), t = abs(to, dn);
    return {static_cast<std::size_t>(f), static_cast<std::size_t>(std::max(f, t))};
  }
};

template <Schema S>
class dataset_dict {
 public:
  dataset_dict() = default;
  dataset_dict(std::initializer_list<std::pair<const std::string, dataset<S>>> splits) : splits_(splits) {}

  void insert(std::string name, dataset<S> d) { splits_.insert_or_assign(std::move(name), std::move(d)); }
  [[nodiscard]] bool contains(const std::string& name) const { return splits_.contains(name); }
  [[nodiscard]] std::size_t size() const { return splits_.size(); }
  [[nodiscard]] auto begin() const { return splits_.begin(); }
  [[nodiscard]] auto end() const { return splits_.end(); }

  /// A split by name, or sliced: "train[:1000]", "train[10%:20%]".
  [[nodiscard]] dataset<S> operator[](std::string_view spec) const {
    const split_spec s = split_spec::parse(spec);
    auto it = splits_.find(s.name);
    if (it == splits_.end()) {
      std::string names;
      for (auto& [k, v] : splits_) names += (names.empty() ? "" : ", ") + k;
      throw error("no split named '" + s.name + "' (splits: " + (names.empty() ? "none" : names) + ")");
    }
    if (!s.from && !s.to) return it->second;
    auto [b, e] = s.resolve(it->second.size());
    return it->second.select_range(b, e);
  }

 private:
  std::map<std::string, dataset<S>, std::less<>> splits_;
};

}  // namespace sbert
