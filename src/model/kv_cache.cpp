#include "model/kv_cache.hpp"

#include <ATen/ATen.h>

#include "core/error.hpp"

namespace c2s {

KvCache::KvCache(const ModelConfig& config, const ComputeOptions& options, std::int64_t batch, std::int64_t capacity)
    : batch_(batch), capacity_(std::max<std::int64_t>(capacity, 1)) {
  auto f = at::TensorOptions().dtype(options.dtype).device(options.device);
  for (std::int64_t l = 0; l < config.num_layers; ++l) {
    keys_.push_back(at::empty({batch_, config.num_kv_heads, capacity_, config.head_dim}, f));
    values_.push_back(at::empty({batch_, config.num_kv_heads, capacity_, config.head_dim}, f));
  }
  positions_ = at::zeros({batch_, capacity_}, f.dtype(at::kLong));
  valid_ = at::zeros({batch_, capacity_}, f.dtype(at::kBool));
}

void KvCache::reserve(std::int64_t slots) {
  if (slots <= capacity_) return;
  std::int64_t cap = std::max(slots, capacity_ * 2);
  auto grow = [&](at::Tensor& t, std::int64_t dim) {
    auto sizes = t.sizes().vec();
    sizes[std::size_t(dim)] = cap;
    auto bigger = at::empty(sizes, t.options());
    bigger.narrow(dim, 0, length_).copy_(t.narrow(dim, 0, length_));
    t = bigger;
  };
  for (auto& t : keys_) grow(t, 2);
  for (auto& t : values_) grow(t, 2);
  grow(positions_, 1);
  grow(valid_, 1);
  capacity_ = cap;
}

void KvCache::begin_step(const at::Tensor& positions, const at::Tensor& valid) {
  if (positions.dim() != 2 || positions.size(0) != batch_ || !valid.sizes().equals(positions.sizes()))
    throw Error("KV cache: step shape does not match the cached batch");
  open_ = positions.size(1);
  reserve(length_ + open_);
  positions_.narrow(1, length_, open_).copy_(positions);
  valid_.narrow(1, length_, open_).copy_(valid);
}

std::pair<at::Tensor, at::Tensor> KvCache::store(std::int64_t layer, const at::Tensor& keys, const at::Tensor& values) {
  auto& K = keys_[std::size_t(layer)];
  auto& V = values_[std::size_t(layer)];
  K.narrow(2, length_, open_).copy_(keys);
  V.narrow(2, length_, open_).copy_(values);
  return {K.narrow(2, 0, length_ + open_), V.narrow(2, 0, length_ + open_)};
}

void KvCache::end_step() {
  length_ += open_;
  open_ = 0;
}

at::Tensor KvCache::key_positions() const { return positions_.narrow(1, 0, length_ + open_); }
at::Tensor KvCache::key_valid() const { return valid_.narrow(1, 0, length_ + open_); }

void KvCache::truncate(std::int64_t length) {
  if (open_ != 0) throw Error("KvCache::truncate during a step");
  if (length < 0 || length > length_)
    throw Error("KvCache::truncate to " + std::to_string(length) + " slots, " + std::to_string(length_) + " filled");
  length_ = length;
}

void KvCache::select_rows(const at::Tensor& rows) {
  auto idx = rows.to(positions_.device());
  for (auto& t : keys_) t = t.index_select(0, idx);
  for (auto& t : values_) t = t.index_select(0, idx);
  positions_ = positions_.index_select(0, idx);
  valid_ = valid_.index_select(0, idx);
  batch_ = rows.size(0);
}

void KvCache::expand(std::int64_t n) {
  if (batch_ != 1) throw Error("KV cache: only a one-row cache can be expanded");
  auto copy = [&](at::Tensor& t) {
    auto sizes = t.sizes().vec();
    sizes[0] = n;
    t = t.expand(sizes).contiguous();
  };
  for (auto& t : keys_) copy(t);
  for (auto& t : values_) copy(t);
  copy(positions_);
  copy(valid_);
  batch_ = n;
}

std::uint64_t KvCache::bytes() const {
  std::uint64_t b = 0;
  for (const auto& t : keys_) b += std::uint64_t(t.numel()) * t.element_size();
  for (const auto& t : values_) b += std::uint64_t(t.numel()) * t.element_size();
  return b;
}

}  // namespace c2s
