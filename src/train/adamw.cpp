#include "train/adamw.hpp"

#include <ATen/ATen.h>

#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "core/error.hpp"

namespace c2s {

namespace {

std::string shape_text(at::IntArrayRef sizes) {
  std::ostringstream out;
  out << '[';
  for (std::size_t i = 0; i < sizes.size(); ++i) out << (i ? ", " : "") << sizes[i];
  out << ']';
  return out.str();
}

// Named as safetensors and torch users know them.
std::string dtype_text(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    default: return c10::toString(t.scalar_type());
  }
}

// torch refuses the same values (AdamW.__init__).
void check_options(const AdamWOptions& o) {
  auto bad = [](const std::string& what, double v) {
    throw UsageError("AdamW", "invalid " + what + ": " + std::to_string(v));
  };
  if (!(o.beta1 >= 0 && o.beta1 < 1)) bad("beta1 (must be in [0, 1))", o.beta1);
  if (!(o.beta2 >= 0 && o.beta2 < 1)) bad("beta2 (must be in [0, 1))", o.beta2);
  if (!(o.eps >= 0)) bad("epsilon (must be >= 0)", o.eps);
  if (!(o.weight_decay >= 0)) bad("weight decay (must be >= 0)", o.weight_decay);
}

}  // namespace

AdamW::AdamW(std::vector<std::pair<std::string, at::Tensor>> params, AdamWOptions options) : options_(options) {
  check_options(options_);
  std::set<std::string> names;
  params_.reserve(params.size());
  for (auto& [name, value] : params) {
    const std::string context = "AdamW parameter '" + name + "'";
    if (!names.insert(name).second) throw Error(context, "given twice");
    if (!value.defined()) throw Error(context, "undefined tensor");
    if (value.scalar_type() != at::kFloat)
      throw Error(context, "is " + dtype_text(value) + "; the optimiser keeps float32 master weights");
    if (!value.requires_grad()) throw Error(context, "does not require gradients");
    Parameter p;
    p.name = name;
    p.value = value;
    p.exp_avg = at::zeros_like(value, at::MemoryFormat::Preserve);
    p.exp_avg_sq = at::zeros_like(value, at::MemoryFormat::Preserve);
    p.weight_decay = value.dim() >= 2 ? options_.weight_decay : 0.0;
    params_.push_back(std::move(p));
  }
}

void AdamW::step(double lr) {
  if (!(lr >= 0)) throw UsageError("AdamW", "invalid learning rate: " + std::to_string(lr));
  at::NoGradGuard no_grad;
  const double beta1 = options_.beta1, beta2 = options_.beta2, eps = options_.eps;
  // All gradients are checked first: a refused step updates nothing.
  for (const auto& p : params_) {
    const auto& grad = p.value.grad();
    if (grad.defined() && (grad.scalar_type() != at::kFloat || grad.sizes() != p.value.sizes()))
      throw Error("AdamW parameter '" + p.name + "'", "gradient is " + dtype_text(grad) + " " +
                                                          shape_text(grad.sizes()) + ", expected float32 " +
                                                          shape_text(p.value.sizes()));
  }
  for (auto& p : params_) {
    const auto& grad = p.value.grad();
    if (!grad.defined()) continue;
    // _single_tensor_adamw of torch 1.13, operation for operation: the same
    // ATen calls with the same (double) scalars give the same float32 bits.
    // (torch 2 blends the first moment with lerp_, which rounds differently.)
    ++p.step;
    p.value.mul_(1 - lr * p.weight_decay);
    p.exp_avg.mul_(beta1).add_(grad, 1 - beta1);
    p.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
    // torch raises Python floats to the step, itself a float32 tensor's
    // value: exact up to 2^24 steps.
    const auto step = double(p.step);
    const double bias_correction1 = 1 - std::pow(beta1, step);
    const double bias_correction2 = 1 - std::pow(beta2, step);
    const double step_size = lr / bias_correction1;
    const double bias_correction2_sqrt = std::sqrt(bias_correction2);
    const auto denom = (p.exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps);
    p.value.addcdiv_(p.exp_avg, denom, -step_size);
  }
}

void AdamW::zero_grad() {
  for (auto& p : params_) p.value.mutable_grad().reset();
}

std::vector<std::pair<std::string, at::Tensor>> AdamW::state() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  out.reserve(3 * params_.size());
  for (const auto& p : params_) {
    out.emplace_back(p.name + ".exp_avg", p.exp_avg);
    out.emplace_back(p.name + ".exp_avg_sq", p.exp_avg_sq);
    out.emplace_back(p.name + ".step", at::scalar_tensor(p.step, at::kLong));
  }
  return out;
}

void AdamW::load_state(const std::vector<std::pair<std::string, at::Tensor>>& state) {
  std::map<std::string, at::Tensor> by_name;
  for (const auto& [name, t] : state)
    if (!by_name.emplace(name, t).second) throw Error("optimiser state '" + name + "'", "given twice");

  auto take = [&](const std::string& name) {
    auto it = by_name.find(name);
    if (it == by_name.end() || !it->second.defined()) throw Error("optimiser state '" + name + "'", "missing");
    auto t = it->second;
    by_name.erase(it);
    return t;
  };
  // Everything is checked before anything is copied, so a refused state
  // leaves the optimiser as it was.
  struct Loaded {
    at::Tensor exp_avg, exp_avg_sq;
    std::int64_t step;
  };
  std::vector<Loaded> loaded;
  loaded.reserve(params_.size());
  for (const auto& p : params_) {
    auto take_moment = [&](const std::string& name) {
      auto t = take(name);
      if (t.scalar_type() != at::kFloat || t.sizes() != p.value.sizes())
        throw Error("optimiser state '" + name + "'", "is " + dtype_text(t) + " " + shape_text(t.sizes()) +
                                                          ", expected float32 " + shape_text(p.value.sizes()));
      return t;
    };
    Loaded l;
    l.exp_avg = take_moment(p.name + ".exp_avg");
    l.exp_avg_sq = take_moment(p.name + ".exp_avg_sq");
    const std::string step_name = p.name + ".step";
    const auto step = take(step_name);
    const bool number = at::isIntegralType(step.scalar_type(), false) || at::isFloatingType(step.scalar_type());
    const double value = number && step.numel() == 1 ? step.item<double>() : -1;
    if (!(value >= 0 && value == std::floor(value) && value <= 9007199254740992.0))
      throw Error("optimiser state '" + step_name + "'",
                  "must be one non-negative whole number (got " + dtype_text(step) + " " + shape_text(step.sizes()) + ")");
    l.step = std::int64_t(value);
    loaded.push_back(std::move(l));
  }
  if (!by_name.empty())
    throw Error("optimiser state '" + by_name.begin()->first + "'", "is not the state of any parameter being trained");

  at::NoGradGuard no_grad;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    params_[i].exp_avg.copy_(loaded[i].exp_avg);
    params_[i].exp_avg_sq.copy_(loaded[i].exp_avg_sq);
    params_[i].step = loaded[i].step;
  }
}

}  // namespace c2s
