// A small cells x genes matrix held densely in memory, served through the
// MatrixSource interface, for tests of the data layer.
#pragma once
#include <string>
#include <vector>

#include "io/matrix_source.hpp"

namespace c2s::testing_support {

class DenseTestMatrix : public MatrixSource {
 public:
  DenseTestMatrix(std::vector<std::vector<float>> rows, std::vector<std::string> genes)
      : rows_(std::move(rows)) {
    var_.index = std::move(genes);
    for (std::size_t i = 0; i < rows_.size(); ++i) obs_.index.push_back("cell" + std::to_string(i));
  }
  std::int64_t n_rows() const override { return std::int64_t(rows_.size()); }
  std::int64_t n_cols() const override { return std::int64_t(var_.index.size()); }
  const DataFrame& obs() const override { return obs_; }
  const DataFrame& var() const override { return var_; }
  DataFrame& mutable_obs() { return obs_; }
  // Also store the zeros of every other cell, as files may (explicit zeros).
  void store_zeros() { store_zeros_ = true; }
  void read_rows(std::int64_t begin, std::int64_t end, SparseRows& out) override {
    out.clear(begin, n_cols());
    for (std::int64_t r = begin; r < end; ++r) {
      // Reverse column order: readers may hand out unsorted entries.
      for (std::int64_t c = n_cols() - 1; c >= 0; --c) {
        float v = rows_[std::size_t(r)][std::size_t(c)];
        if (v != 0 || (store_zeros_ && r % 2 == 0)) {
          out.indices.push_back(std::int32_t(c));
          out.values.push_back(v);
        }
      }
      out.indptr.push_back(std::int64_t(out.indices.size()));
    }
  }
  std::string description() const override { return "test matrix"; }

 private:
  std::vector<std::vector<float>> rows_;
  DataFrame obs_, var_;
  bool store_zeros_ = false;
};

}  // namespace c2s::testing_support
