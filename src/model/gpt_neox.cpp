// GPT-NeoX (Pythia, C2S-Pythia-410M) as transformers' GPTNeoXForCausalLM:
// fused query_key_value laid out per head as [heads, 3, head_size], rotary
// on the first rotary_dims of each head, parallel or sequential residual,
// exact GELU, untied embed_out.
#include <ATen/ATen.h>

#include "model/architectures.hpp"
#include "model/attention.hpp"
#include "model/layers.hpp"

namespace c2s {

namespace {

class GptNeox final : public CausalLM {
 public:
  GptNeox(const ModelConfig& config, const ComputeOptions& options, WeightSource& w) : CausalLM(config, options) {
    using K = WeightSource::Kind;
    const std::int64_t H = config.hidden_size, F = config.intermediate_size, V = config.vocab_size;
    const bool b = config.attention_bias;
    embed_ = w.take("gpt_neox.embed_in.weight", {V, H}, K::Matrix);
    layers_.reserve(std::size_t(config.num_layers));  // linears_ points into it
    for (std::int64_t i = 0; i < config.num_layers; ++i) {
      const std::string p = "gpt_neox.layers." + std::to_string(i) + ".";
      Layer& l = layers_.emplace_back();
      l.ln_attn = {w.take(p + "input_layernorm.weight", {H}, K::LayerNormGain),
                   w.take(p + "input_layernorm.bias", {H}, K::Bias), config.norm_eps};
      l.ln_mlp = {w.take(p + "post_attention_layernorm.weight", {H}, K::LayerNormGain),
                  w.take(p + "post_attention_layernorm.bias", {H}, K::Bias), config.norm_eps};
      l.qkv = {w.take(p + "attention.query_key_value.weight", {3 * H, H}, K::Matrix),
               b ? w.take(p + "attention.query_key_value.bias", {3 * H}, K::Bias) : at::Tensor()};
      l.dense = {w.take(p + "attention.dense.weight", {H, H}, K::Matrix),
                 b ? w.take(p + "attention.dense.bias", {H}, K::Bias) : at::Tensor()};
      l.up = {w.take(p + "mlp.dense_h_to_4h.weight", {F, H}, K::Matrix), w.take(p + "mlp.dense_h_to_4h.bias", {F}, K::Bias)};
      l.down = {w.take(p + "mlp.dense_4h_to_h.weight", {H, F}, K::Matrix), w.take(p + "mlp.dense_4h_to_h.bias", {H}, K::Bias)};
      linears_.insert(linears_.end(), {{p + "attention.query_key_value", &l.qkv},
                                       {p + "attention.dense", &l.dense},
                                       {p + "mlp.dense_h_to_4h", &l.up},
                                       {p + "mlp.dense_4h_to_h", &l.down}});
    }
    final_norm_ = {w.take("gpt_neox.final_layer_norm.weight", {H}, K::LayerNormGain),
                   w.take("gpt_neox.final_layer_norm.bias", {H}, K::Bias), config.norm_eps};
    head_ = {config.tie_word_embeddings ? embed_ : w.take("embed_out.weight", {V, H}, K::Matrix), {}};
    // Pythia checkpoints carry non-learned buffers the model must not use.
    w.ignore_suffix(".attention.bias");
    w.ignore_suffix(".attention.masked_bias");
    w.ignore_suffix(".attention.rotary_emb.inv_freq");
    parameters_ = w.finish();
  }

  at::Tensor forward(const ForwardInput& in, KvCache* cache) const override {
    const auto& c = config_;
    const std::int64_t B = in.input_ids.size(0), T = in.input_ids.size(1);
    AttentionContext ctx(c, in, cache, options_.dtype);
    auto x = at::embedding(embed_, in.input_ids);
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      const Layer& l = layers_[i];
      x = run_layer(
          [&c, &l, ctx, B, T, i](const at::Tensor& x) {
            // [B, T, heads, 3, head_size]: each head owns its q, k, v in turn.
            auto qkv = l.qkv(l.ln_attn(x)).view({B, T, c.num_heads, 3, c.head_dim}).permute({3, 0, 2, 1, 4});
            auto q = ctx.rotate(qkv[0]), k = ctx.rotate(qkv[1]);
            auto [keys, values] = ctx.keys_values(std::int64_t(i), k, qkv[2]);
            auto attn = l.dense(attend(q, keys, values, ctx.blocked(false), c.attention_scale(), 0.0));
            if (c.parallel_residual) return l.down(activation(l.up(l.ln_mlp(x)), c.activation)) + attn + x;
            auto y = attn + x;
            return l.down(activation(l.up(l.ln_mlp(y)), c.activation)) + y;
          },
          x);
    }
    ctx.finish();
    return final_norm_(x);
  }

  at::Tensor logits(const at::Tensor& hidden) const override { return head_(hidden).to(at::kFloat); }

 private:
  struct Layer {
    LayerNorm ln_attn, ln_mlp;
    Linear qkv, dense, up, down;
  };
  at::Tensor embed_;
  std::vector<Layer> layers_;
  LayerNorm final_norm_;
  Linear head_;
};

}  // namespace

std::unique_ptr<CausalLM> make_gpt_neox(const ModelConfig& config, const ComputeOptions& options, WeightSource& weights) {
  return std::make_unique<GptNeox>(config, options, weights);
}

}  // namespace c2s
