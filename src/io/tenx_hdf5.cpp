// 10x HDF5 reader: finds the layout, reads the small tables eagerly and the
// matrix by hyperslabs per block of cells.
#include "io/tenx_hdf5.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "io/tenx_features.hpp"

namespace c2s {

namespace {

// The group holding data/indices/indptr/shape: "matrix" (Cell Ranger >= 3) or
// the only genome group (Cell Ranger 2); "" when there is none.
std::string matrix_group(hid_t file, const std::string& path) {
  if (h5::is_group(file, "matrix") && h5::is_dataset(file, "matrix/indptr")) return "matrix";
  std::vector<std::string> genomes;
  for (const auto& name : h5::children(file))
    if (h5::is_group(file, name) && h5::is_dataset(file, name + "/genes") && h5::is_dataset(file, name + "/indptr"))
      genomes.push_back(name);
  if (genomes.size() > 1) {
    std::string list;
    for (const auto& g : genomes) list += (list.empty() ? "" : ", ") + g;
    if (!path.empty())
      throw Error(path, "holds matrices for several genomes (" + list + "); split it per genome first");
  }
  return genomes.empty() ? "" : genomes[0];
}

}  // namespace

bool TenxHdf5::looks_like_tenx(hid_t file) { return !matrix_group(file, "").empty(); }

TenxHdf5::TenxHdf5(const std::string& path) : path_(path) {
  h5::silence_library_errors();
  file_ = h5::open_file(path);
  const std::string group = matrix_group(file_, path);
  if (group.empty())
    throw Error(path, "not a 10x HDF5 matrix (no 'matrix' group and no genome group with 'genes')");
  const std::string g = group + "/";
  for (const char* name : {"data", "indices", "indptr", "shape", "barcodes"})
    if (!h5::is_dataset(file_, g + name)) throw Error(h5::where(file_, g + name), "missing dataset");

  auto shape = h5::read_vector<std::int64_t>(h5::open_dataset(file_, g + "shape"));
  if (shape.size() != 2 || shape[0] < 0 || shape[1] < 0)
    throw Error(h5::where(file_, g + "shape"), "expected two non-negative numbers (genes, cells)");
  n_features_ = shape[0];
  n_rows_ = shape[1];

  TenxFeatures f;
  if (group == "matrix") {
    for (const char* name : {"features/id", "features/name"})
      if (!h5::is_dataset(file_, g + name)) throw Error(h5::where(file_, g + name), "missing dataset");
    f.ids = h5::read_strings(h5::open_dataset(file_, g + "features/id"));
    f.names = h5::read_strings(h5::open_dataset(file_, g + "features/name"));
    if (h5::is_dataset(file_, g + "features/feature_type"))
      f.types = h5::read_strings(h5::open_dataset(file_, g + "features/feature_type"));
    if (h5::is_dataset(file_, g + "features/genome"))
      f.genomes = h5::read_strings(h5::open_dataset(file_, g + "features/genome"));
  } else {
    f.ids = h5::read_strings(h5::open_dataset(file_, g + "genes"));
    f.names = h5::is_dataset(file_, g + "gene_names") ? h5::read_strings(h5::open_dataset(file_, g + "gene_names"))
                                                      : f.ids;
  }
  auto check_length = [&](const std::vector<std::string>& v, const std::string& name, std::int64_t want) {
    if (!v.empty() && std::int64_t(v.size()) != want)
      throw Error(h5::where(file_, g + name), "has " + std::to_string(v.size()) + " entries, shape says " +
                                                  std::to_string(want));
  };
  check_length(f.ids, group == "matrix" ? "features/id" : "genes", n_features_);
  check_length(f.names, group == "matrix" ? "features/name" : "gene_names", n_features_);
  check_length(f.types, "features/feature_type", n_features_);
  check_length(f.genomes, "features/genome", n_features_);
  if (f.ids.empty() && n_features_ > 0) throw Error(h5::where(file_, g), "no feature ids");

  TenxVar v = tenx_var(f, path);
  var_ = std::move(v.var);
  n_cols_ = std::int64_t(var_.index.size());
  if (!v.keeps_all) column_of_ = std::move(v.column_of);

  obs_.index = h5::read_strings(h5::open_dataset(file_, g + "barcodes"));
  check_length(obs_.index, "barcodes", n_rows_);

  data_ = h5::open_dataset(file_, g + "data");
  indices_ = h5::open_dataset(file_, g + "indices");
  indptr_ = h5::open_dataset(file_, g + "indptr");
  auto count = [](hid_t d) {
    auto s = h5::shape(d);
    return s.size() == 1 ? s[0] : -1;
  };
  if (count(indptr_) != n_rows_ + 1)
    throw Error(h5::where(file_, g + "indptr"), "expected " + std::to_string(n_rows_ + 1) + " entries (cells + 1)");
  nnz_ = count(data_);
  if (nnz_ < 0 || count(indices_) != nnz_)
    throw Error(h5::where(file_, g + "indices"), "data and indices differ in length");
  std::int64_t last = 0;
  h5::read_1d(indptr_, H5T_NATIVE_INT64, n_rows_, 1, &last);
  if (last != nnz_)
    throw Error(h5::where(file_, g + "indptr"), "last entry " + std::to_string(last) + " differs from the " +
                                                    std::to_string(nnz_) + " stored values");
}

void TenxHdf5::read_rows(std::int64_t begin, std::int64_t end, SparseRows& out) {
  if (begin < 0 || end < begin || end > n_rows_)
    throw Error(path_, "rows [" + std::to_string(begin) + ", " + std::to_string(end) + ") out of range 0.." +
                           std::to_string(n_rows_));
  out.clear(begin, n_cols_);
  const auto n = std::size_t(end - begin);
  ptr_.resize(n + 1);
  h5::read_1d(indptr_, H5T_NATIVE_INT64, begin, std::int64_t(n + 1), ptr_.data());
  const std::int64_t p0 = ptr_[0], p1 = ptr_[n];
  for (std::size_t i = 0; i < n; ++i)
    if (ptr_[i] > ptr_[i + 1] || ptr_[i] < 0 || ptr_[i + 1] > nnz_)
      throw Error(h5::where(indptr_), "not a valid pointer array at cell " + std::to_string(begin + std::int64_t(i)));
  out.indices.resize(std::size_t(p1 - p0));
  out.values.resize(std::size_t(p1 - p0));
  if (p1 > p0) {
    h5::read_1d(indices_, H5T_NATIVE_INT32, p0, p1 - p0, out.indices.data());
    h5::read_1d(data_, H5T_NATIVE_FLOAT, p0, p1 - p0, out.values.data());
  }
  for (std::size_t i = 0; i < n; ++i) {
    for (auto k = std::size_t(ptr_[i] - p0); k < std::size_t(ptr_[i + 1] - p0); ++k)
      if (out.indices[k] < 0 || out.indices[k] >= n_features_)
        throw Error(h5::where(indices_), "gene index " + std::to_string(out.indices[k]) + " out of range at cell " +
                                             std::to_string(begin + std::int64_t(i)));
  }
  out.indptr.resize(n + 1);
  if (column_of_.empty()) {
    for (std::size_t i = 0; i <= n; ++i) out.indptr[i] = ptr_[i] - p0;
    return;
  }
  // Drop entries of features that are not kept, compacting in place.
  std::size_t w = 0;
  for (std::size_t i = 0; i < n; ++i) {
    for (auto k = std::size_t(ptr_[i] - p0); k < std::size_t(ptr_[i + 1] - p0); ++k) {
      std::int32_t c = column_of_[std::size_t(out.indices[k])];
      if (c < 0) continue;
      out.indices[w] = c;
      out.values[w++] = out.values[k];
    }
    out.indptr[i + 1] = std::int64_t(w);
  }
  out.indices.resize(w);
  out.values.resize(w);
}

}  // namespace c2s
