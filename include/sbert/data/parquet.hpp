// SPDX-License-Identifier: Apache-2.0
// Parquet into a typed schema, read natively (no Arrow): flat columns of strings, integers,
// floats and booleans, and lists of strings or numbers. Columns match file columns by name
// (the column's own name, or read_options::fields) or by top-level position
// (read_options::positions); only the columns asked for are decoded,
// one row group at a time. See docs/data_formats.md for what is and is not supported.
#pragma once
#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <sbert/data/dataset.hpp>
#include <sbert/data/detail/parquet_core.hpp>
#include <sbert/data/readers.hpp>

namespace sbert {

namespace detail {

template <class C>
typename C::value_type column_from_cells(const pq::column_cells& c, std::size_t row, const read_options& o) {
  if constexpr (C::kind == column_kind::text) return pq::cell_text(c, row);
  else if constexpr (C::kind == column_kind::text_list) return pq::cell_text_list(c, row);
  else if constexpr (C::kind == column_kind::score) return pq::cell_score(c, row);
  else if constexpr (C::kind == column_kind::class_label) return pq::cell_class(c, row, o.class_names);
  else return pq::cell_vector(c, row);
}

template <Schema S>
void append_parquet_file(dataset<S>& d, pq::parquet_file& f, const read_options& o, row_errors& errs) {
  using cols = typename S::columns;
  std::array<pq::column_plan, S::column_count> plans;
  std::size_t i = 0;
  auto plan = [&](std::size_t k, column_kind kind) {
    const auto pos = o.positions.find(S::names[k]);
    return f.resolve(field_name_for(S::names[k], o), S::names[k], pq::want_for(kind),
                     pos == o.positions.end() ? nullptr : &pos->second);
  };
  std::apply([&](auto... c) { ((plans[i] = plan(i, decltype(c)::kind), ++i), ...); }, cols{});
  std::array<pq::column_cells, S::column_count> cells;
  if (d.empty()) d.reserve(f.total_rows());  // the first file; a folder's later files grow it as a vector does
  std::size_t row_base = 0;  // rows before this row group, for 1-based row numbers in messages
  for (std::size_t g = 0; g < f.row_group_count(); ++g) {
    for (std::size_t k = 0; k < S::column_count; ++k) f.read(g, plans[k], cells[k]);
    const std::size_t rows = f.row_group_rows(g);
    for (std::size_t r = 0; r < rows; ++r) {
      try {
        auto get = [&](auto ic) {
          using C = std::tuple_element_t<decltype(ic)::value, cols>;
          try {
            return column_from_cells<C>(cells[decltype(ic)::value], r, o);
          } catch (const std::invalid_argument& e) {
            throw input_error(f.name(), row_base + r + 1, plans[decltype(ic)::value].field, e.what());
          }
        };
        append_row(d, get, std::make_index_sequence<S::column_count>{});
      } catch (const input_error& e) {
        errs.skipped(e);
      }
    }
    row_base += rows;
  }
}

}  // namespace detail

/// A Parquet file, or a folder of them (every *.parquet file in it, sorted by name, one after
/// the other). "line" in messages is the 1-based row within its file.
template <Schema S>
[[nodiscard]] dataset<S> read_parquet(const std::string& path_or_folder, const read_options& o = {}) {
  detail::check_option_names<S>(path_or_folder, o);
  const auto paths = detail::pq::parquet_paths(path_or_folder);
  dataset<S> d;
  d.set_source(path_or_folder);
  detail::row_errors errs(o);
  for (const auto& p : paths) {
    std::unique_ptr<detail::pq::byte_source> src;
    try {
      src = std::make_unique<detail::pq::file_source>(p);
    } catch (const std::runtime_error& e) {
      throw input_error(p, 0, "", e.what());
    }
    detail::pq::parquet_file f(std::move(src), p);
    detail::append_parquet_file(d, f, o, errs);
  }
  errs.finish(path_or_folder, d.size());
  return d;
}

/// Parquet bytes in memory; `name` stands for the file name in messages.
template <Schema S>
[[nodiscard]] dataset<S> parse_parquet(std::string_view bytes, const read_options& o = {}, const std::string& name = "<memory>") {
  detail::check_option_names<S>(name, o);
  dataset<S> d;
  d.set_source(name);
  detail::row_errors errs(o);
  detail::pq::parquet_file f(std::make_unique<detail::pq::memory_source>(bytes), name);
  detail::append_parquet_file(d, f, o, errs);
  errs.finish(name, d.size());
  return d;
}

}  // namespace sbert
