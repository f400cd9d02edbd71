// Embeddings of prompts (cells) from a language model's last hidden states:
// the mean over the prompt's real tokens, or the last token's state. Prompts
// run in left-padded batches of similar length; padding never enters a
// result, so an embedding does not depend on what it was batched with.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/progress.hpp"
#include "model/causal_lm.hpp"

namespace c2s {

enum class Pooling {
  Mean,       // mean over the prompt's tokens (the reference package's embedding, without its padding)
  LastToken,  // the hidden state of the prompt's last token
};
// "mean" or "last" (UsageError otherwise).
Pooling parse_pooling(const std::string& name);
std::string pooling_name(Pooling pooling);

struct EmbeddingStats {
  std::int64_t prompts = 0;
  std::int64_t tokens = 0;         // real tokens run
  std::int64_t padded_tokens = 0;  // positions run, padding included
  double seconds = 0;
};

class PromptEmbedder {
 public:
  explicit PromptEmbedder(const CausalLM& model) : model_(model) {}

  // [prompts.size(), hidden] float32 on the CPU, rows in input order. Prompts
  // run `batch_size` at a time, sorted by length within this call. Errors
  // name the prompt (from 0): no tokens, ids outside the vocabulary, more
  // tokens than a learned-position model has positions.
  at::Tensor embed(const std::vector<std::vector<std::int64_t>>& prompts, Pooling pooling, std::int64_t batch_size,
                   Progress* progress = nullptr);
  const EmbeddingStats& stats() const { return stats_; }

 private:
  const CausalLM& model_;
  EmbeddingStats stats_;
};

}  // namespace c2s
