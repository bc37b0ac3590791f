// SPDX-License-Identifier: Apache-2.0
// The torch-free data tier: columns, schemas, datasets, readers, and the requirement concepts.
#pragma once
#include <sbert/concepts.hpp>
#include <sbert/data/column.hpp>
#include <sbert/data/dataset.hpp>
#include <sbert/data/dataset_dict.hpp>
#include <sbert/data/parquet.hpp>
#include <sbert/data/parquet_writer.hpp>
#include <sbert/data/arrow.hpp>
#include <sbert/data/arrow_writer.hpp>
#include <sbert/data/beir.hpp>
#include <sbert/data/readers.hpp>
#include <sbert/data/schema.hpp>
