#include "engine/prompt_embedder.hpp"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <span>

#include "core/error.hpp"
#include "engine/generator.hpp"

namespace c2s {

Pooling parse_pooling(const std::string& name) {
  if (name == "mean") return Pooling::Mean;
  if (name == "last") return Pooling::LastToken;
  throw UsageError("unknown pooling '" + name + "' (expected mean or last)");
}

std::string pooling_name(Pooling pooling) { return pooling == Pooling::Mean ? "mean" : "last"; }

at::Tensor PromptEmbedder::embed(const std::vector<std::vector<std::int64_t>>& prompts, Pooling pooling,
                                 std::int64_t batch_size, Progress* progress) {
  if (batch_size < 1) throw UsageError("batch size must be at least 1");
  const auto& config = model_.config();
  for (std::size_t i = 0; i < prompts.size(); ++i) model_.check_input(prompts[i], 0, "prompt " + std::to_string(i));
  stats_ = {};
  auto t0 = std::chrono::steady_clock::now();
  // Made outside inference mode, so that callers may modify it in place.
  auto result = at::empty({std::int64_t(prompts.size()), config.hidden_size}, at::kFloat);
  c10::InferenceMode inference;
  const auto device = model_.options().device;

  // Batches of similar length waste less work on padding.
  std::vector<std::size_t> order(prompts.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return prompts[a].size() > prompts[b].size(); });
  for (std::size_t start = 0; start < order.size(); start += std::size_t(batch_size)) {
    const std::size_t end = std::min(order.size(), start + std::size_t(batch_size));
    std::vector<std::span<const std::int64_t>> rows;
    for (std::size_t k = start; k < end; ++k) rows.emplace_back(prompts[order[k]]);
    ForwardInput input = left_padded_input(rows, 0, 0, device);
    auto hidden = model_.forward(input, nullptr).to(at::kFloat);  // [B, T, H]
    at::Tensor pooled;
    if (pooling == Pooling::Mean) {
      // Padded positions are zeroed and not counted: the mean is over the
      // prompt's own tokens, whatever it was batched with.
      auto mask = input.valid.unsqueeze(-1).to(at::kFloat);
      pooled = (hidden * mask).sum(1) / mask.sum(1);
    } else {
      pooled = hidden.select(1, hidden.size(1) - 1);  // left padding: every row ends with its last token
    }
    std::vector<std::int64_t> idx(order.begin() + std::ptrdiff_t(start), order.begin() + std::ptrdiff_t(end));
    result.index_copy_(0, at::tensor(idx, at::kLong), pooled.cpu());
    for (const auto& r : rows) stats_.tokens += std::int64_t(r.size());
    stats_.padded_tokens += input.valid.numel();
    if (progress) progress->advance(end - start);
  }
  stats_.prompts = std::int64_t(prompts.size());
  stats_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace c2s
