// The evaluation layer's one matrix: dense, row-major float, one row per
// cell (expression over chosen genes, PCA coordinates); its nonzeros as
// sparse rows or columns; the fixed blocks work on it is split into.
#pragma once
#include <algorithm>
#include <cstddef>
#include <span>
#include <vector>

#include "io/sparse_rows.hpp"

namespace c2s {

struct DenseMatrix {
  std::size_t rows = 0, cols = 0;
  std::vector<float> values;  // rows * cols, row by row

  DenseMatrix() = default;
  DenseMatrix(std::size_t n_rows, std::size_t n_cols) : rows(n_rows), cols(n_cols), values(n_rows * n_cols, 0.0f) {}

  std::span<const float> row(std::size_t i) const { return {values.data() + i * cols, cols}; }
  std::span<float> row(std::size_t i) { return {values.data() + i * cols, cols}; }
  float operator()(std::size_t i, std::size_t j) const { return values[i * cols + j]; }
  float& operator()(std::size_t i, std::size_t j) { return values[i * cols + j]; }
};

// Work on the pool goes by blocks of this many rows (or columns): a fixed
// size, never a share per thread, so every sum is taken in the same order
// whatever the thread count.
inline constexpr std::size_t kRowBlock = 64;

inline std::size_t row_blocks(std::size_t n) { return (n + kRowBlock - 1) / kRowBlock; }
inline std::size_t block_begin(std::size_t block) { return block * kRowBlock; }
inline std::size_t block_end(std::size_t block, std::size_t n) { return std::min(n, (block + 1) * kRowBlock); }

// The matrix's nonzero entries row by row, and column by column (the rows
// of its transpose), in order: products with an expression matrix, mostly
// zeros, go through these.
SparseRows nonzero_rows(const DenseMatrix& m);
SparseRows nonzero_columns(const DenseMatrix& m);

}  // namespace c2s
