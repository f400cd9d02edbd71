// Where an architecture's weights come from while it is built: a checkpoint
// (each tensor checked against the shape the config implies, converted to the
// compute dtype and device) or a seeded random initialisation. Every tensor
// taken is registered under its Hugging Face name.
#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "model/checkpoint.hpp"
#include "model/compute_options.hpp"

namespace c2s {

class WeightSource {
 public:
  // From `checkpoint` (kept by reference: it must outlive the source).
  WeightSource(const Checkpoint& checkpoint, std::string folder, const ComputeOptions& options);
  // Random: matrices normal(0, init_std), biases 0, norm gains as `norm_gain` says.
  WeightSource(std::uint64_t seed, double init_std, const ComputeOptions& options);

  enum class Kind { Matrix, Bias, LayerNormGain, RmsNormGain };
  at::Tensor take(const std::string& name, const std::vector<std::int64_t>& shape, Kind kind);
  bool contains(const std::string& name) const;
  // Tensors the checkpoint may hold that the model does not use (non-learned
  // buffers), by name suffix.
  void ignore_suffix(const std::string& suffix) { ignored_suffixes_.push_back(suffix); }
  // Error naming the first checkpoint tensor that nothing took; else the
  // tensors taken, in order.
  std::vector<std::pair<std::string, at::Tensor>> finish();

 private:
  const Checkpoint* checkpoint_ = nullptr;
  std::string folder_;
  ComputeOptions options_;
  std::vector<std::pair<std::string, at::Tensor>> parameters_;
  std::set<std::string> taken_;
  std::vector<std::string> ignored_suffixes_;
  at::Generator generator_;
  double init_std_ = 0.02;
};

}  // namespace c2s
