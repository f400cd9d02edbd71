// A model folder's config.json and generation_config.json as plain structs,
// read with Hugging Face's field names for each model_type (gpt_neox, gemma2,
// gpt2). Torch-free: the data and text layers may read a model's shape.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace c2s {

enum class Architecture { GptNeox, Gemma2, Gpt2 };

struct ModelConfig {
  Architecture architecture = Architecture::GptNeox;
  std::string model_type;  // as written: gpt_neox, gemma2, gpt2
  std::int64_t vocab_size = 0;
  std::int64_t hidden_size = 0;
  std::int64_t num_layers = 0;
  std::int64_t num_heads = 0;
  std::int64_t num_kv_heads = 0;  // == num_heads unless grouped-query attention
  std::int64_t head_dim = 0;
  std::int64_t intermediate_size = 0;
  std::int64_t max_positions = 0;  // learned positions (GPT-2) or the trained context
  double norm_eps = 1e-5;
  bool tie_word_embeddings = false;
  std::string activation;  // gelu, gelu_new, gelu_pytorch_tanh...

  // Rotary position embedding (GPT-NeoX: the first rotary_dims of each head).
  std::int64_t rotary_dims = 0;
  double rope_theta = 10000.0;

  // GPT-NeoX.
  bool parallel_residual = true;
  bool attention_bias = true;

  // Gemma-2.
  double query_pre_attn_scalar = 0;
  double attn_logit_softcapping = 0;   // 0 = none
  double final_logit_softcapping = 0;  // 0 = none
  std::int64_t sliding_window = 0;     // 0 = none
  std::vector<bool> sliding_layers;    // per layer: sliding-window attention

  // Token ids from config.json (generation_config.json may refine them).
  std::optional<std::int64_t> bos_token_id, pad_token_id;
  std::vector<std::int64_t> eos_token_ids;

  std::string torch_dtype;  // as written (float32, bfloat16...), may be empty

  // The file as read, so that saving keeps fields c2s does not use.
  nlohmann::json raw;

  // Attention scale applied to q.k (before any soft-capping).
  double attention_scale() const;
  // Parameter count of the model (tied weights counted once).
  std::int64_t parameter_count() const;
};

// Fields of generation_config.json that c2s honours.
struct GenerationDefaults {
  std::optional<std::int64_t> bos_token_id, pad_token_id;
  std::vector<std::int64_t> eos_token_ids;
  std::optional<bool> do_sample;
  std::optional<double> temperature, top_p, repetition_penalty;
  std::optional<std::int64_t> top_k, max_new_tokens;
};

// `source` names the document in errors. Unknown model_type, missing or
// impossible fields are an Error naming the source and the field.
ModelConfig parse_model_config(const nlohmann::json& config, const std::string& source);
// config.json of a model folder.
ModelConfig read_model_config(const std::filesystem::path& folder);
// generation_config.json of a model folder (defaults from config.json when absent).
GenerationDefaults read_generation_defaults(const std::filesystem::path& folder, const ModelConfig& config);

// config.json for `config`: its raw fields with c2s's values written over them.
nlohmann::json model_config_json(const ModelConfig& config);

// Reference shapes (random weights, real field names) for tests and benchmarks:
// "pythia-160m", "pythia-410m", "gemma-2-2b", "gpt2", and tiny variants.
ModelConfig preset_model_config(const std::string& name);
std::vector<std::string> preset_model_names();

// Shapes for training from scratch on a CPU ("tiny", "small", "base": about
// 1, 5 and 25 million parameters besides the embeddings; "shallow": 2 layers
// of 64, 0.1 million, for sentences of every expressed gene), as GPT-NeoX
// ("gpt_neox") or Gemma-2 ("gemma2"), over a tokenizer's vocabulary and
// special ids. UsageError for an unknown size or model type.
ModelConfig scratch_model_config(const std::string& size, const std::string& model_type, std::int64_t vocab_size,
                                 std::int64_t bos_id, std::int64_t eos_id, std::int64_t pad_id);
std::vector<std::string> scratch_model_sizes();

}  // namespace c2s
