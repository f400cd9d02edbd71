#include "evaluation/dense_matrix.hpp"

namespace c2s {

SparseRows nonzero_rows(const DenseMatrix& m) {
  SparseRows s;
  s.clear(0, std::int64_t(m.cols));
  for (std::size_t i = 0; i < m.rows; ++i) {
    const auto row = m.row(i);
    for (std::size_t j = 0; j < m.cols; ++j)
      if (row[j] != 0) {
        s.indices.push_back(std::int32_t(j));
        s.values.push_back(row[j]);
      }
    s.indptr.push_back(std::int64_t(s.indices.size()));
  }
  return s;
}

SparseRows nonzero_columns(const DenseMatrix& m) {
  SparseRows s;
  s.clear(0, std::int64_t(m.rows));
  std::vector<std::int64_t> count(m.cols + 1, 0);
  for (std::size_t i = 0; i < m.rows; ++i) {
    const auto row = m.row(i);
    for (std::size_t j = 0; j < m.cols; ++j) count[j + 1] += row[j] != 0;
  }
  s.indptr.resize(m.cols + 1);
  s.indptr[0] = 0;
  for (std::size_t j = 0; j < m.cols; ++j) s.indptr[j + 1] = s.indptr[j] + count[j + 1];
  s.indices.resize(std::size_t(s.indptr.back()));
  s.values.resize(std::size_t(s.indptr.back()));
  std::vector<std::int64_t> at(s.indptr.begin(), s.indptr.end() - 1);
  for (std::size_t i = 0; i < m.rows; ++i) {
    const auto row = m.row(i);
    for (std::size_t j = 0; j < m.cols; ++j)
      if (row[j] != 0) {
        const auto k = std::size_t(at[j]++);
        s.indices[k] = std::int32_t(i);
        s.values[k] = row[j];
      }
  }
  return s;
}

}  // namespace c2s
