// Collation: training examples padded into one forward pass with the labels
// the loss reads. Rows are right-padded (the models place tokens by position
// id and mask padded keys, so either side gives the same result; right
// padding keeps every row's positions 0..n-1 without shifting).
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <span>

#include "model/causal_lm.hpp"
#include "train/training_examples.hpp"

namespace c2s {

enum class LossOn { Response, AllTokens };

struct LmBatch {
  ForwardInput input;       // [B, T]
  at::Tensor labels;        // [B, T] int64, kIgnoredLabel where no loss is taken
  std::int64_t tokens = 0;  // labels the loss counts (next-token predictions)
  std::int64_t real_tokens = 0, padded_tokens = 0;  // B*T = padded_tokens
};

LmBatch collate(const TrainingExamples& examples, std::span<const std::size_t> members, std::int64_t pad_id,
                LossOn loss_on, const c10::Device& device);

// How many next-token predictions the loss counts for example i (the same
// number collate() gives that row).
std::int64_t counted_tokens(const TrainingExamples& examples, std::size_t i, LossOn loss_on);

}  // namespace c2s
