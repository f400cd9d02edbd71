#include "model/model_config.hpp"

#include <cmath>

#include "core/error.hpp"
#include "core/json_file.hpp"

namespace c2s {

namespace {

using nlohmann::json;

class Fields {
 public:
  Fields(const json& j, const std::string& source) : j_(j), source_(source) {}

  bool has(const char* key) const { return j_.contains(key) && !j_[key].is_null(); }

  std::int64_t integer(const char* key) const {
    if (!has(key)) fail(key, "missing");
    return integer_value(key, j_[key]);
  }
  std::int64_t integer(const char* key, std::int64_t fallback) const {
    return has(key) ? integer_value(key, j_[key]) : fallback;
  }
  std::int64_t positive(const char* key) const {
    auto v = integer(key);
    if (v <= 0) fail(key, "must be positive, got " + std::to_string(v));
    return v;
  }
  double number(const char* key, double fallback) const {
    if (!has(key)) return fallback;
    const json& v = j_[key];
    if (!v.is_number()) fail(key, "must be a number");
    double d = v.get<double>();
    if (!std::isfinite(d)) fail(key, "must be finite");
    return d;
  }
  bool boolean(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    if (!j_[key].is_boolean()) fail(key, "must be true or false");
    return j_[key].get<bool>();
  }
  std::string string(const char* key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    if (!j_[key].is_string()) fail(key, "must be a string");
    return j_[key].get<std::string>();
  }
  std::optional<std::int64_t> optional_id(const char* key) const {
    if (!has(key)) return std::nullopt;
    return integer_value(key, j_[key]);
  }
  // eos_token_id may be one id or a list.
  std::vector<std::int64_t> ids(const char* key) const {
    if (!has(key)) return {};
    if (j_[key].is_array()) {
      std::vector<std::int64_t> out;
      for (const auto& v : j_[key]) out.push_back(integer_value(key, v));
      return out;
    }
    return {integer_value(key, j_[key])};
  }
  [[noreturn]] void fail(const char* key, const std::string& what) const {
    throw Error(source_, std::string("field '") + key + "' " + what);
  }

