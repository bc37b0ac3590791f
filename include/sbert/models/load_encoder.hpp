// SPDX-License-Identifier: Apache-2.0
// The encoder of a Hugging Face folder, chosen by config.json's model_type.
#pragma once
#include <memory>
#include <string>

#include <sbert/error.hpp>
#include <sbert/models/bert.hpp>
#include <sbert/models/detail/json_config.hpp>
#include <sbert/models/distilbert.hpp>
#include <sbert/models/encoder.hpp>
#include <sbert/models/mpnet.hpp>

namespace sbert::models {

[[nodiscard]] inline std::shared_ptr<encoder> load_encoder(const std::string& dir) {
  detail::json_file cfg(detail::join_path(dir, "config.json"));
  const auto type = cfg.get_string("model_type").value_or("");
  if (type == "bert" || type == "roberta" || type == "xlm-roberta" || type == "camembert")
    return bert_model::load(dir);
  if (type == "distilbert") return distilbert_model::load(dir);
  if (type == "mpnet") return mpnet_model::load(dir);
  throw model_error(input_error::format(cfg.path(), 0, "model_type",
                                        "'" + type + "' is not supported (bert, roberta, xlm-roberta, camembert, distilbert, mpnet)"));
}

}  // namespace sbert::models
