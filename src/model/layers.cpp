#include "model/layers.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>

#include "model/bf16_gemv.hpp"

namespace c2s {

at::Tensor Linear::operator()(const at::Tensor& x) const {
  at::Tensor y = base(x);
  if (!lora) return y;
  // PEFT computes the adapter path in the adapters' dtype (float32) and casts
  // the sum back to the layer's output dtype.
  at::Tensor h = x.to(at::kFloat);
  if (lora->training && lora->dropout > 0) {
    const double keep = 1.0 - lora->dropout;
    auto mask = at::empty(h.sizes(), at::TensorOptions().dtype(at::kFloat)).bernoulli_(keep, lora->generator);
    h = h * mask.to(h.device()).div_(keep);
  }
  auto delta = at::linear(at::linear(h, lora->a), lora->b).mul_(lora->scale());
  return y.scalar_type() == at::kFloat ? y + delta : (y.to(at::kFloat) + delta).to(y.scalar_type());
}

at::Tensor Linear::base(const at::Tensor& x) const {
  // Decoding one token is bound by 1-row products, which libtorch runs as
  // general matrix products: OpenBLAS's GEMM is about half as fast as its
  // GEMV on these machines (measured) and oneDNN's bf16 path slower than our
  // bf16 GEMV kernel, so single rows take a GEMV in both dtypes.
  const at::Tensor weight = in_out ? this->weight.t() : this->weight;
  const std::int64_t in = weight.size(1);
  if (x.numel() == in && x.scalar_type() == at::kFloat && x.device().is_cpu() && !c10::GradMode::is_enabled()) {
    auto y = bias.defined() ? at::addmv(bias, weight, x.reshape({in})) : at::mv(weight, x.reshape({in}));
    auto sizes = x.sizes().vec();
    sizes.back() = weight.size(0);
    return y.view(sizes);
  }
  if (x.numel() == in && x.scalar_type() == at::kBFloat16 && weight.scalar_type() == at::kBFloat16 &&
      x.device().is_cpu() && weight.is_contiguous() && !c10::GradMode::is_enabled() && bf16_gemv_supported()) {
    const auto xs = x.reshape({in}).contiguous();
    const std::int64_t out = weight.size(0);
    auto y = at::empty({out}, x.options().dtype(at::kFloat));
    const auto* w = reinterpret_cast<const std::uint16_t*>(weight.data_ptr<at::BFloat16>());
    const auto* xv = reinterpret_cast<const std::uint16_t*>(xs.data_ptr<at::BFloat16>());
    float* yv = y.data_ptr<float>();
    at::parallel_for(0, out, 64, [&](std::int64_t begin, std::int64_t end) { bf16_gemv_rows(w, xv, yv, in, begin, end); });
    if (bias.defined()) y.add_(bias);
    auto sizes = x.sizes().vec();
    sizes.back() = out;
    return y.to(at::kBFloat16).view(sizes);  // one rounding of the float32 sums, as oneDNN does
  }
  return at::linear(x, weight, bias);
}

at::Tensor LayerNorm::operator()(const at::Tensor& x) const {
  return at::layer_norm(x, {x.size(-1)}, weight, bias, eps);
}

at::Tensor RmsNorm::operator()(const at::Tensor& x) const {
  auto xf = x.to(at::kFloat);
  auto normed = xf * at::rsqrt(xf.pow(2).mean({-1}, true) + eps);
  return (normed * (1.0 + weight.to(at::kFloat))).to(x.scalar_type());
}

at::Tensor activation(const at::Tensor& x, const std::string& name) {
  if (name == "gelu") return at::gelu(x);
  return at::gelu(x, "tanh");
}

}  // namespace c2s
