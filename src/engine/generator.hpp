// Batched text generation with a KV cache, as Hugging Face generate() does it
// (left-padded rows, greedy or sampled), with what a C2S workload needs on
// top: prompts that share a prefix (the task template) compute it once per
// batch, finished rows leave the batch, and a caller-supplied mask can
// restrict each step's tokens (constrained decoding).
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "engine/token_sampler.hpp"
#include "model/causal_lm.hpp"

namespace c2s {

struct GenerationOptions {
  std::int64_t max_new_tokens = 64;
  SamplingOptions sampling;
  // Generation of a row ends after any of these tokens (which is kept, as
  // transformers keeps it).
  std::vector<std::int64_t> eos_ids;
  // ... or once its decoded text contains one of these (needs a decoder).
  std::vector<std::string> stop_strings;
  std::int64_t batch_size = 16;
  bool share_prefix = true;

  void validate() const;  // UsageError for impossible values
};

// Fills `allowed` (one flag per vocabulary id, all 1 on entry) for the next
// token of prompt `prompt_index`, given the tokens it has generated so far.
using AllowedTokens =
    std::function<void(std::size_t prompt_index, std::span<const std::int64_t> generated, std::span<std::uint8_t> allowed)>;
// Token ids to text (for stop strings).
using TokenDecoder = std::function<std::string(std::span<const std::int64_t> ids)>;

struct Generation {
  std::vector<std::int64_t> tokens;  // the new tokens
  std::string finish_reason;         // "eos", "stop_string" or "length"
};

struct GenerationStats {
  std::int64_t prompts = 0;
  std::int64_t prefill_tokens = 0;        // prompt tokens run (a shared prefix counted once per batch)
  std::int64_t shared_prefix_tokens = 0;  // prompt tokens not run thanks to shared prefixes
  double prefill_seconds = 0;             // prompt forward passes and the first token's choice
  std::int64_t decode_tokens = 0;         // new tokens after each row's first
  double decode_seconds = 0;
  std::uint64_t kv_cache_bytes = 0;       // the largest batch's key/value cache
};

class Generator {
 public:
  explicit Generator(const CausalLM& model) : model_(model) {}

  // One result per prompt, in order. A prompt's result does not depend on
  // the batch size or on the other prompts (sampling draws are keyed by
  // (seed, prompt index)).
  std::vector<Generation> generate(const std::vector<std::vector<std::int64_t>>& prompts, const GenerationOptions& options,
                                   const AllowedTokens& allowed = {}, const TokenDecoder& decoder = {});
  const GenerationStats& stats() const { return stats_; }

 private:
  void run_batch(const std::vector<std::vector<std::int64_t>>& prompts, const std::vector<std::size_t>& members,
                 const GenerationOptions& options, const AllowedTokens& allowed, const TokenDecoder& decoder,
                 std::vector<Generation>& results);
  const CausalLM& model_;
  GenerationStats stats_;
};

// Longest common prefix of the prompts `members`, leaving at least one token of
// each prompt after it (the last position's logits start generation).
std::size_t shared_prefix_length(const std::vector<std::vector<std::int64_t>>& prompts,
                                 const std::vector<std::size_t>& members);

// Left-pads `rows` into one step's input: ids (pads = `pad_id`), position
// ids starting at `first_position` on each row's first real token, validity.
ForwardInput left_padded_input(const std::vector<std::span<const std::int64_t>>& rows, std::int64_t first_position,
                               std::int64_t pad_id, const c10::Device& device);

}  // namespace c2s
