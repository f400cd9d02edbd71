// The building blocks the architectures are written with: linear maps (a
// matrix-vector product when a single row goes through, as in batch-1
// decoding), optionally with a LoRA adapter, LayerNorm, Gemma's RMSNorm and
// the GELU variants.
#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <optional>
#include <string>

namespace c2s {

// A low-rank update beside a frozen linear map (lora.hpp attaches, saves and
// merges them): the layer adds scale * B(A(dropout(x))), scale = alpha / rank,
// computed in float32 whatever the model's dtype (as PEFT does).
struct LoraAdapter {
  at::Tensor a;  // [rank, in] float32
  at::Tensor b;  // [out, rank] float32
  double alpha = 16;
  double dropout = 0;
  bool training = false;  // dropout applies only while training
  at::Generator generator;  // draws the dropout masks (CPU)
  double scale() const { return alpha / double(a.size(0)); }
};

struct Linear {
  at::Tensor weight;  // [out, in], or [in, out] when in_out
  at::Tensor bias;    // [out] or undefined
  // GPT-2's Conv1D stores [in, out]. The layer keeps the parameter itself
  // (not a transposed view of it), so what training does to the parameter
  // is what the layer computes with.
  bool in_out = false;
  std::optional<LoraAdapter> lora = std::nullopt;
  at::Tensor operator()(const at::Tensor& x) const;
  std::int64_t in_features() const { return weight.size(in_out ? 0 : 1); }
  std::int64_t out_features() const { return weight.size(in_out ? 1 : 0); }

 private:
  at::Tensor base(const at::Tensor& x) const;
};

struct LayerNorm {
  at::Tensor weight, bias;
  double eps = 1e-5;
  at::Tensor operator()(const at::Tensor& x) const;
};

// Gemma: x / sqrt(mean(x^2) + eps) * (1 + weight), computed in float32.
struct RmsNorm {
  at::Tensor weight;
  double eps = 1e-6;
  at::Tensor operator()(const at::Tensor& x) const;
};

// config's activation name: gelu (erf) or the tanh forms (gelu_new,
// gelu_pytorch_tanh, gelu_fast).
at::Tensor activation(const at::Tensor& x, const std::string& name);

}  // namespace c2s
