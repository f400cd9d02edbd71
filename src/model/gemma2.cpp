// Gemma-2 (C2S-Scale 2B/27B) as transformers' Gemma2ForCausalLM: embeddings
// scaled by sqrt(hidden) in the compute dtype, four RMSNorms (1 + weight, in
// float32) per layer, grouped-query attention scaled by
// query_pre_attn_scalar^-1/2 with soft-capped scores, sliding-window layers,
// GeGLU (tanh GELU), tied head with final soft-capping.
#include <ATen/ATen.h>

#include <cmath>

#include "model/architectures.hpp"
#include "model/attention.hpp"
#include "model/layers.hpp"

namespace c2s {

namespace {

class Gemma2 final : public CausalLM {
 public:
  Gemma2(const ModelConfig& config, const ComputeOptions& options, WeightSource& w) : CausalLM(config, options) {
    using K = WeightSource::Kind;
    const std::int64_t H = config.hidden_size, F = config.intermediate_size, V = config.vocab_size;
    const std::int64_t Q = config.num_heads * config.head_dim, KV = config.num_kv_heads * config.head_dim;
    const double eps = config.norm_eps;
    embed_ = w.take("model.embed_tokens.weight", {V, H}, K::Matrix);
    layers_.reserve(std::size_t(config.num_layers));  // linears_ points into it
    for (std::int64_t i = 0; i < config.num_layers; ++i) {
      const std::string p = "model.layers." + std::to_string(i) + ".";
      Layer& l = layers_.emplace_back();
      l.norm_in = {w.take(p + "input_layernorm.weight", {H}, K::RmsNormGain), eps};
      l.q = {w.take(p + "self_attn.q_proj.weight", {Q, H}, K::Matrix), {}};
      l.k = {w.take(p + "self_attn.k_proj.weight", {KV, H}, K::Matrix), {}};
      l.v = {w.take(p + "self_attn.v_proj.weight", {KV, H}, K::Matrix), {}};
      l.o = {w.take(p + "self_attn.o_proj.weight", {H, Q}, K::Matrix), {}};
      l.norm_post_attn = {w.take(p + "post_attention_layernorm.weight", {H}, K::RmsNormGain), eps};
      l.norm_pre_mlp = {w.take(p + "pre_feedforward_layernorm.weight", {H}, K::RmsNormGain), eps};
      l.gate = {w.take(p + "mlp.gate_proj.weight", {F, H}, K::Matrix), {}};
      l.up = {w.take(p + "mlp.up_proj.weight", {F, H}, K::Matrix), {}};
      l.down = {w.take(p + "mlp.down_proj.weight", {H, F}, K::Matrix), {}};
      l.norm_post_mlp = {w.take(p + "post_feedforward_layernorm.weight", {H}, K::RmsNormGain), eps};
      l.sliding = config.sliding_layers[std::size_t(i)];
      linears_.insert(linears_.end(), {{p + "self_attn.q_proj", &l.q},
                                       {p + "self_attn.k_proj", &l.k},
                                       {p + "self_attn.v_proj", &l.v},
                                       {p + "self_attn.o_proj", &l.o},
                                       {p + "mlp.gate_proj", &l.gate},
                                       {p + "mlp.up_proj", &l.up},
                                       {p + "mlp.down_proj", &l.down}});
    }
    final_norm_ = {w.take("model.norm.weight", {H}, K::RmsNormGain), eps};
    head_ = {config.tie_word_embeddings ? embed_ : w.take("lm_head.weight", {V, H}, K::Matrix), {}};
    parameters_ = w.finish();
  }

  at::Tensor forward(const ForwardInput& in, KvCache* cache) const override {
    const auto& c = config_;
    const std::int64_t B = in.input_ids.size(0), T = in.input_ids.size(1);
    AttentionContext ctx(c, in, cache, options_.dtype);
    // transformers rounds the scale to the compute dtype before multiplying.
    auto normalizer = at::scalar_tensor(std::sqrt(double(c.hidden_size)), embed_.options().dtype(options_.dtype));
    auto x = at::embedding(embed_, in.input_ids) * normalizer;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      const Layer& l = layers_[i];
      x = run_layer(
          [&c, &l, ctx, B, T, i](const at::Tensor& x) {
            auto h = l.norm_in(x);
            auto q = ctx.rotate(l.q(h).view({B, T, c.num_heads, c.head_dim}).transpose(1, 2));
            auto k = ctx.rotate(l.k(h).view({B, T, c.num_kv_heads, c.head_dim}).transpose(1, 2));
            auto v = l.v(h).view({B, T, c.num_kv_heads, c.head_dim}).transpose(1, 2);
            auto [keys, values] = ctx.keys_values(std::int64_t(i), k, v);
            auto attn = l.o(attend(q, keys, values, ctx.blocked(l.sliding), c.attention_scale(), c.attn_logit_softcapping));
            auto y = x + l.norm_post_attn(attn);
            h = l.norm_pre_mlp(y);
            return y + l.norm_post_mlp(l.down(activation(l.gate(h), c.activation) * l.up(h)));
          },
          x);
    }
    ctx.finish();
    return final_norm_(x);
  }

  at::Tensor logits(const at::Tensor& hidden) const override {
    auto out = head_(hidden);
    const double cap = config_.final_logit_softcapping;
    if (cap > 0) out = at::tanh(out / cap) * cap;
    return out.to(at::kFloat);
  }

 private:
  struct Layer {
    RmsNorm norm_in, norm_post_attn, norm_pre_mlp, norm_post_mlp;
    Linear q, k, v, o, gate, up, down;
    bool sliding = false;
  };
  at::Tensor embed_;
  std::vector<Layer> layers_;
  RmsNorm final_norm_;
  Linear head_;
};

}  // namespace

std::unique_ptr<CausalLM> make_gemma2(const ModelConfig& config, const ComputeOptions& options, WeightSource& weights) {
  return std::make_unique<Gemma2>(config, options, weights);
}

}  // namespace c2s