 private:
  std::int64_t integer_value(const char* key, const json& v) const {
    if (v.is_number_integer()) return v.get<std::int64_t>();
    if (v.is_number_float()) {
      double d = v.get<double>();
      if (std::isfinite(d) && d == std::floor(d)) return std::int64_t(d);
    }
    fail(key, "must be an integer, got " + v.dump());
  }
  const json& j_;
  const std::string& source_;
};

void require_known_activation(const Fields& f, const char* key, const std::string& act,
                              std::initializer_list<const char*> known) {
  for (const char* k : known)
    if (act == k) return;
  f.fail(key, "'" + act + "' is not supported");
}

ModelConfig parse_gpt_neox(const Fields& f, ModelConfig c) {
  c.architecture = Architecture::GptNeox;
  c.vocab_size = f.positive("vocab_size");
  c.hidden_size = f.positive("hidden_size");
  c.num_layers = f.positive("num_hidden_layers");
  c.num_heads = f.positive("num_attention_heads");
  c.num_kv_heads = c.num_heads;
  if (c.hidden_size % c.num_heads != 0) f.fail("num_attention_heads", "must divide hidden_size");
  c.head_dim = c.hidden_size / c.num_heads;
  c.intermediate_size = f.positive("intermediate_size");
  c.max_positions = f.integer("max_position_embeddings", 2048);
  c.norm_eps = f.number("layer_norm_eps", 1e-5);
  c.tie_word_embeddings = f.boolean("tie_word_embeddings", false);
  c.activation = f.string("hidden_act", "gelu");
  require_known_activation(f, "hidden_act", c.activation, {"gelu", "gelu_new", "gelu_fast", "gelu_pytorch_tanh"});
  double pct = f.number("rotary_pct", f.number("partial_rotary_factor", 0.25));
  if (pct <= 0 || pct > 1) f.fail("rotary_pct", "must be in (0, 1]");
  c.rotary_dims = std::int64_t(double(c.head_dim) * pct);  // int() as transformers does
  if (c.rotary_dims % 2 != 0) f.fail("rotary_pct", "gives an odd number of rotary dimensions");
  c.rope_theta = f.number("rotary_emb_base", f.number("rope_theta", 10000.0));
  if (f.has("rope_scaling")) f.fail("rope_scaling", "is not supported");
  c.parallel_residual = f.boolean("use_parallel_residual", true);
  c.attention_bias = f.boolean("attention_bias", true);
  return c;
}

ModelConfig parse_gemma2(const Fields& f, ModelConfig c) {
  c.architecture = Architecture::Gemma2;
  c.vocab_size = f.positive("vocab_size");
  c.hidden_size = f.positive("hidden_size");
  c.num_layers = f.positive("num_hidden_layers");
  c.num_heads = f.positive("num_attention_heads");
  c.num_kv_heads = f.integer("num_key_value_heads", c.num_heads);
  if (c.num_kv_heads <= 0 || c.num_heads % c.num_kv_heads != 0)
    f.fail("num_key_value_heads", "must divide num_attention_heads");
  c.head_dim = f.integer("head_dim", c.hidden_size / c.num_heads);
  if (c.head_dim <= 0 || c.head_dim % 2 != 0) f.fail("head_dim", "must be positive and even");
  c.intermediate_size = f.positive("intermediate_size");
  c.max_positions = f.integer("max_position_embeddings", 8192);
  c.norm_eps = f.number("rms_norm_eps", 1e-6);
  c.tie_word_embeddings = f.boolean("tie_word_embeddings", true);
  c.activation = f.string("hidden_activation", f.string("hidden_act", "gelu_pytorch_tanh"));
  require_known_activation(f, "hidden_activation", c.activation, {"gelu_pytorch_tanh", "gelu_new", "gelu_fast", "gelu"});
  c.rotary_dims = c.head_dim;
  c.rope_theta = f.number("rope_theta", 10000.0);
  if (f.has("rope_scaling")) f.fail("rope_scaling", "is not supported");
  c.query_pre_attn_scalar = f.number("query_pre_attn_scalar", double(c.head_dim));
  if (c.query_pre_attn_scalar <= 0) f.fail("query_pre_attn_scalar", "must be positive");
  c.attn_logit_softcapping = f.number("attn_logit_softcapping", 0.0);
  c.final_logit_softcapping = f.number("final_logit_softcapping", 0.0);
  if (c.attn_logit_softcapping < 0 || c.final_logit_softcapping < 0) f.fail("attn_logit_softcapping", "must not be negative");
  c.sliding_window = f.integer("sliding_window", 0);
  if (c.sliding_window < 0) f.fail("sliding_window", "must not be negative");
  c.attention_bias = f.boolean("attention_bias", false);
  if (c.attention_bias) f.fail("attention_bias", "true is not supported for gemma2");
  c.sliding_layers.assign(std::size_t(c.num_layers), false);
  if (f.has("layer_types")) {
    const json& types = c.raw["layer_types"];
    if (!types.is_array() || std::int64_t(types.size()) != c.num_layers)
      f.fail("layer_types", "must list one type per layer");
    for (std::size_t i = 0; i < types.size(); ++i) {
      std::string t = types[i].is_string() ? types[i].get<std::string>() : "";
      if (t != "sliding_attention" && t != "full_attention") f.fail("layer_types", "has unknown type " + types[i].dump());
      c.sliding_layers[i] = t == "sliding_attention";
    }
  } else {
    for (std::size_t i = 0; i < c.sliding_layers.size(); i += 2) c.sliding_layers[i] = true;  // transformers: even layers
  }
  if (c.sliding_window == 0) c.sliding_layers.assign(c.sliding_layers.size(), false);
  return c;
}

ModelConfig parse_gpt2(const Fields& f, ModelConfig c) {
  c.architecture = Architecture::Gpt2;
  c.vocab_size = f.positive("vocab_size");
  c.hidden_size = f.positive("n_embd");
  c.num_layers = f.positive("n_layer");
  c.num_heads = f.positive("n_head");
  c.num_kv_heads = c.num_heads;
  if (c.hidden_size % c.num_heads != 0) f.fail("n_head", "must divide n_embd");
  c.head_dim = c.hidden_size / c.num_heads;
  c.intermediate_size = f.integer("n_inner", 4 * c.hidden_size);
  if (c.intermediate_size <= 0) f.fail("n_inner", "must be positive");
  c.max_positions = f.positive("n_positions");
  c.norm_eps = f.number("layer_norm_epsilon", 1e-5);
  c.tie_word_embeddings = f.boolean("tie_word_embeddings", true);
  if (!c.tie_word_embeddings) f.fail("tie_word_embeddings", "false is not supported for gpt2");
  c.activation = f.string("activation_function", "gelu_new");
  require_known_activation(f, "activation_function", c.activation, {"gelu_new", "gelu", "gelu_fast", "gelu_pytorch_tanh"});
  if (!f.boolean("scale_attn_weights", true)) f.fail("scale_attn_weights", "false is not supported");
  if (f.boolean("scale_attn_by_inverse_layer_idx", false)) f.fail("scale_attn_by_inverse_layer_idx", "true is not supported");
  if (f.boolean("reorder_and_upcast_attn", false)) f.fail("reorder_and_upcast_attn", "true is not supported");
  return c;
}

}  // namespace

double ModelConfig::attention_scale() const {
  if (architecture == Architecture::Gemma2) return 1.0 / std::sqrt(query_pre_attn_scalar);
  return 1.0 / std::sqrt(double(head_dim));
}

std::int64_t ModelConfig::parameter_count() const {
  const std::int64_t h = hidden_size, q = num_heads * head_dim, kv = num_kv_heads * head_dim, f = intermediate_size;
  std::int64_t per_layer = 0, rest = vocab_size * h;
  switch (architecture) {
    case Architecture::GptNeox:
      per_layer = h * 3 * q + (attention_bias ? 3 * q : 0) + q * h + (attention_bias ? h : 0) + h * f + f + f * h + h + 4 * h;
      rest += 2 * h + (tie_word_embeddings ? 0 : vocab_size * h);
      break;
    case Architecture::Gemma2:
      per_layer = h * (q + 2 * kv) + q * h + 3 * h * f + 4 * h;
      rest += h + (tie_word_embeddings ? 0 : vocab_size * h);
      break;
    case Architecture::Gpt2:
      per_layer = h * 3 * h + 3 * h + h * h + h + h * f + f + f * h + h + 4 * h;
      rest += max_positions * h + 2 * h;
      break;
  }
  return per_layer * num_layers + rest;
}

ModelConfig parse_model_config(const nlohmann::json& config, const std::string& source) {
  if (!config.is_object()) throw Error(source, "must be a JSON object");
  ModelConfig c;
  c.raw = config;
  Fields f(config, source);
  c.model_type = f.string("model_type", "");
  if (c.model_type.empty()) f.fail("model_type", "missing");
  if (c.model_type == "gpt_neox") c = parse_gpt_neox(f, std::move(c));
  else if (c.model_type == "gemma2") c = parse_gemma2(f, std::move(c));
  else if (c.model_type == "gpt2") c = parse_gpt2(f, std::move(c));
  else
    f.fail("model_type", "'" + c.model_type + "' is not supported (supported: gpt_neox, gemma2, gpt2)");
  Fields g(c.raw, source);
  if (c.max_positions <= 0) g.fail("max_position_embeddings", "must be positive");
  if (c.norm_eps <= 0) g.fail("layer_norm_eps", "must be positive");
  c.bos_token_id = g.optional_id("bos_token_id");
  c.pad_token_id = g.optional_id("pad_token_id");
  c.eos_token_ids = g.ids("eos_token_id");
  c.torch_dtype = g.string("torch_dtype", "");
  for (auto id : c.eos_token_ids)
    if (id < 0 || id >= c.vocab_size) g.fail("eos_token_id", "is outside the vocabulary");
  return c;
}

ModelConfig read_model_config(const std::filesystem::path& folder) {
  auto path = folder / "config.json";
  return parse_model_config(read_json_file(path), path.string());
}

GenerationDefaults read_generation_defaults(const std::filesystem::path& folder, const ModelConfig& config) {
  GenerationDefaults d;
  d.bos_token_id = config.bos_token_id;
  d.pad_token_id = config.pad_token_id;
  d.eos_token_ids = config.eos_token_ids;
  auto path = folder / "generation_config.json";
  if (!std::filesystem::exists(path)) return d;
  const json j = read_json_file(path);
  const std::string source = path.string();
  if (!j.is_object()) throw Error(source, "must be a JSON object");
  Fields f(j, source);
  if (f.has("bos_token_id")) d.bos_token_id = f.optional_id("bos_token_id");
  if (f.has("pad_token_id")) d.pad_token_id = f.optional_id("pad_token_id");
  if (f.has("eos_token_id")) d.eos_token_ids = f.ids("eos_token_id");
  if (f.has("do_sample")) d.do_sample = f.boolean("do_sample", false);
  if (f.has("temperature")) d.temperature = f.number("temperature", 1.0);
  if (f.has("top_p")) d.top_p = f.number("top_p", 1.0);
  if (f.has("top_k")) d.top_k = f.integer("top_k");
  if (f.has("repetition_penalty")) d.repetition_penalty = f.number("repetition_penalty", 1.0);
  if (f.has("max_new_tokens")) d.max_new_tokens = f.integer("max_new_tokens");
  return d;
}

nlohmann::json model_config_json(const ModelConfig& c) {
  json j = c.raw.is_object() ? c.raw : json::object();
  j["model_type"] = c.model_type;
  j["vocab_size"] = c.vocab_size;
  if (!c.torch_dtype.empty()) j["torch_dtype"] = c.torch_dtype;
  if (c.bos_token_id) j["bos_token_id"] = *c.bos_token_id;
  if (c.pad_token_id) j["pad_token_id"] = *c.pad_token_id;
  if (c.eos_token_ids.size() == 1) j["eos_token_id"] = c.eos_token_ids[0];
  else if (!c.eos_token_ids.empty()) j["eos_token_id"] = c.eos_token_ids;
  return j;
}

namespace {

json preset_json(const std::string& name) {
  if (name == "pythia-160m" || name == "pythia-410m" || name == "pythia-tiny") {
    const bool big = name == "pythia-410m", tiny = name == "pythia-tiny";
    return {{"architectures", {"GPTNeoXForCausalLM"}}, {"model_type", "gpt_neox"},
            {"vocab_size", tiny ? 1024 : 50304}, {"hidden_size", tiny ? 64 : big ? 1024 : 768},
            {"num_hidden_layers", tiny ? 2 : big ? 24 : 12}, {"num_attention_heads", tiny ? 4 : big ? 16 : 12},
            {"intermediate_size", tiny ? 256 : big ? 4096 : 3072}, {"max_position_embeddings", 2048},
            {"rotary_pct", 0.25}, {"rotary_emb_base", 10000}, {"use_parallel_residual", true},
            {"layer_norm_eps", 1e-5}, {"hidden_act", "gelu"}, {"attention_bias", true},
            {"tie_word_embeddings", false}, {"bos_token_id", 0}, {"eos_token_id", 0},
            {"initializer_range", 0.02}, {"use_cache", true}, {"torch_dtype", "float32"}};
  }
  if (name == "gemma-2-2b" || name == "gemma-2-tiny") {
    const bool tiny = name == "gemma-2-tiny";
    return {{"architectures", {"Gemma2ForCausalLM"}}, {"model_type", "gemma2"},
            {"vocab_size", tiny ? 512 : 256000}, {"hidden_size", tiny ? 64 : 2304},
            {"num_hidden_layers", tiny ? 4 : 26}, {"num_attention_heads", tiny ? 4 : 8},
            {"num_key_value_heads", tiny ? 2 : 4}, {"head_dim", tiny ? 16 : 256},
            {"intermediate_size", tiny ? 128 : 9216}, {"max_position_embeddings", 8192},
            {"query_pre_attn_scalar", tiny ? 16 : 256}, {"attn_logit_softcapping", 50.0},
            {"final_logit_softcapping", 30.0}, {"sliding_window", 4096}, {"rope_theta", 10000.0},
            {"rms_norm_eps", 1e-6}, {"hidden_act", "gelu_pytorch_tanh"},
            {"hidden_activation", "gelu_pytorch_tanh"}, {"attention_bias", false},
            {"tie_word_embeddings", true}, {"bos_token_id", 2}, {"eos_token_id", 1}, {"pad_token_id", 0},
            {"cache_implementation", "hybrid"}, {"initializer_range", 0.02}, {"use_cache", true},
            {"torch_dtype", "float32"}};
  }
  if (name == "gpt2" || name == "gpt2-tiny") {
    const bool tiny = name == "gpt2-tiny";
    return {{"architectures", {"GPT2LMHeadModel"}}, {"model_type", "gpt2"},
            {"vocab_size", tiny ? 512 : 50257}, {"n_embd", tiny ? 64 : 768}, {"n_layer", tiny ? 2 : 12},
            {"n_head", tiny ? 4 : 12}, {"n_inner", nullptr}, {"n_positions", tiny ? 128 : 1024},
            {"n_ctx", tiny ? 128 : 1024}, {"activation_function", "gelu_new"}, {"layer_norm_epsilon", 1e-5},
            {"scale_attn_weights", true}, {"tie_word_embeddings", true},
            {"bos_token_id", tiny ? 511 : 50256}, {"eos_token_id", tiny ? 511 : 50256},
            {"initializer_range", 0.02}, {"use_cache", true}, {"torch_dtype", "float32"}};
  }
  return nullptr;
}

// "a, b, c": the names an error message offers.
std::string listed(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

std::vector<std::string> preset_model_names() {
  return {"pythia-tiny", "pythia-160m", "pythia-410m", "gemma-2-tiny", "gemma-2-2b", "gpt2-tiny", "gpt2"};
}

ModelConfig preset_model_config(const std::string& name) {
  json j = preset_json(name);
  if (j.is_null())
    throw UsageError("unknown model preset '" + name + "' (known: " + listed(preset_model_names()) + ")");
  return parse_model_config(j, "preset " + name);
}

std::vector<std::string> scratch_model_sizes() { return {"shallow", "tiny", "small", "base"}; }

ModelConfig scratch_model_config(const std::string& size, const std::string& model_type, std::int64_t vocab_size,
                                 std::int64_t bos_id, std::int64_t eos_id, std::int64_t pad_id) {
  struct Shape {
    std::int64_t hidden, layers, heads;
    double rotary_pct = 0.25;  // GPT-NeoX: share of each head's dimensions rotated
  };
  Shape shape;
  // shallow: 2 layers over sentences of all expressed genes (hundreds of
  // tokens), positions on the whole head; the Kang recipe of docs/RESULTS.md.
  if (size == "shallow") shape = {64, 2, 2, 1.0};
  else if (size == "tiny") shape = {128, 4, 4};
  else if (size == "small") shape = {256, 6, 8};
  else if (size == "base") shape = {512, 8, 8};
  else throw UsageError("unknown model size '" + size + "' (known: " + listed(scratch_model_sizes()) + ")");
  const std::int64_t head_dim = shape.hidden / shape.heads;
  json j;
  if (model_type == "gpt_neox") {
    j = {{"architectures", {"GPTNeoXForCausalLM"}}, {"model_type", "gpt_neox"}, {"vocab_size", vocab_size},
         {"hidden_size", shape.hidden}, {"num_hidden_layers", shape.layers}, {"num_attention_heads", shape.heads},
         {"intermediate_size", 4 * shape.hidden}, {"max_position_embeddings", 2048}, {"rotary_pct", shape.rotary_pct},
         {"rotary_emb_base", 10000}, {"use_parallel_residual", true}, {"layer_norm_eps", 1e-5},
         {"hidden_act", "gelu"}, {"attention_bias", true}, {"tie_word_embeddings", false}};
  } else if (model_type == "gemma2") {
    j = {{"architectures", {"Gemma2ForCausalLM"}}, {"model_type", "gemma2"}, {"vocab_size", vocab_size},
         {"hidden_size", shape.hidden}, {"num_hidden_layers", shape.layers}, {"num_attention_heads", shape.heads},
         {"num_key_value_heads", shape.heads / 2}, {"head_dim", head_dim}, {"intermediate_size", 4 * shape.hidden},
         {"max_position_embeddings", 2048}, {"query_pre_attn_scalar", head_dim}, {"attn_logit_softcapping", 50.0},
         {"final_logit_softcapping", 30.0}, {"sliding_window", 4096}, {"rope_theta", 10000.0},
         {"rms_norm_eps", 1e-6}, {"hidden_act", "gelu_pytorch_tanh"}, {"hidden_activation", "gelu_pytorch_tanh"},
         {"attention_bias", false}, {"tie_word_embeddings", true}};
  } else {
    throw UsageError("unknown model type '" + model_type + "' for training from scratch (known: gpt_neox, gemma2)");
  }
  j["bos_token_id"] = bos_id;
  j["eos_token_id"] = eos_id;
  j["pad_token_id"] = pad_id;
  j["initializer_range"] = 0.02;
  j["use_cache"] = true;
  j["torch_dtype"] = "float32";
  return parse_model_config(j, "c2s " + size + " " + model_type);
}

}  // namespace c2s
