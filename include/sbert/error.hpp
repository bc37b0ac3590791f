// SPDX-License-Identifier: Apache-2.0
// The exceptions sbert throws. Every input error names where it happened (file, line, field),
// so a user can fix the data rather than guess.
#pragma once
#include <cstddef>
#include <stdexcept>
#include <string>

namespace sbert {

/// Base of every sbert exception.
struct error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Bad input data: a malformed line, a missing or mistyped field, a corrupt file.
/// `file`, `line` (1-based, 0 when not line-oriented) and `field` say where.
struct input_error : error {
  std::string file;
  std::size_t line = 0;
  std::string field;

  input_error(std::string file_, std::size_t line_, std::string field_, const std::string& what_)
      : error(format(file_, line_, field_, what_)), file(std::move(file_)), line(line_),
        field(std::move(field_)) {}

  static std::string format(const std::string& file, std::size_t line, const std::string& field,
                            const std::string& what) {
    std::string s = file.empty() ? std::string("<memory>") : file;
    if (line) s += ":" + std::to_string(line);
    if (!field.empty()) s += ": field '" + field + "'";
    return s + ": " + what;
  }
};

/// A model folder or weight file that is missing, inconsistent or corrupt.
struct model_error : error {
  using error::error;
};

}  // namespace sbert
