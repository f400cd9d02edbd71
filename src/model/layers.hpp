// The building blocks the architectures are written with: linear maps (a
// matrix-vector product when a single row goes through, as in batch-1
// decoding), LayerNorm, Gemma's RMSNorm and the GELU variants.
#pragma once
#include <ATen/core/Tensor.h>

#include <string>

namespace c2s {

struct Linear {
  at::Tensor weight;  // [out, in], or [in, out] when in_out
  at::Tensor bias;    // [out] or undefined
  // GPT-2's Conv1D stores [in, out]. The layer keeps the parameter itself
  // (not a transposed view of it), so what training does to the parameter
  // is what the layer computes with.
  bool in_out = false;
  at::Tensor operator()(const at::Tensor& x) const;
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
