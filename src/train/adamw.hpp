// The AdamW optimiser of torch 1.13 (torch.optim.AdamW, single-tensor path,
// no amsgrad), bit for bit in float32, with its state as named tensors for
// checkpoints, so a run resumes, here or in Python, exactly where it stopped.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace c2s {

struct AdamWOptions {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
};

class AdamW {
 public:
  // `params` by Hugging Face name: float32 tensors requiring gradients (the
  // master weights, also under bf16 autocast). Decoupled weight decay applies
  // to tensors of 2 or more dimensions (matrices, embeddings), never to biases
  // and norm gains: the two parameter groups of Hugging Face's Trainer.
  // UsageError for options torch refuses; Error for a parameter that is not a
  // float32 tensor requiring gradients, or a name given twice.
  AdamW(std::vector<std::pair<std::string, at::Tensor>> params, AdamWOptions options);

  // One update of every parameter that has a gradient, with learning rate
  // `lr`; one without (.grad() undefined) is left alone and its step count
  // stays. Error for a gradient that is not float32 of the parameter's shape
  // (before any update).
  void step(double lr);
  // Gradients to None, as zero_grad(set_to_none=True).
  void zero_grad();

  // For checkpoints, per parameter: "<name>.exp_avg", "<name>.exp_avg_sq"
  // (float32, the parameter's shape; the live tensors, not copies: save them
  // before the next step) and "<name>.step" (int64, 0-dim: updates so far).
  // A parameter never updated has zero moments and step 0, which is what
  // torch's lazily created state starts from.
  std::vector<std::pair<std::string, at::Tensor>> state() const;
  // Copies `state` (as state() gives it) in; the step may also be a float
  // tensor holding a whole number (torch keeps it as float32). Error naming
  // the tensor when one is missing, is not a state of these parameters, or
  // has the wrong shape or type; nothing is changed then.
  void load_state(const std::vector<std::pair<std::string, at::Tensor>>& state);

  const AdamWOptions& options() const { return options_; }

 private:
  struct Parameter {
    std::string name;
    at::Tensor value, exp_avg, exp_avg_sq;
    double weight_decay = 0;
    std::int64_t step = 0;
  };
  AdamWOptions options_;
  std::vector<Parameter> params_;
};

}  // namespace c2s
