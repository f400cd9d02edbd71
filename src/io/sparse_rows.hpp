// A block of consecutive matrix rows (cells) in CSR form: what every reader
// hands to the data layer, and what the h5ad writer appends.
#pragma once
#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

namespace c2s {

// An allocator whose resize() leaves new elements uninitialised: block
// buffers are overwritten by the next read, and zero-filling them first cost
// as much as a third pass over the data.
template <class T>
struct UninitialisedAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = UninitialisedAllocator<U>;
  };
  UninitialisedAllocator() = default;
  template <class U>
  UninitialisedAllocator(const UninitialisedAllocator<U>&) {}
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    if constexpr (sizeof...(Args) == 0) {
      ::new (static_cast<void*>(p)) U;
    } else {
      ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
    }
  }
};

template <class T>
using BlockVector = std::vector<T, UninitialisedAllocator<T>>;

template <class T>
bool operator==(const BlockVector<T>& a, const std::vector<T>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

// Whoever builds a block fills `indices` and `values` (row r's entries at
// [indptr[r], indptr[r+1])). A reader may instead point each row at its
// entries where they lie in a memory-mapped input file (no copy). Whoever
// reads a block uses row_indices() / row_values(), which see both.
struct SparseRows {
  std::int64_t first_row = 0;  // index of row 0 of this block in the whole matrix
  std::int64_t n_cols = 0;
  BlockVector<std::int64_t> indptr{0};  // size n_rows() + 1, indptr[0] == 0
  BlockVector<std::int32_t> indices;    // column of each stored entry
  BlockVector<float> values;            // value of each stored entry

  std::int64_t n_rows() const { return std::int64_t(indptr.size()) - 1; }
  std::int64_t nnz() const { return indptr.back(); }
  std::size_t row_size(std::int64_t r) const { return std::size_t(indptr[std::size_t(r) + 1] - indptr[std::size_t(r)]); }
  std::span<const std::int32_t> row_indices(std::int64_t r) const {
    return {row_index_.empty() ? indices.data() + indptr[std::size_t(r)] : row_index_[std::size_t(r)], row_size(r)};
  }
  std::span<const float> row_values(std::int64_t r) const {
    return {row_value_.empty() ? values.data() + indptr[std::size_t(r)] : row_value_[std::size_t(r)], row_size(r)};
  }
  // The block's entries are all in `indices` / `values`, as many as indptr says.
  bool entries_in_arrays() const {
    return row_index_.empty() && std::int64_t(indices.size()) == nnz() && values.size() == indices.size();
  }
  // Row r's entries start at index_at[r] / value_at[r] (valid while the
  // reader lives; `indices`/`values` may hold some rows' entries).
  void point_rows_at(std::vector<const std::int32_t*> index_at, std::vector<const float*> value_at) {
    row_index_ = std::move(index_at);
    row_value_ = std::move(value_at);
  }
  void clear(std::int64_t first, std::int64_t cols) {
    first_row = first;
    n_cols = cols;
    indptr.assign(1, 0);
    indices.clear();
    values.clear();
    row_index_.clear();
    row_value_.clear();
  }

 private:
  std::vector<const std::int32_t*> row_index_;
  std::vector<const float*> row_value_;
};

}  // namespace c2s
