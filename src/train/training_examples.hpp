// Training examples as token ids: each is a prompt (model input) followed by
// its response and the end-of-sequence token, as the reference package's
// tokenize_loss_on_response builds them, with how many leading tokens are
// the prompt (the loss can skip them). Built from a sentence store and a
// task (formatted on the way) or from a task-examples JSONL file
// (`c2s prompts` output).
#pragma once
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "data/sentence_store.hpp"
#include "text/prompt_examples.hpp"
#include "text/prompt_formatter.hpp"
#include "text/tokenizer.hpp"

namespace c2s {

class TrainingExamples {
 public:
  std::size_t size() const { return prompt_tokens_.size(); }
  std::span<const std::int64_t> ids(std::size_t i) const {
    return {ids_.data() + offsets_[i], std::size_t(offsets_[i + 1] - offsets_[i])};
  }
  std::int64_t length(std::size_t i) const { return std::int64_t(offsets_[i + 1] - offsets_[i]); }
  std::int64_t prompt_tokens(std::size_t i) const { return prompt_tokens_[i]; }
  // Examples cut at the context length (their response lost its end).
  std::int64_t truncated() const { return truncated_; }
  std::int64_t total_tokens() const { return std::int64_t(ids_.size()); }

  // Appends prompt + response + eos, cut to `max_tokens` (0 = no limit).
  void add(std::span<const TokenId> prompt, std::span<const TokenId> response, TokenId eos, std::int64_t max_tokens);

 private:
  std::vector<std::int64_t> ids_;
  std::vector<std::size_t> offsets_{0};
  std::vector<std::int64_t> prompt_tokens_;
  std::int64_t truncated_ = 0;
};

// Tokenizes prompt/response pairs: the prompt with the tokenizer's special
// tokens (a BOS where the model has one), the response without them — the
// reference encodes the response with them too, which puts a BOS in the
// middle of Gemma examples (docs/ARCHITECTURE.md, "Training") — then EOS.
// An Error when the tokenizer has no EOS token.
TrainingExamples tokenize_examples(std::span<const FormattedPrompt> pairs, const Tokenizer& tokenizer,
                                   std::int64_t max_tokens);

// The formatted examples of a plan (plan_examples), in plan order; with
// `thinning`, from the cells' thinned counts (data/count_thinning).
std::vector<FormattedPrompt> format_plan(const SentenceStore& store, const ExamplePlan& plan,
                                         const PromptFormatter& formatter, const CountThinning* thinning = nullptr);

// "model_input" and "response" of every line of a task-examples JSONL file
// (docs/formats/prompt-examples.md); Errors name the line.
std::vector<FormattedPrompt> read_task_examples(const std::filesystem::path& path);

}  // namespace c2s
