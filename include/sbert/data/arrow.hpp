// SPDX-License-Identifier: Apache-2.0
// Arrow IPC into a typed schema: the stream format (what Hugging Face `Dataset.save_to_disk`
// writes as data-NNNNN-of-NNNNN.arrow) and the file format (ARROW1 magic and footer), told
// apart by their first bytes; and `load_from_disk` for whole save_to_disk folders. Columns are
// matched by name (read_options::fields) or top-level field position (read_options::positions)
// as the other readers do; only the asked-for columns are decoded. See docs/arrow.md.
#pragma once
#include <fcntl.h>
#include <simdjson.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <sbert/data/dataset.hpp>
#include <sbert/data/dataset_dict.hpp>
#include <sbert/data/detail/arrow_format.hpp>
#include <sbert/data/readers.hpp>

namespace sbert {

namespace detail::arrow {

/// Why field `f` cannot feed a column of `kind` (empty when it can).
inline std::string type_mismatch(column_kind kind, const field_desc& f) {
  auto list_of = [&](auto ok) { return is_list(f.type) && !f.children[0].dict && ok(f.children[0]); };
  switch (kind) {
    case column_kind::text:
      if (is_string(f.type)) return {};
      return "a text column needs Utf8, LargeUtf8 or Binary";
    case column_kind::score:
      if (is_number(f)) return {};
      return "a score column needs an Int, UInt, Float32, Float64 or Bool";
    case column_kind::class_label:
      if (f.type == type_id::int_ || f.type == type_id::bool_ || is_string(f.type)) return {};
      return "a class column needs an Int, UInt, Bool or (with read_options::class_names) Utf8";
    case column_kind::text_list:
      if (list_of([](const field_desc& c) { return is_string(c.type); })) return {};
      return "a text-list column needs a List, LargeList or FixedSizeList of Utf8";
    case column_kind::vector:
      if (list_of([](const field_desc& c) { return is_number(c); })) return {};
      return "a vector column needs a List, LargeList or FixedSizeList of Float32/Float64 (or integers)";
  }
  return "unsupported column kind";
}

/// A null anywhere in a row: sbert columns are all required.
struct null_value : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

/// Value `i` of `a`, looked through its dictionary; a null is an error.
inline std::pair<const array_ref*, std::int64_t> resolve(const array_ref& a, std::int64_t i,
                                                         const std::map<std::int64_t, dictionary>& dicts) {
  if (a.is_null(i)) throw null_value("a null value (sbert columns are required; read_options::lenient skips such rows)");
  if (!a.f->dict) return {&a, i};
  auto it = dicts.find(a.f->dict_id);
  if (it == dicts.end()) bad("field '" + a.f->name + "' uses dictionary " + std::to_string(a.f->dict_id) + ", which no dictionary batch defined");
  auto [chunk, j] = it->second.locate(int_at(a, i));
  if (chunk->is_null(j)) throw null_value("a null value in its dictionary (sbert columns are required)");
  return {chunk, j};
}

template <class C>
typename C::value_type value_at(const array_ref& a, std::int64_t i, const std::map<std::int64_t, dictionary>& dicts,
                                const read_options& o) {
  auto [v, j] = resolve(a, i, dicts);
  if constexpr (C::kind == column_kind::text) {
    return to_text(string_at(*v, j));
  } else if constexpr (C::kind == column_kind::score) {
    return to_float(number_at(*v, j));
  } else if constexpr (C::kind == column_kind::class_label) {
    if (is_string(v->f->type)) return to_class(string_at(*v, j), o.class_names);
    return v->f->type == type_id::bool_ ? std::int64_t{bool_at(*v, j)} : int_at(*v, j);
  } else {
    const auto [b, e] = list_range(*v, j);
    const array_ref& child = v->children[0];
    typename C::value_type out;
    out.reserve(static_cast<std::size_t>(e - b));
    for (std::int64_t k = b; k < e; ++k) {
      if (child.is_null(k)) throw null_value("a null list element (sbert columns are required)");
      if constexpr (C::kind == column_kind::text_list) out.push_back(to_text(string_at(child, k)));
      else out.push_back(to_float(number_at(child, k)));
    }
    return out;
  }
}

/// Which top-level field feeds each column.
template <Schema S>
std::vector<std::size_t> match_fields(const std::vector<field_desc>& fields, const std::string& file, const read_options& o) {
  std::vector<std::size_t> idx(S::column_count);
  std::size_t c = 0;
  std::apply([&](auto... col) {
    ([&](auto cl) {
      using C = decltype(cl);
      const std::string_view name = C::name;
      std::size_t k = fields.size();
      if (auto it = o.positions.find(name); it != o.positions.end()) {
        k = it->second;
        if (k >= fields.size())
          throw input_error(file, 0, "#" + std::to_string(k), "the file has " + std::to_string(fields.size()) +
                                                                   " fields; column '" + std::string(name) + "' reads field " + std::to_string(k));
      } else {
        const std::string want = field_name_for(name, o);
        for (std::size_t j = 0; j < fields.size(); ++j) {
          if (fields[j].name != want) continue;
          if (k != fields.size()) throw input_error(file, 0, want, "the file has two fields of this name (column '" + std::string(name) + "')");
          k = j;
        }
        if (k == fields.size()) {
          std::string have;
          for (auto& f : fields) have += (have.empty() ? "" : ", ") + f.name;
          throw input_error(file, 0, want, "no such field in the Arrow schema (column '" + std::string(name) + "'; the file has: " + have + ")");
        }
      }
      const field_desc& f = fields[k];
      if (const std::string why = type_mismatch(C::kind, f); !why.empty())
        throw input_error(file, 0, f.name, "column '" + std::string(name) + "' cannot read Arrow type " + f.describe() + ": " + why);
      idx[c++] = k;
    }(col), ...);
  }, typename S::columns{});
  return idx;
}

template <Schema S>
dataset<S> parse_ipc(const std::uint8_t* data, std::size_t size, const std::string& file, const read_options& o) {
  check_option_names<S>(file, o);
  dataset<S> d;
  d.set_source(file);
  row_errors errs(o);
  try {
    ipc_layout layout = read_layout(data, size);
    const auto idx = match_fields<S>(layout.fields, file, o);
    // The dictionaries the asked-for columns use, by id.
    std::map<std::int64_t, const field_desc*> wanted;
    for (std::size_t k : idx)
      if (layout.fields[k].dict) wanted[layout.fields[k].dict_id] = &layout.fields[k];
    std::map<std::int64_t, dictionary> dicts;
    std::size_t row = 0;
    // Every row at once: growing by batches would move the rows read so far several times.
    std::size_t total = 0;
    for (const message& m : layout.messages)
      if (m.type == header_type::record_batch) total += static_cast<std::size_t>(std::max<std::int64_t>(m.header.scalar<std::int64_t>(0), 0));
    d.reserve(std::min<std::size_t>(total, size));  // a row takes at least a byte: a lying length cannot over-allocate
    for (const message& m : layout.messages) {
      if (m.type == header_type::dictionary_batch) {
        const std::int64_t id = m.header.scalar<std::int64_t>(0);
        auto w = wanted.find(id);
        if (w == wanted.end()) continue;  // a dictionary of a column nobody asked for
        dictionary& dict = dicts[id];
        if (!dict.value_field) {
          dict.value_field = std::make_unique<field_desc>(*w->second);
          dict.value_field->dict = false;
        }
        batch_reader r = open_batch(m.header.table(1), m.body);
        array_ref values = r.read(*dict.value_field);
        if (values.length < 0) bad("dictionary " + std::to_string(id) + " has values of an unsupported type");
        if (m.header.scalar<std::uint8_t>(2) == 0) { dict.chunks.clear(); dict.ends.clear(); dict.owned.clear(); }
        dict.ends.push_back((dict.ends.empty() ? 0 : dict.ends.back()) + values.length);
        dict.chunks.push_back(std::move(values));
        if (r.owned) dict.owned.push_back(r.owned);
        continue;
      }
      batch_reader r = open_batch(m.header, m.body);
      // Step over the fields nobody asked for; read each asked-for field once.
      std::vector<array_ref> by_field(layout.fields.size());
      std::size_t last = 0;
      for (std::size_t k : idx) last = std::max(last, k + 1);
      for (std::size_t k = 0; k < last; ++k) {
        if (std::find(idx.begin(), idx.end(), k) == idx.end()) { r.skip(layout.fields[k]); continue; }
        by_field[k] = r.read(layout.fields[k]);
        if (by_field[k].length < r.batch_length) bad("field '" + layout.fields[k].name + "' is shorter than its record batch");
      }
      std::vector<array_ref*> arrays(S::column_count);
      for (std::size_t c = 0; c < arrays.size(); ++c) arrays[c] = &by_field[idx[c]];
      for (std::int64_t i = 0; i < r.batch_length; ++i) {
        ++row;
        try {
          auto get = [&](auto ic) {
            using C = std::tuple_element_t<decltype(ic)::value, typename S::columns>;
            const array_ref& a = *arrays[decltype(ic)::value];
            try {
              return value_at<C>(a, i, dicts, o);
            } catch (const format_error&) {
              throw;
            } catch (const std::invalid_argument& e) {
              throw input_error(file, row, a.f->name, "row " + std::to_string(row) + ", column '" + std::string(C::name) + "': " + e.what());
            }
          };
          append_row(d, get, std::make_index_sequence<S::column_count>{});
        } catch (const input_error& e) {
          errs.skipped(e);
        }
      }
    }
  } catch (const format_error& e) {
    throw input_error(file, 0, "", std::string("malformed Arrow IPC data: ") + e.what());
  }
  errs.finish(file, d.size());
  return d;
}

/// The file's bytes, mapped read-only (no copy: the reader only views them), or read into
/// memory where mapping fails.
class file_bytes {
 public:
  explicit file_bytes(const std::string& path) {
    require_file(path);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw input_error(path, 0, "", "cannot open the file");
    struct stat st {};
    if (::fstat(fd, &st) != 0) { ::close(fd); throw input_error(path, 0, "", "cannot read the file"); }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ == 0) { ::close(fd); throw input_error(path, 0, "", "the file is empty"); }
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    ::close(fd);
    if (p != MAP_FAILED) {
      map_ = p;
      data_ = static_cast<const std::uint8_t*>(p);
      return;
    }
    std::ifstream in(path, std::ios::binary);
    copy_.resize(size_);
    if (!in.read(copy_.data(), static_cast<std::streamsize>(size_))) throw input_error(path, 0, "", "cannot read the file");
    data_ = reinterpret_cast<const std::uint8_t*>(copy_.data());
  }
  file_bytes(const file_bytes&) = delete;
  file_bytes& operator=(const file_bytes&) = delete;
  ~file_bytes() {
    if (map_) ::munmap(map_, size_);
  }
  const std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  void* map_ = nullptr;
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  std::string copy_;
};

inline simdjson::dom::element load_json(simdjson::dom::parser& p, const std::string& path) {
  require_file(path);
  simdjson::dom::element e;
  if (auto err = p.load(path).get(e)) throw input_error(path, 0, "", std::string("malformed JSON: ") + simdjson::error_message(err));
  return e;
}

}  // namespace detail::arrow

