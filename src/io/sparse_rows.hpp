// A block of consecutive matrix rows (cells) in CSR form: what every reader
// hands to the data layer, and what the h5ad writer appends.
#pragma once
#include <algorithm>
#include <cstdint>
#include <memory>
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

struct SparseRows {
  std::int64_t first_row = 0;  // index of row 0 of this block in the whole matrix
  std::int64_t n_cols = 0;
  BlockVector<std::int64_t> indptr{0};  // size n_rows() + 1, indptr[0] == 0
  BlockVector<std::int32_t> indices;    // column of each stored entry
  BlockVector<float> values;            // value of each stored entry

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
