// Log-likelihood of candidate continuations after a prompt (choosing among
// candidate labels): prompts run once each, `batch_size` of them together
// (left-padded) into one KV cache; then, round after round, each prompt's
// next candidate runs after its prompt's cache rows, which are truncated back
// to the prompt afterwards (the cache is never copied).
#pragma once
#include <cstdint>
#include <vector>

#include "core/progress.hpp"
#include "model/causal_lm.hpp"

namespace c2s {

struct ContinuationScore {
  double log_likelihood = 0;  // sum of the natural-log probabilities of the tokens
  std::int64_t tokens = 0;    // their number (log_likelihood / tokens: the mean per token)
};

struct ScoringStats {
  std::int64_t prompts = 0;
  std::int64_t prompt_tokens = 0;        // each prompt run once
  std::int64_t prompt_slots = 0;         // positions run for the prompts, left padding included
  std::int64_t continuations = 0;
  std::int64_t continuation_tokens = 0;  // scored tokens
  std::int64_t padded_tokens = 0;        // positions run in the continuation batches, padding included
  double seconds = 0;
};

class ContinuationScorer {
 public:
  explicit ContinuationScorer(const CausalLM& model) : model_(model) {}

  // For prompt i and each of its continuations[i][j]: the sum over the
  // continuation's tokens of log p(token | prompt, the continuation's tokens
  // before it), softmax in float32. Results do not depend on the batch size
  // (up to float rounding) nor on the other prompts. A prompt without continuations gets an empty list
  // (and is not run). Errors name the prompt and candidate (from 0): empty
  // prompt or continuation, ids outside the vocabulary, sequences longer than
  // a learned-position model's positions.
  std::vector<std::vector<ContinuationScore>> score(
      const std::vector<std::vector<std::int64_t>>& prompts,
      const std::vector<std::vector<std::vector<std::int64_t>>>& continuations, std::int64_t batch_size,
      Progress* progress = nullptr);
  const ScoringStats& stats() const { return stats_; }

 private:
  void score_group(const std::vector<std::vector<std::int64_t>>& prompts,
                   const std::vector<std::vector<std::vector<std::int64_t>>>& continuations,
                   const std::vector<std::size_t>& members, std::vector<std::vector<ContinuationScore>>& results);
  const CausalLM& model_;
  ScoringStats stats_;
};

}  // namespace c2s