/// An Arrow IPC stream or file from memory; `name` stands for the file name in messages.
template <Schema S>
[[nodiscard]] dataset<S> parse_arrow(std::string_view bytes, const read_options& o = {}, const std::string& name = "<memory>") {
  return detail::arrow::parse_ipc<S>(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), name, o);
}

/// An Arrow IPC stream (`.arrow` of save_to_disk) or file (ARROW1 magic); told apart by content.
template <Schema S>
[[nodiscard]] dataset<S> read_arrow(const std::string& path, const read_options& o = {}) {
  const detail::arrow::file_bytes f(path);
  return detail::arrow::parse_ipc<S>(f.data(), f.size(), path, o);
}

/// A `Dataset.save_to_disk` folder (state.json listing `_data_files`): its Arrow files, in order.
template <Schema S>
[[nodiscard]] dataset<S> load_from_disk(const std::string& folder, const read_options& o = {}) {
  namespace fs = std::filesystem;
  const fs::path dir(folder);
  if (fs::exists(dir / "dataset_dict.json"))
    throw input_error(folder, 0, "", "is a DatasetDict folder (dataset_dict.json): read it with sbert::load_dataset_dict_from_disk");
  const std::string state = (dir / "state.json").string();
  if (!fs::exists(state)) throw input_error(folder, 0, "", "not a save_to_disk folder: it has no state.json");
  simdjson::dom::parser p;
  const auto root = detail::arrow::load_json(p, state);
  simdjson::dom::array files;
  if (root["_data_files"].get_array().get(files)) throw input_error(state, 0, "_data_files", "missing, or not an array");
  dataset<S> out;
  out.set_source(folder);
  read_report local;
  read_options opts = o;
  if (!opts.report) opts.report = &local;  // one report for every file
  for (auto f : files) {
    std::string_view name;
    if (f["filename"].get_string().get(name)) throw input_error(state, 0, "_data_files", "an entry without a \"filename\" string");
    if (name.empty() || fs::path(name).has_parent_path() || name == "..")
      throw input_error(state, 0, "_data_files", "the file name '" + std::string(name) + "' must name a file in the folder");
    auto part = read_arrow<S>((dir / std::string(name)).string(), opts);
    out = out.empty() ? std::move(part) : out.concatenate(part);
  }
  out.set_source(folder);
  if (o.lenient && !o.report && local.rows_skipped)
    std::cerr << "sbert: " << folder << ": skipped " << local.rows_skipped << " bad row(s)\n";
  return out;
}

