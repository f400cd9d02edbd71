// Attention on the CPU a block of query rows at a time, with its own backward
// pass: the scores of one block of rows (at most 64 rows x the keys they may
// see) stay in the core's cache through the product, the soft-capping, the
// mask and the softmax, where the general form (attention.cpp) writes the
// whole [B, heads, T, S] score tensor and reads it back for every step, and
// keeps it, with the probabilities, for the backward pass. Keys past the last
// one a block's rows may see are skipped, which halves the work of a causal
// pass. The backward pass recomputes each block's probabilities from q and k
// (as flash attention does) instead of keeping them.
#pragma once
#include <ATen/core/Tensor.h>

namespace c2s {

// Whether attend_blockwise() takes these operands: CPU tensors in float32 or
// bfloat16 (computed in float32: bfloat16 operands are widened first).
bool blockwise_attention_applies(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v);

// softmax(scale * q.k^T, soft-capped when softcap > 0, blocked keys removed) . v
// for q [B, H, T, D], k and v [B, KVH, S, D] (query head h reads key/value
// head h / (H / KVH)), `blocked` [B or 1, 1, 1, T, S] bool; every query row
// must see at least one key. Returns [B, H, T, D] in v's dtype,
// differentiable in q, k and v.
at::Tensor attend_blockwise(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& blocked,
                            double scale, double softcap);

}  // namespace c2s
