#include "train/gradient_clipping.hpp"

#include <ATen/ATen.h>

#include <cmath>
#include <numeric>

namespace c2s {

namespace {

// torch.norm(t, 2.0) calls norm(t, p, dim=[0..ndim-1], keepdim=False): the
// same overload keeps the same reduction, hence the same bits.
at::Tensor l2_norm_over_all_dims(const at::Tensor& t) {
  std::vector<std::int64_t> dims(std::size_t(t.dim()));
  std::iota(dims.begin(), dims.end(), std::int64_t(0));
  return at::norm(t, at::Scalar(2.0), dims, false);
}

}  // namespace

double clip_gradient_norm(const std::vector<std::pair<std::string, at::Tensor>>& params, double max_norm) {
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> grads, norms;
  for (const auto& [name, p] : params) {
    if (!p.grad().defined()) continue;
    grads.push_back(p.grad().detach());
    norms.push_back(l2_norm_over_all_dims(grads.back()));
  }
  if (grads.empty()) return 0.0;
  const auto total = l2_norm_over_all_dims(at::stack(norms));
  const double total_norm = total.item<double>();
  if (max_norm <= 0 || !std::isfinite(total_norm)) return total_norm;
  // max_norm / (total + 1e-6) in Python is Tensor.__rtruediv__: a
  // reciprocal, then a product.
  const auto coefficient = (total + 1e-6).reciprocal() * max_norm;
  const auto clamped = at::clamp(coefficient, c10::optional<at::Scalar>(), c10::optional<at::Scalar>(1.0));
  for (auto& g : grads) g.mul_(clamped);
  return total_norm;
}

}  // namespace c2s
