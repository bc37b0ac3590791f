// SPDX-License-Identifier: Apache-2.0
// The umbrella header: everything, for examples and users. Library headers never include it;
// include the narrower headers to keep compile times down.
#pragma once
#include <sbert/concepts.hpp>
#include <sbert/data.hpp>
#include <sbert/error.hpp>

#include <sbert/models/bert.hpp>
#include <sbert/models/sentence_transformer.hpp>
#include <sbert/models/tokenizers/sentencepiece.hpp>
#include <sbert/models/tokenizers/wordpiece.hpp>

#include <sbert/losses/cosent.hpp>
#include <sbert/losses/cosine_similarity.hpp>
#include <sbert/losses/multiple_negatives_ranking.hpp>
#include <sbert/losses/softmax.hpp>
#include <sbert/losses/triplet.hpp>

#include <sbert/evaluation/embedding_similarity.hpp>
#include <sbert/evaluation/sequential.hpp>
#include <sbert/evaluation/triplet.hpp>

#include <sbert/samplers/group_by_label.hpp>
#include <sbert/samplers/no_duplicates.hpp>
#include <sbert/samplers/sampler.hpp>

#include <sbert/training/arguments.hpp>
#include <sbert/training/callbacks.hpp>
#include <sbert/training/trainer.hpp>
