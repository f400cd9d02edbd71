#include "model/model_weights.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "core/error.hpp"

namespace c2s {

namespace {

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace

WeightSource::WeightSource(const Checkpoint& checkpoint, std::string folder, const ComputeOptions& options)
    : checkpoint_(&checkpoint), folder_(std::move(folder)), options_(options) {}

WeightSource::WeightSource(std::uint64_t seed, double init_std, const ComputeOptions& options)
    : options_(options), generator_(at::make_generator<at::CPUGeneratorImpl>(seed)),
      init_std_(init_std) {}

bool WeightSource::contains(const std::string& name) const { return checkpoint_ && checkpoint_->contains(name); }

at::Tensor WeightSource::take(const std::string& name, const std::vector<std::int64_t>& shape, Kind kind) {
  at::Tensor t;
  if (checkpoint_) {
    if (!checkpoint_->contains(name)) throw Error(folder_, "weight '" + name + "' is missing");
    auto stored = checkpoint_->shape(name);
    if (stored != shape)
      throw Error(folder_, "weight '" + name + "' has shape " + shape_text(stored) + ", expected " + shape_text(shape));
    t = checkpoint_->tensor(name, options_.dtype);
    if (!options_.device.is_cpu()) t = t.to(options_.device);
  } else {
    auto f = at::TensorOptions().dtype(at::kFloat);
    switch (kind) {
      case Kind::Matrix: t = at::normal(0.0, init_std_, shape, generator_, f); break;
      case Kind::Bias: t = at::zeros(shape, f); break;
      case Kind::LayerNormGain: t = at::ones(shape, f); break;
      case Kind::RmsNormGain: t = at::zeros(shape, f); break;
    }
    t = t.to(options_.device, options_.dtype);
  }
  taken_.insert(name);
  parameters_.emplace_back(name, t);
  return t;
}

std::vector<std::pair<std::string, at::Tensor>> WeightSource::finish() {
  if (checkpoint_) for (const auto& name : checkpoint_->names()) {
    if (taken_.count(name)) continue;
    bool ignored = false;
    for (const auto& s : ignored_suffixes_)
      ignored = ignored || (name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0);
    if (!ignored) throw Error(folder_, "unexpected weight '" + name + "' (not part of this model's architecture)");
  }
  return std::move(parameters_);
}

}  // namespace c2s
