// How both 10x readers turn Cell Ranger's feature list into var, following
// scanpy's read_10x_* defaults: gene symbols as the index (made unique as
// anndata does), ids and types as columns, Gene Expression features only.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/data_frame.hpp"

namespace c2s {

struct TenxFeatures {
  std::vector<std::string> ids, names;
  std::vector<std::string> types;    // empty for Cell Ranger 2 files
  std::vector<std::string> genomes;  // empty unless the file has them
};

struct TenxVar {
  DataFrame var;
  std::vector<std::int32_t> column_of;  // feature -> var column, -1 when dropped
  bool keeps_all = true;                // column_of is the identity
};

// Drops features other than "Gene Expression" (antibody capture, CRISPR
// guides, ...) when both kinds are present; `source` names the input in the
// note that says so.
TenxVar tenx_var(const TenxFeatures& features, const std::string& source);


}  // namespace c2s
