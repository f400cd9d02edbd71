#include "data/row_block_reader.hpp"

#include <algorithm>

namespace c2s {

RowBlockReader::RowBlockReader(MatrixSource& source, std::int64_t block_rows)
    : source_(source), block_rows_(std::max<std::int64_t>(1, block_rows)) {
  fetch(0);
}

RowBlockReader::~RowBlockReader() {
  if (pending_.valid()) pending_.wait();
}

void RowBlockReader::fetch(int buffer) {
  if (next_row_ >= source_.n_rows()) return;
  std::int64_t begin = next_row_, end = std::min(source_.n_rows(), begin + block_rows_);
  next_row_ = end;
  pending_ = std::async(std::launch::async, [this, buffer, begin, end] { source_.read_rows(begin, end, buffers_[buffer]); });
}

const SparseRows* RowBlockReader::next() {
  if (!pending_.valid()) return nullptr;
  pending_.get();
  int ready = current_;
  current_ = 1 - current_;
  fetch(current_);
  return &buffers_[ready];
}

}  // namespace c2s
