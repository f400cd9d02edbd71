#include "model/attention.hpp"

#include "model/bf16_gemv.hpp"
#include "model/blockwise_attention.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>

#include <limits>

namespace c2s {

namespace {

// Queries and keys are matched by position id (not by slot), so padding
// anywhere in a row - on the left, or between a shared prefix and the row's
// own tokens - changes nothing for the real tokens. Each query may always see
// its own slot, so that padded queries (whose outputs are never used) get a
// finite softmax rather than NaN.
at::Tensor blocked_keys(const at::Tensor& q_pos, const at::Tensor& k_pos, const at::Tensor& k_valid,
                        std::int64_t first_slot, std::int64_t window) {
  auto qp = q_pos.unsqueeze(2);  // [B, T, 1]
  auto kp = k_pos.unsqueeze(1);  // [B, 1, S]
  auto allowed = k_valid.unsqueeze(1) & (kp <= qp);
  if (window > 0) allowed = allowed & ((qp - kp) < window);
  const std::int64_t T = q_pos.size(1), S = k_pos.size(1);
  auto opts = at::TensorOptions().dtype(at::kLong).device(q_pos.device());
  auto own = at::arange(S, opts).unsqueeze(0) == (at::arange(T, opts) + first_slot).unsqueeze(1);  // [T, S]
  allowed = allowed | own.unsqueeze(0);
  return allowed.logical_not().view({q_pos.size(0), 1, 1, T, S});
}

// Whether `t` [B, heads, S, D] keeps each head's rows contiguous (the KV
// cache's views do; only the head and batch strides may jump).
bool rows_contiguous(const at::Tensor& t) { return t.stride(3) == 1 && t.stride(2) == t.size(3); }

// Decoding in bfloat16 on the CPU: a few query rows against the cache. Both
// products go through the bf16 matrix-vector kernels straight off the cache's
// rows; libtorch would copy the strided cache views to contiguous ones first,
// every layer and step. Softmax in float32 as in attend(); the probabilities
// stay float32 for the product with the values (libtorch rounds them to
// bfloat16 first: this is the more accurate of the two).
at::Tensor attend_bf16_decode(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& blocked,
                              double scale, double softcap) {
  const std::int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3);
  const std::int64_t KVH = k.size(1), G = H / KVH, S = k.size(2), R = G * T;
  auto qg = q.reshape({B, KVH, R, D}).contiguous();
  auto scores = at::empty({B, KVH, R, S}, q.options().dtype(at::kFloat));
  const auto* qp = reinterpret_cast<const std::uint16_t*>(qg.data_ptr<at::BFloat16>());
  const auto* kp = reinterpret_cast<const std::uint16_t*>(k.data_ptr<at::BFloat16>());
  const auto* vp = reinterpret_cast<const std::uint16_t*>(v.data_ptr<at::BFloat16>());
  float* sp = scores.data_ptr<float>();
  at::parallel_for(0, B * KVH, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t bh = begin; bh < end; ++bh) {
      const auto* keys = kp + bh / KVH * k.stride(0) + bh % KVH * k.stride(1);
      for (std::int64_t r = 0; r < R; ++r) bf16_gemv_rows(keys, qp + (bh * R + r) * D, sp + (bh * R + r) * S, D, 0, S);
    }
  });
  scores.mul_(scale);
  if (softcap > 0) scores = at::tanh(scores / softcap) * softcap;
  scores = scores.view({B, KVH, G, T, S});
  scores.masked_fill_(blocked, -std::numeric_limits<float>::infinity());  // in place: one pass less over the scores
  auto probs = at::softmax(scores, -1).view({B, KVH, R, S}).contiguous();
  auto out = at::empty({B, KVH, R, D}, q.options().dtype(at::kFloat));
  const float* pp = probs.data_ptr<float>();
  float* op = out.data_ptr<float>();
  at::parallel_for(0, B * KVH, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t bh = begin; bh < end; ++bh) {
      const auto* values = vp + bh / KVH * v.stride(0) + bh % KVH * v.stride(1);
      for (std::int64_t r = 0; r < R; ++r) bf16_gemv_transposed(values, pp + (bh * R + r) * S, op + (bh * R + r) * D, S, D);
    }
  });
  return out.to(at::kBFloat16).view({B, H, T, D}).transpose(1, 2).reshape({B, T, H * D});
}

}  // namespace

