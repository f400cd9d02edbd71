// A cells x genes matrix held whole in memory as CSR over cells, for inputs
// that cannot be served row by row from disk (10x matrix market stores genes
// x cells; CSV/TSV is text): read once, then handed out in row blocks.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/matrix_source.hpp"

namespace c2s {

class InMemoryMatrix : public MatrixSource {
 public:
  std::int64_t n_rows() const override { return std::int64_t(obs_.index.size()); }
  std::int64_t n_cols() const override { return std::int64_t(var_.index.size()); }
  const DataFrame& obs() const override { return obs_; }
  const DataFrame& var() const override { return var_; }
  void read_rows(std::int64_t begin, std::int64_t end, SparseRows& out) override;
  std::string description() const override { return description_; }

 protected:
  // Filled by the reader that derives from this.
  std::string description_;
  DataFrame obs_, var_;
  std::vector<std::int64_t> indptr_;
  std::vector<std::int32_t> indices_;
  std::vector<float> values_;
};

}  // namespace c2s
