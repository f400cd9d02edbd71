// GPT-2 (the legacy C2S models) as transformers' GPT2LMHeadModel: Conv1D
// weights stored [in, out], learned positions, gelu_new, head tied to wte.
// Names with or without the `transformer.` prefix are accepted.
#include <ATen/ATen.h>

#include "model/architectures.hpp"
#include "model/attention.hpp"
#include "model/layers.hpp"

namespace c2s {

namespace {

class Gpt2 final : public CausalLM {
 public:
  Gpt2(const ModelConfig& config, const ComputeOptions& options, WeightSource& w) : CausalLM(config, options) {
    using K = WeightSource::Kind;
    const std::int64_t H = config.hidden_size, F = config.intermediate_size, V = config.vocab_size;
    // save_pretrained writes `transformer.`; the original gpt2 files do not.
    const std::string root = w.contains("wte.weight") ? "" : "transformer.";
    auto conv1d = [&](const std::string& name, std::int64_t in, std::int64_t out) {
      // Conv1D computes x @ W + b with W [in, out].
      return Linear{w.take(name + ".weight", {in, out}, K::Matrix), w.take(name + ".bias", {out}, K::Bias), true};
    };
    wte_ = w.take(root + "wte.weight", {V, H}, K::Matrix);
    wpe_ = w.take(root + "wpe.weight", {config.max_positions, H}, K::Matrix);
    layers_.reserve(std::size_t(config.num_layers));  // linears_ points into it
    for (std::int64_t i = 0; i < config.num_layers; ++i) {
      const std::string p = root + "h." + std::to_string(i) + ".";
      Layer& l = layers_.emplace_back();
      l.ln_1 = {w.take(p + "ln_1.weight", {H}, K::LayerNormGain), w.take(p + "ln_1.bias", {H}, K::Bias), config.norm_eps};
      l.ln_2 = {w.take(p + "ln_2.weight", {H}, K::LayerNormGain), w.take(p + "ln_2.bias", {H}, K::Bias), config.norm_eps};
      l.c_attn = conv1d(p + "attn.c_attn", H, 3 * H);
      l.c_proj = conv1d(p + "attn.c_proj", H, H);
      l.c_fc = conv1d(p + "mlp.c_fc", H, F);
      l.mlp_proj = conv1d(p + "mlp.c_proj", F, H);
      // Module paths are GPT2LMHeadModel's, whatever prefix the file's names have.
      const std::string m = "transformer.h." + std::to_string(i) + ".";
      linears_.insert(linears_.end(), {{m + "attn.c_attn", &l.c_attn},
                                       {m + "attn.c_proj", &l.c_proj},
                                       {m + "mlp.c_fc", &l.c_fc},
                                       {m + "mlp.c_proj", &l.mlp_proj}});
    }
    ln_f_ = {w.take(root + "ln_f.weight", {H}, K::LayerNormGain), w.take(root + "ln_f.bias", {H}, K::Bias), config.norm_eps};
    head_ = {wte_, {}};
    // Non-learned buffers of the original checkpoints; a saved tied head.
    w.ignore_suffix(".attn.bias");
    w.ignore_suffix(".attn.masked_bias");
    w.ignore_suffix("lm_head.weight");
    parameters_ = w.finish();
  }

  at::Tensor forward(const ForwardInput& in, KvCache* cache) const override {
    const auto& c = config_;
    const std::int64_t B = in.input_ids.size(0), T = in.input_ids.size(1);
    AttentionContext ctx(c, in, cache, options_.dtype);
    auto x = at::embedding(wte_, in.input_ids) + at::embedding(wpe_, in.position_ids);
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      const Layer& l = layers_[i];
      x = run_layer(
          [&c, &l, ctx, B, T, i](const at::Tensor& x) {
            auto qkv = l.c_attn(l.ln_1(x)).view({B, T, 3, c.num_heads, c.head_dim}).permute({2, 0, 3, 1, 4});
            auto [keys, values] = ctx.keys_values(std::int64_t(i), qkv[1], qkv[2]);
            auto y = l.c_proj(attend(qkv[0], keys, values, ctx.blocked(false), c.attention_scale(), 0.0)) + x;
            return l.mlp_proj(activation(l.c_fc(l.ln_2(y)), c.activation)) + y;
          },
          x);
    }
    ctx.finish();
    return ln_f_(x);
  }

  at::Tensor logits(const at::Tensor& hidden) const override { return head_(hidden).to(at::kFloat); }

 private:
  struct Layer {
    LayerNorm ln_1, ln_2;
    Linear c_attn, c_proj, c_fc, mlp_proj;
  };
  at::Tensor wte_, wpe_;
  std::vector<Layer> layers_;
  LayerNorm ln_f_;
  Linear head_;
};

}  // namespace

std::unique_ptr<CausalLM> make_gpt2(const ModelConfig& config, const ComputeOptions& options, WeightSource& weights) {
  return std::make_unique<Gpt2>(config, options, weights);
}

}  // namespace c2s
