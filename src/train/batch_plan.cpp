#include "train/batch_plan.hpp"

#include <algorithm>
#include <numeric>

#include "core/error.hpp"
#include "core/random.hpp"

namespace c2s {

std::vector<TrainingStep> plan_epoch(const TrainingExamples& examples, const BatchPlanOptions& options,
                                     std::int64_t epoch) {
  if (options.micro_batch_size < 1 || options.micro_batches < 1)
    throw UsageError("batch size and accumulation must be at least 1");
  const auto B = std::size_t(options.micro_batch_size);
  Rng rng(options.seed, 0x6261746368ull + std::uint64_t(epoch));  // stream per epoch
  std::vector<std::size_t> order(examples.size());
  std::iota(order.begin(), order.end(), std::size_t(0));
  shuffle(order, rng);
  if (options.bucket_by_length) {
    const std::size_t window = 64 * B;
    for (std::size_t w = 0; w < order.size(); w += window) {
      auto end = order.begin() + std::ptrdiff_t(std::min(order.size(), w + window));
      std::stable_sort(order.begin() + std::ptrdiff_t(w), end,
                       [&](std::size_t a, std::size_t b) { return examples.length(a) < examples.length(b); });
    }
  }
  std::vector<std::vector<std::size_t>> micro;
  for (std::size_t i = 0; i < order.size(); i += B)
    micro.emplace_back(order.begin() + std::ptrdiff_t(i), order.begin() + std::ptrdiff_t(std::min(order.size(), i + B)));
  if (options.bucket_by_length) shuffle(micro, rng);
  std::vector<TrainingStep> steps;
  const auto M = std::size_t(options.micro_batches);
  for (std::size_t i = 0; i < micro.size(); i += M) {
    TrainingStep s;
    for (std::size_t j = i; j < std::min(micro.size(), i + M); ++j) s.micro_batches.push_back(std::move(micro[j]));
    steps.push_back(std::move(s));
  }
  return steps;
}

}  // namespace c2s
