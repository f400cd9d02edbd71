#include "model/layers.hpp"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

namespace c2s {

at::Tensor Linear::operator()(const at::Tensor& x) const {
  // OpenBLAS runs a 1-row matrix product as a general GEMM, about half as
  // fast as its GEMV on these machines (measured); decoding one token is
  // bound by that product, so single rows take the GEMV.
  const std::int64_t in = weight.size(1);
  if (x.numel() == in && x.scalar_type() == at::kFloat && x.device().is_cpu() && !c10::GradMode::is_enabled()) {
    auto y = bias.defined() ? at::addmv(bias, weight, x.reshape({in})) : at::mv(weight, x.reshape({in}));
    auto sizes = x.sizes().vec();
    sizes.back() = weight.size(0);
    return y.view(sizes);
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
