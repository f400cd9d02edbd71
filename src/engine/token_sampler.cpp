#include "engine/token_sampler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_set>

#include "core/error.hpp"

namespace c2s {

void SamplingOptions::validate() const {
  // Greedy decoding ignores temperature, top-k and top-p (transformers only
  // warns about them then, so generation_config.json files may carry any).
  if (do_sample) {
    if (!(temperature > 0) || !std::isfinite(temperature)) throw UsageError("temperature must be positive");
    if (top_k < 0) throw UsageError("top-k must not be negative");
    if (!(top_p > 0 && top_p <= 1)) throw UsageError("top-p must be in (0, 1]");
  }
  if (!(repetition_penalty > 0) || !std::isfinite(repetition_penalty))
    throw UsageError("repetition penalty must be positive");
}

TokenSampler::TokenSampler(const SamplingOptions& options, std::uint64_t stream)
    : options_(options), rng_(options.seed, stream) {}

std::int64_t TokenSampler::choose(std::span<float> logits, std::span<const std::int64_t> seen,
                                  std::span<const std::uint8_t> allowed) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  const std::size_t V = logits.size();
  if (!allowed.empty()) {
    bool any = false;
    for (std::size_t i = 0; i < V; ++i) {
      if (!allowed[i]) logits[i] = kNegInf;
      else any = true;
    }
    if (!any) throw Error("constrained decoding: the allowed-token mask allows no token");
  }
  if (options_.repetition_penalty != 1.0) {
    const float p = float(options_.repetition_penalty);
    std::unordered_set<std::int64_t> done;
    for (std::int64_t id : seen) {
      if (id < 0 || std::size_t(id) >= V || !done.insert(id).second) continue;
      float& s = logits[std::size_t(id)];
      s = s < 0 ? s * p : s / p;
    }
  }
  if (!options_.do_sample) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < V; ++i)
      if (logits[i] > logits[best]) best = i;
    return std::int64_t(best);
  }

  // Candidates in descending order of score (ties: lower id first).
  const float inv_t = float(1.0 / options_.temperature);
  order_.clear();
  for (std::size_t i = 0; i < V; ++i)
    if (logits[i] != kNegInf) order_.push_back(std::uint32_t(i));
  if (order_.empty()) throw Error("sampling: every token has probability zero");
  for (auto i : order_) logits[i] *= inv_t;
  auto by_score = [&](std::uint32_t a, std::uint32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
  std::size_t n = order_.size();
  if (options_.top_k > 0 && std::size_t(options_.top_k) < n) {
    // Keep every token scoring at least the k-th best (ties included, as transformers does).
    std::nth_element(order_.begin(), order_.begin() + (options_.top_k - 1), order_.end(), by_score);
    const float kth = logits[order_[std::size_t(options_.top_k - 1)]];
    n = std::size_t(std::partition(order_.begin(), order_.end(), [&](std::uint32_t i) { return logits[i] >= kth; }) -
                    order_.begin());
    order_.resize(n);
  }
  std::sort(order_.begin(), order_.end(), by_score);
  const double top = logits[order_[0]];
  probs_.resize(n);
  double total = 0;
  for (std::size_t r = 0; r < n; ++r) total += probs_[r] = std::exp(double(logits[order_[r]]) - top);
  if (options_.top_p < 1.0) {
    // transformers drops the tokens whose ascending cumulative probability
    // is <= 1 - top_p, always keeping the best one.
    double below = 0;
    std::size_t keep = n;
    for (std::size_t r = n; r-- > 1;) {
      below += probs_[r] / total;
      if (below <= 1.0 - options_.top_p) keep = r;
      else break;
    }
    n = keep;
    total = 0;
    for (std::size_t r = 0; r < n; ++r) total += probs_[r];
  }
  double u = rng_.uniform() * total;
  for (std::size_t r = 0; r < n; ++r) {
    u -= probs_[r];
    if (u < 0) return order_[r];
  }
  return order_[n - 1];
}

}  // namespace c2s