AttentionContext::AttentionContext(const ModelConfig& config, const ForwardInput& input, KvCache* cache,
                                   at::ScalarType dtype)
    : cache_(cache), rotary_dims_(config.rotary_dims) {
  at::Tensor k_pos = input.position_ids, k_valid = input.valid;
  std::int64_t first_slot = 0;
  if (cache_) {
    first_slot = cache_->step_begin();
    cache_was_empty_ = first_slot == 0;
    cache_->begin_step(input.position_ids, input.valid);
    k_pos = cache_->key_positions();
    k_valid = cache_->key_valid();
  }
  blocked_full_ = blocked_keys(input.position_ids, k_pos, k_valid, first_slot, 0);
  bool any_sliding = false;
  for (bool s : config.sliding_layers) any_sliding = any_sliding || s;
  if (any_sliding) blocked_window_ = blocked_keys(input.position_ids, k_pos, k_valid, first_slot, config.sliding_window);

  if (rotary_dims_ > 0) {
    // As transformers: inverse frequencies and angles in float32, then the
    // tables in the compute dtype.
    auto f = at::TensorOptions().dtype(at::kFloat).device(input.position_ids.device());
    auto inv_freq = 1.0 / at::pow(config.rope_theta, at::arange(0, rotary_dims_, 2, f.dtype(at::kLong)).to(at::kFloat) /
                                                         double(rotary_dims_));
    auto angles = input.position_ids.to(at::kFloat).unsqueeze(-1) * inv_freq;  // [B, T, rd/2]
    auto emb = at::cat({angles, angles}, -1).unsqueeze(1);                    // [B, 1, T, rd]
    cos_ = emb.cos().to(dtype);
    sin_ = emb.sin().to(dtype);
  }
}

at::Tensor AttentionContext::rotate(const at::Tensor& x) const {
  const std::int64_t D = x.size(-1), half = rotary_dims_ / 2;
  auto rot = rotary_dims_ == D ? x : x.narrow(-1, 0, rotary_dims_);
  auto rotated_half = at::cat({-rot.narrow(-1, half, half), rot.narrow(-1, 0, half)}, -1);
  auto out = rot * cos_ + rotated_half * sin_;
  if (rotary_dims_ == D) return out;
  return at::cat({out, x.narrow(-1, rotary_dims_, D - rotary_dims_)}, -1);
}

std::pair<at::Tensor, at::Tensor> AttentionContext::keys_values(std::int64_t layer, const at::Tensor& k,
                                                                const at::Tensor& v) const {
  if (!cache_) return {k, v};
  auto stored = cache_->store(layer, k, v);
  if (cache_was_empty_) return {k, v};
  return stored;
}

void AttentionContext::finish() const {
  if (cache_) cache_->end_step();
}

at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& blocked,
                  double scale, double softcap) {
  const std::int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3);
  const std::int64_t KVH = k.size(1), G = H / KVH, S = k.size(2);
  if (q.scalar_type() == at::kBFloat16 && q.device().is_cpu() && T <= 4 && k.scalar_type() == at::kBFloat16 &&
      v.scalar_type() == at::kBFloat16 && rows_contiguous(k) && rows_contiguous(v) && !c10::GradMode::is_enabled() &&
      bf16_gemv_supported())
    return attend_bf16_decode(q, k, v, blocked, scale, softcap);
  // Blocks of query rows pay off when there are rows (prefill, scoring,
  // training); a few decoding rows against the cache take the general form.
  const bool grad = c10::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad());
  if (blockwise_attention_applies(q, k, v) && (T > 4 || grad))
    return attend_blockwise(q, k, v, blocked, scale, softcap).transpose(1, 2).reshape({B, T, H * D});
  // Grouped heads share one product: the G query heads of a key/value head
  // become G*T rows against the same keys (no repeated keys in memory).
  auto qg = q.reshape({B, KVH, G * T, D});
  auto scores = at::matmul(qg, k.transpose(-2, -1));
  if (scores.scalar_type() != at::kFloat) scores = scores.to(at::kFloat);
  scores.mul_(scale);
  if (softcap > 0) scores = at::tanh(scores / softcap) * softcap;
  scores = scores.view({B, KVH, G, T, S});
  scores.masked_fill_(blocked, -std::numeric_limits<float>::infinity());  // in place: one pass less over the scores
  auto probs = at::softmax(scores, -1).to(v.scalar_type()).view({B, KVH, G * T, S});
  auto out = at::matmul(probs, v);  // [B, KVH, G*T, D]
  return out.view({B, H, T, D}).transpose(1, 2).reshape({B, T, H * D});
}

}  // namespace c2s
