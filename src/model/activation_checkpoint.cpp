#include "model/activation_checkpoint.hpp"

#include <ATen/autocast_mode.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/function.h>

#include <mutex>

#include "core/error.hpp"

namespace c2s {

namespace {

struct AutocastState {
  bool enabled = false;
  at::ScalarType dtype = at::kBFloat16;
  static AutocastState now() { return {at::autocast::is_cpu_enabled(), at::autocast::get_autocast_cpu_dtype()}; }
  void apply() const {
    at::autocast::set_cpu_enabled(enabled);
    at::autocast::set_autocast_cpu_dtype(dtype);
  }
};

std::vector<at::Tensor> states_of(const std::vector<at::Generator>& generators) {
  std::vector<at::Tensor> states;
  for (at::Generator g : generators) {  // get_state() is not const in libtorch 1.13
    std::lock_guard<std::mutex> lock(g.mutex());
    states.push_back(g.get_state());
  }
  return states;
}

// The backward node of a checkpointed layer: recomputes the layer with
// autograd on and runs a backward pass through it, which leaves the
// parameters' gradients in place and gives back the input's.
class RecomputeLayer final : public torch::autograd::Node {
 public:
  RecomputeLayer(LayerFunction fn, at::Tensor input, std::vector<at::Generator> generators)
      : fn_(std::move(fn)),
        input_(std::move(input)),
        input_needs_grad_(input_.requires_grad()),
        generators_(std::move(generators)),
        states_(states_of(generators_)),
        autocast_(AutocastState::now()) {
    input_ = input_.detach();
  }

  torch::autograd::variable_list apply(torch::autograd::variable_list&& grads) override {
    if (!fn_) throw Error("activation checkpointing", "a layer's backward pass ran twice (its inputs were released)");
    for (std::size_t i = 0; i < generators_.size(); ++i) {
      std::lock_guard<std::mutex> lock(generators_[i].mutex());
      generators_[i].set_state(states_[i]);
    }
    const AutocastState outer = AutocastState::now();
    autocast_.apply();
    at::Tensor x = input_.detach().requires_grad_(input_needs_grad_), y;
    {
      at::AutoGradMode grad_on(true);
      y = fn_(x);
    }
    outer.apply();
    if (grads.empty() || !grads[0].defined() || !y.requires_grad()) return {at::Tensor()};
    torch::autograd::backward({y}, {grads[0]});
    return {input_needs_grad_ ? x.grad() : at::Tensor()};
  }

  void release_variables() override {
    fn_ = nullptr;
    input_.reset();
  }

 private:
  LayerFunction fn_;
  at::Tensor input_;
  bool input_needs_grad_;
  std::vector<at::Generator> generators_;
  std::vector<at::Tensor> states_;
  AutocastState autocast_;
};

}  // namespace

at::Tensor checkpointed(const LayerFunction& fn, const at::Tensor& x, const std::vector<at::Generator>& generators) {
  if (!at::GradMode::is_enabled()) return fn(x);
  auto node = std::shared_ptr<RecomputeLayer>(new RecomputeLayer(fn, x, generators), torch::autograd::deleteNode);
  at::Tensor y;
  {
    at::NoGradGuard no_grad;
    y = fn(x);
  }
  node->set_next_edges(torch::autograd::collect_next_edges(x));
  torch::autograd::create_gradient_edge(y, node);
  return y;
}

}  // namespace c2s
