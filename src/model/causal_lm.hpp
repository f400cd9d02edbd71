// A decoder-only language model loaded from a Hugging Face folder: the one
// interface the engine (generation, scoring, embeddings) and training use.
#pragma once
#include <ATen/core/Tensor.h>

#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "model/activation_checkpoint.hpp"
#include "model/compute_options.hpp"
#include "model/kv_cache.hpp"
#include "model/model_config.hpp"

namespace c2s {

struct Linear;

// One forward pass over T new tokens of each of B rows.
struct ForwardInput {
  at::Tensor input_ids;     // [B, T] int64
  at::Tensor position_ids;  // [B, T] int64
  at::Tensor valid;         // [B, T] bool; false for padding (never attended to)
};

class CausalLM {
 public:
  virtual ~CausalLM() = default;

  const ModelConfig& config() const { return config_; }
  const ComputeOptions& options() const { return options_; }

  // Runs the tokens after those already in `cache` (appending theirs), or on
  // their own when `cache` is null. Returns the last hidden states after the
  // final norm, [B, T, hidden] (Hugging Face's last_hidden_state).
  virtual at::Tensor forward(const ForwardInput& input, KvCache* cache) const = 0;
  // The output head (soft-capped where the model does) on hidden states
  // [..., hidden]: float32 logits [..., vocab].
  virtual at::Tensor logits(const at::Tensor& hidden) const = 0;

  // The learned tensors under their Hugging Face names (tied weights once).
  const std::vector<std::pair<std::string, at::Tensor>>& parameters() const { return parameters_; }
  std::uint64_t parameter_bytes() const;

  // The linear layers of the decoder blocks under their Hugging Face module
  // paths (`gpt_neox.layers.0.attention.query_key_value`), in model order:
  // LoRA attaches, merges and saves adapters through this listing. The output
  // heads are not listed (tied to the embeddings in most of these models).
  const std::vector<std::pair<std::string, Linear*>>& linear_layers() { return linears_; }
  std::vector<std::pair<std::string, const Linear*>> linear_layers() const {
    return {linears_.begin(), linears_.end()};
  }

  // Checks a token sequence before any work: an Error starting with `what`
  // when it is empty, holds an id outside the vocabulary, or would need more
  // positions than the model can place (GPT-2's learned positions; rotary
  // models have no such limit) — `ids.size() + more` positions, `more`
  // counting the tokens that will run after it.
  void check_input(std::span<const std::int64_t> ids, std::int64_t more, const std::string& what) const;

  // Training on long sequences: each decoder layer is run again in the
  // backward pass instead of keeping its activations (model/activation_checkpoint.hpp).
  void set_activation_checkpointing(bool on) { checkpoint_layers_ = on; }
  bool activation_checkpointing() const { return checkpoint_layers_; }

  // An empty cache for `batch` rows of up to `capacity` tokens (it grows).
  KvCache make_cache(std::int64_t batch, std::int64_t capacity) const {
    return KvCache(config_, options_, batch, capacity);
  }

 protected:
  CausalLM(ModelConfig config, ComputeOptions options) : config_(std::move(config)), options_(options) {}
  // One decoder layer, fn(x): checkpointed when switched on (and autograd
  // records), with the LoRA dropout generators' states kept for the rerun.
  at::Tensor run_layer(const LayerFunction& fn, const at::Tensor& x) const;
  ModelConfig config_;
  ComputeOptions options_;
  std::vector<std::pair<std::string, at::Tensor>> parameters_;
  // Filled by each architecture while it is built; the layers must not move
  // afterwards (their containers are reserved up front).
  std::vector<std::pair<std::string, Linear*>> linears_;
  bool checkpoint_layers_ = false;
};

// Loads config.json and the weights of `folder` (Errors name the file and the
// tensor: unknown model_type, missing, mis-shaped or unexpected weights).
std::unique_ptr<CausalLM> load_causal_lm(const std::filesystem::path& folder, const ComputeOptions& options);

// A model with the `config`'s shape and random weights (normal, std
// initializer_range; norms at their identity), for tests and benchmarks.
std::unique_ptr<CausalLM> random_causal_lm(const ModelConfig& config, const ComputeOptions& options, std::uint64_t seed);

// Writes a folder that transformers' from_pretrained loads: config.json,
// generation_config.json and the weights (stored as the model's dtype).
void save_causal_lm(const CausalLM& model, const std::filesystem::path& folder, std::uint64_t max_shard_bytes = 0);

}  // namespace c2s
