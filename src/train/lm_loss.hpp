// The causal language-model loss as transformers computes it for
// `labels=...`: the logits at position t predict the label at t+1, and
// positions whose label is kIgnoredLabel (-100: prompt tokens, padding) do
// not count.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace c2s {

class CausalLM;

inline constexpr std::int64_t kIgnoredLabel = -100;

// Summed cross-entropy over the counted next-token predictions of a model's
// last hidden states [B, T, hidden] against labels [B, T] (a 0-dim float32
// tensor), and how many predictions counted. The output head runs only on
// the positions whose next label counts: with the loss on the response, the
// prompt's positions (most of a cell sentence prompt) never reach the head
// or the softmax. The sum (not the mean) lets a batch split into
// micro-batches or over processes be normalised once, by the whole batch's
// count, so every split gives the same gradient.
struct LossSum {
  at::Tensor sum;
  std::int64_t tokens = 0;
};
LossSum lm_loss_sum(const CausalLM& model, const at::Tensor& hidden, const at::Tensor& labels);

}  // namespace c2s
