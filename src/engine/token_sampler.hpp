// Choosing the next token from one row's logits, as Hugging Face generate()
// does: an optional allowed-token mask, the repetition penalty, then (when
// sampling) temperature, top-k and top-p, and a draw from the softmax.
// Draws come from a stream keyed by (seed, prompt index), so a prompt's
// output does not depend on the batch it ran in or on the thread count.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "core/random.hpp"

namespace c2s {

struct SamplingOptions {
  bool do_sample = false;          // false: greedy (argmax, ties to the lowest id)
  double temperature = 1.0;        // > 0
  std::int64_t top_k = 0;          // 0 = off
  double top_p = 1.0;              // (0, 1]; 1 = off
  double repetition_penalty = 1.0; // > 0; 1 = off (CTRL-style, on prompt and generated tokens)
  std::uint64_t seed = 0;

  // UsageError for impossible values.
  void validate() const;
};

class TokenSampler {
 public:
  TokenSampler(const SamplingOptions& options, std::uint64_t stream);

  // `logits` (modified in place) are one row's scores over the vocabulary;
  // `seen` the tokens so far (prompt and generated) for the repetition
  // penalty; `allowed`, when not empty, one flag per token (0 = never choose).
  // Returns the chosen token; Error when the mask allows no token.
  std::int64_t choose(std::span<float> logits, std::span<const std::int64_t> seen,
                      std::span<const std::uint8_t> allowed);

 private:
  SamplingOptions options_;
  Rng rng_;
  std::vector<std::uint32_t> order_;
  std::vector<double> probs_;
};

}  // namespace c2s
