#include "train/lm_batch.hpp"

#include <ATen/ATen.h>

#include <algorithm>

#include "train/lm_loss.hpp"

namespace c2s {

std::int64_t counted_tokens(const TrainingExamples& examples, std::size_t i, LossOn loss_on) {
  // Position t's label is predicted from position t-1: positions 1..n-1, and
  // with LossOn::Response only those past the prompt.
  const std::int64_t first = loss_on == LossOn::Response ? std::max<std::int64_t>(1, examples.prompt_tokens(i)) : 1;
  return std::max<std::int64_t>(0, examples.length(i) - first);
}

LmBatch collate(const TrainingExamples& examples, std::span<const std::size_t> members, std::int64_t pad_id,
                LossOn loss_on, const c10::Device& device) {
  const auto B = std::int64_t(members.size());
  std::int64_t T = 0;
  for (std::size_t m : members) T = std::max(T, examples.length(m));
  auto ids = at::full({B, T}, pad_id, at::kLong);
  auto labels = at::full({B, T}, kIgnoredLabel, at::kLong);
  auto positions = at::zeros({B, T}, at::kLong);
  auto valid = at::zeros({B, T}, at::kBool);
  auto* idp = ids.data_ptr<std::int64_t>();
  auto* lp = labels.data_ptr<std::int64_t>();
  auto* pp = positions.data_ptr<std::int64_t>();
  auto* vp = valid.data_ptr<bool>();
  LmBatch batch;
  for (std::int64_t b = 0; b < B; ++b) {
    const std::size_t m = members[std::size_t(b)];
    const auto row = examples.ids(m);
    const std::int64_t n = std::int64_t(row.size());
    const std::int64_t first_label = loss_on == LossOn::Response ? examples.prompt_tokens(m) : 0;
    for (std::int64_t t = 0; t < n; ++t) {
      idp[b * T + t] = row[std::size_t(t)];
      pp[b * T + t] = t;
      vp[b * T + t] = true;
      if (t >= first_label) lp[b * T + t] = row[std::size_t(t)];
    }
    batch.tokens += counted_tokens(examples, m, loss_on);
    batch.real_tokens += n;
  }
  batch.padded_tokens = B * T;
  batch.input = {ids.to(device), positions.to(device), valid.to(device)};
  batch.labels = labels.to(device);
  return batch;
}

}  // namespace c2s
