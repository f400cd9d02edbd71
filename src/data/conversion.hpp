// Conversion of an expression matrix into a sentence store: preprocessing
// plan, then one streaming pass that ranks each kept cell, writes it, and
// collects the points of the inverse-model fit.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/inverse_model.hpp"
#include "data/preprocessing.hpp"
#include "io/matrix_source.hpp"

namespace c2s {

struct ConvertOptions {
  PreprocessOptions preprocess;
  std::uint64_t seed = 42;                 // tie-breaking shuffles
  std::vector<std::string> obs_columns;    // label columns to keep; empty = all
  bool all_obs_columns = true;             // false with an explicit empty list
  std::int64_t fit_sample_cells = 20000;   // cells for the inverse fit; 0 = all
  std::uint64_t fit_seed = 0;
  nlohmann::json provenance_extra = nlohmann::json::object();  // e.g. the command line
};

struct ConvertResult {
  nlohmann::json preprocessing;  // PreprocessPlan::summary()
  InverseModel model;
  RankRuns fit_points;           // the points the model was fitted on
  std::int64_t cells = 0, genes = 0, entries = 0;
  nlohmann::json seconds;        // per stage
};

ConvertResult convert_to_store(MatrixSource& source, const std::string& store_path, const ConvertOptions& options);

// The upper-cased, unique vocabulary for var names (warns about duplicates).
std::vector<std::string> vocabulary_names(const std::vector<std::string>& var_names, const std::string& context);

}  // namespace c2s
