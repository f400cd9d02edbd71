// anndata's on-disk `dataframe` encoding (obs, var, and the sentence store's
// obs), shared by the h5ad reader, the h5ad writer and the sentence store.
#pragma once
#include <hdf5.h>

#include <string>

#include "io/data_frame.hpp"

namespace c2s {

// Writes `df` as group `name` under `parent` (encoding-type dataframe,
// _index, column-order; categorical columns as groups of codes/categories).
void write_anndata_dataframe(hid_t parent, const std::string& name, const DataFrame& df);
// Reads a group written in that encoding (anndata >= 0.7).
DataFrame read_anndata_dataframe(hid_t parent, const std::string& name);

}  // namespace c2s
