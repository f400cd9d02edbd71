// A block of consecutive matrix rows (cells) in CSR form: what every reader
// hands to the data layer, and what the h5ad writer appends.
#pragma once
#include <cstdint>
#include <vector>

namespace c2s {

struct SparseRows {
  std::int64_t first_row = 0;  // index of row 0 of this block in the whole matrix
  std::int64_t n_cols = 0;
  std::vector<std::int64_t> indptr{0};  // size n_rows() + 1, indptr[0] == 0
  std::vector<std::int32_t> indices;    // column of each stored entry
  std::vector<float> values;            // value of each stored entry

  std::int64_t n_rows() const { return std::int64_t(indptr.size()) - 1; }
  std::int64_t nnz() const { return indptr.back(); }
  void clear(std::int64_t first, std::int64_t cols) {
    first_row = first;
    n_cols = cols;
    indptr.assign(1, 0);
    indices.clear();
    values.clear();
  }
};

}  // namespace c2s
