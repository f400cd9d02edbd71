#include "io/in_memory_matrix.hpp"

#include "core/error.hpp"

namespace c2s {

void InMemoryMatrix::read_rows(std::int64_t begin, std::int64_t end, SparseRows& out) {
  if (begin < 0 || end < begin || end > n_rows())
    throw Error(description_, "rows [" + std::to_string(begin) + ", " + std::to_string(end) + ") out of range 0.." +
                                  std::to_string(n_rows()));
  out.clear(begin, n_cols());
  const auto p0 = indptr_[std::size_t(begin)], p1 = indptr_[std::size_t(end)];
  out.indptr.resize(std::size_t(end - begin) + 1);
  for (std::int64_t r = begin; r <= end; ++r) out.indptr[std::size_t(r - begin)] = indptr_[std::size_t(r)] - p0;
  out.indices.assign(indices_.begin() + p0, indices_.begin() + p1);
  out.values.assign(values_.begin() + p0, values_.begin() + p1);
}

}  // namespace c2s
