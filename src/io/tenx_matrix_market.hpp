// Reads a 10x Genomics matrix-market folder (matrix.mtx, features.tsv or
// genes.tsv, barcodes.tsv, each optionally gzipped) as cells x genes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/matrix_source.hpp"

namespace c2s {

class TenxMatrixMarket : public MatrixSource {
 public:
  // `path` is the folder, or its matrix file; a matrix file named
  // <prefix>matrix.mtx[.gz] (as on GEO) pairs with <prefix>features.tsv[.gz]
  // and <prefix>barcodes.tsv[.gz]. The whole matrix is read here and kept as
  // CSR over cells: 10x writes it genes x cells, so no row can be served
  // before the whole file is read.
  explicit TenxMatrixMarket(const std::string& path);

  std::int64_t n_rows() const override { return n_rows_; }
  std::int64_t n_cols() const override { return n_cols_; }
  const DataFrame& obs() const override { return obs_; }
  const DataFrame& var() const override { return var_; }
  void read_rows(std::int64_t begin, std::int64_t end, SparseRows& out) override;
  std::string description() const override { return description_; }

 private:
  void read_matrix(const std::string& path, const std::vector<std::int32_t>& column_of, std::int64_t n_features);

  std::string description_;
  std::int64_t n_rows_ = 0, n_cols_ = 0;
  DataFrame obs_, var_;
  std::vector<std::int64_t> indptr_;
  std::vector<std::int32_t> indices_;
  std::vector<float> values_;
};

}  // namespace c2s