/// A `DatasetDict.save_to_disk` folder (dataset_dict.json with "splits", one folder per split),
/// or a single save_to_disk folder, named by its state.json "_split" ("train" when null).
template <Schema S>
[[nodiscard]] dataset_dict<S> load_dataset_dict_from_disk(const std::string& folder, const read_options& o = {}) {
  namespace fs = std::filesystem;
  const fs::path dir(folder);
  simdjson::dom::parser p;
  dataset_dict<S> out;
  const std::string dd = (dir / "dataset_dict.json").string();
  if (!fs::exists(dd)) {
    std::string split = "train";
    const auto root = detail::arrow::load_json(p, (dir / "state.json").string());
    std::string_view s;
    if (!root["_split"].get_string().get(s) && !s.empty()) split = std::string(s);
    out.insert(split, load_from_disk<S>(folder, o));
    return out;
  }
  const auto root = detail::arrow::load_json(p, dd);
  simdjson::dom::array splits;
  if (root["splits"].get_array().get(splits)) throw input_error(dd, 0, "splits", "missing, or not an array");
  std::vector<std::string> names;
  for (auto s : splits) {
    std::string_view n;
    if (s.get_string().get(n) || n.empty() || fs::path(n).has_parent_path() || n == "..")
      throw input_error(dd, 0, "splits", "a split name must be a plain folder name");
    names.emplace_back(n);
  }
  for (const auto& n : names) out.insert(n, load_from_disk<S>((dir / n).string(), o));
  return out;
}

}  // namespace sbert
