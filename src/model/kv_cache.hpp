// The key/value cache of a batch being decoded: per layer, keys and values of
// every slot so far ([batch, kv_heads, slots, head_dim], preallocated and
// grown by doubling), and per slot its position id and whether it holds a
// real token (left padding and the padding between a shared prefix and each
// row's own tokens do not). Rows can leave the batch, and a batch-1 prefix
// can be copied out to many rows.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "model/compute_options.hpp"
#include "model/model_config.hpp"

namespace c2s {

class KvCache {
 public:
  KvCache(const ModelConfig& config, const ComputeOptions& options, std::int64_t batch, std::int64_t capacity);

  std::int64_t batch() const { return batch_; }
  std::int64_t length() const { return length_; }  // filled slots
  std::int64_t capacity() const { return capacity_; }

  // Opens T new slots per row for the tokens of one forward pass
  // (positions, valid: [batch, T]).
  void begin_step(const at::Tensor& positions, const at::Tensor& valid);
  // Writes one layer's keys and values of the open slots ([batch, kv_heads,
  // T, head_dim]) and returns views of all slots filled so far, them included.
  std::pair<at::Tensor, at::Tensor> store(std::int64_t layer, const at::Tensor& keys, const at::Tensor& values);
  // Closes the open slots (after the last layer).
  void end_step();

  // Per slot filled or open: position id and real-token flag, [batch, slots].
  at::Tensor key_positions() const;
  at::Tensor key_valid() const;
  // Index of the first open slot (== length() during a step).
  std::int64_t step_begin() const { return length_; }

  // Forgets every slot from `length` on (no step open), so that other tokens
  // can follow the same prefix: candidates scored one after another over one
  // prompt cache, without copying it.
  void truncate(std::int64_t length);
  // Keeps only `rows` (int64 indices into the current batch), in that order.
  void select_rows(const at::Tensor& rows);
  // From a batch of one row, makes `n` identical rows.
  void expand(std::int64_t n);
  // Bytes held by the key/value buffers.
  std::uint64_t bytes() const;

 private:
  void reserve(std::int64_t slots);
  std::int64_t batch_, capacity_, length_ = 0, open_ = 0;
  std::vector<at::Tensor> keys_, values_;  // per layer
  at::Tensor positions_, valid_;           // [batch, capacity]
};

}  // namespace c2s
