// Reads a 10x Genomics HDF5 matrix (Cell Ranger >= 3 `matrix` group, or the
// Cell Ranger 2 layout with one group per genome) as cells x genes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/hdf5_file.hpp"
#include "io/matrix_source.hpp"

namespace c2s {

class TenxHdf5 : public MatrixSource {
 public:
  // Reads barcodes and features; the matrix stays on disk. 10x stores it CSC
  // over genes x cells, which is CSR over cells, so rows stream directly.
  explicit TenxHdf5(const std::string& path);

  std::int64_t n_rows() const override { return n_rows_; }
  std::int64_t n_cols() const override { return n_cols_; }
  const DataFrame& obs() const override { return obs_; }
  const DataFrame& var() const override { return var_; }
  // One read each of the indptr slice, indices and data per call.
  void read_rows(std::int64_t begin, std::int64_t end, SparseRows& out) override;
  std::string description() const override { return path_; }

  // True when `file` holds a 10x matrix (either layout).
  static bool looks_like_tenx(hid_t file);

 private:
  std::string path_;
  h5::Handle file_, data_, indices_, indptr_;
  std::int64_t n_rows_ = 0, n_cols_ = 0, n_features_ = 0, nnz_ = 0;
  DataFrame obs_, var_;
  std::vector<std::int32_t> column_of_;  // empty when every feature is kept
  std::vector<std::int64_t> ptr_;
};

}  // namespace c2s
