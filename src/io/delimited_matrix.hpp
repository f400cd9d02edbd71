// Reads a dense matrix from CSV/TSV/TXT (optionally gzipped): a header row
// of column names, then one row per line led by its name.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/matrix_source.hpp"

namespace c2s {

class DelimitedMatrix : public MatrixSource {
 public:
  // The delimiter follows the extension (.csv comma, .tsv tab; .txt tab,
  // else comma, else blanks, as the header shows). With genes_in_rows, the
  // file's rows are genes and its columns cells, and the matrix is
  // transposed. The header may name the first column or leave it out (as R's
  // write.table does). Only nonzero values are kept, as CSR over cells.
  DelimitedMatrix(const std::string& path, bool genes_in_rows);

  std::int64_t n_rows() const override { return std::int64_t(obs_.index.size()); }
  std::int64_t n_cols() const override { return std::int64_t(var_.index.size()); }
  const DataFrame& obs() const override { return obs_; }
  const DataFrame& var() const override { return var_; }
  void read_rows(std::int64_t begin, std::int64_t end, SparseRows& out) override;
  std::string description() const override { return path_; }

 private:
  std::string path_;
  DataFrame obs_, var_;
  std::vector<std::int64_t> indptr_;
  std::vector<std::int32_t> indices_;
  std::vector<float> values_;
};

}  // namespace c2s
