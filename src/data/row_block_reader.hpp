// Reads a matrix block by block, fetching the next block on a background
// thread while the caller works on the current one, so that reading and
// processing overlap.
#pragma once
#include <cstdint>
#include <future>

#include "io/matrix_source.hpp"

namespace c2s {

class RowBlockReader {
 public:
  RowBlockReader(MatrixSource& source, std::int64_t block_rows);
  ~RowBlockReader();
  RowBlockReader(const RowBlockReader&) = delete;
  RowBlockReader& operator=(const RowBlockReader&) = delete;

  // The next block (its first_row says where it starts), or nullptr after the
  // last. Valid until the next call. Read errors surface here.
  const SparseRows* next();

 private:
  void fetch(int buffer);

  MatrixSource& source_;
  std::int64_t block_rows_, next_row_ = 0;
  SparseRows buffers_[2];
  int current_ = 0;
  std::future<void> pending_;
};

}  // namespace c2s
