// What the model commands share: the flags that choose a model and how it
// runs (--model, --dtype, --batch-size), loading it with its tokenizer, and
// reading prompts (--prompt TEXT, or --prompts FILE.jsonl whose lines hold
// "prompt", "model_input" (as `c2s prompts` writes) or "ids").
#pragma once
#include <CLI/CLI.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/command_context.hpp"
#include "engine/token_sampler.hpp"
#include "model/causal_lm.hpp"
#include "text/tokenizer.hpp"

namespace c2s {

struct ModelArgs {
  std::string model;
  std::string dtype = "fp32";
  std::int64_t batch_size = 16;
};
// Adds --model (required), --dtype and --batch-size to `cmd`.
void add_model_options(CLI::App* cmd, ModelArgs& args);

// The sampling flags of the commands that write cell sentences
// (generate-cells, perturb): --temperature, --top-k, --top-p, --seed, bound
// to `sampling` (whose values are the defaults shown); `seed_note` ends the
// --seed help. UsageError for a negative --top-k is the caller's
// (sampling.validate()).
void add_cell_sampling_options(CLI::App* cmd, SamplingOptions& sampling, const std::string& seed_note = "");

struct ModelSession {
  std::unique_ptr<CausalLM> model;
  std::unique_ptr<Tokenizer> tokenizer;  // null when the folder has none
  double load_seconds = 0;
};
// Sets libtorch's threads from --threads, then loads the model and, when the
// folder has one, its tokenizer.
ModelSession open_model_session(const ModelArgs& args, const GlobalOptions& global);

// One prompt as given: text (to be tokenized) or token ids, plus the whole
// JSON line it came from (its other fields are passed through to outputs).
struct PromptInput {
  std::optional<std::string> text;
  std::vector<std::int64_t> ids;
  nlohmann::json source;  // the JSONL object, or null for --prompt
};
struct PromptArgs {
  std::string prompt;        // --prompt TEXT
  std::string prompts_file;  // --prompts FILE.jsonl ("-" = stdin)
};
void add_prompt_options(CLI::App* cmd, PromptArgs& args);
// Exactly one of --prompt / --prompts (UsageError otherwise); malformed lines
// are an Error naming the file and line.
std::vector<PromptInput> read_prompts(const PromptArgs& args);
// Token ids of every prompt (texts through the tokenizer with its special
// tokens; ids checked against the vocabulary). Error for text without a tokenizer.
std::vector<std::vector<std::int64_t>> prompt_token_ids(const std::vector<PromptInput>& prompts, const ModelSession& session);

// Parses "5,17,42" (UsageError naming the flag when malformed).
std::vector<std::int64_t> parse_id_list(const std::string& text, const std::string& flag);

}  // namespace c2s
