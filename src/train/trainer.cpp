#include "train/trainer.hpp"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "core/error.hpp"
#include "core/random.hpp"
#include "train/gradient_clipping.hpp"
#include "train/lm_loss.hpp"

namespace c2s {

namespace {

// bfloat16 autocast on the CPU for the scope, as torch.autocast("cpu").
class CpuAutocast {
 public:
  explicit CpuAutocast(bool on) : on_(on) {
    if (!on_) return;
    was_ = at::autocast::is_cpu_enabled();
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::increment_nesting();
  }
  ~CpuAutocast() {
    if (!on_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_cpu_enabled(was_);
  }
  CpuAutocast(const CpuAutocast&) = delete;
  CpuAutocast& operator=(const CpuAutocast&) = delete;

 private:
  bool on_ = false, was_ = false;
};

std::int64_t micro_batches_per_step(const TrainOptions& o, const DataParallel& p) {
  return o.accumulation * p.world_size();
}

}  // namespace

Trainer::Trainer(CausalLM& model, NamedTensors params, const TrainingExamples& examples, TrainOptions options,
                 DataParallel& parallel)
    : model_(model),
      params_(std::move(params)),
      examples_(examples),
      options_(options),
      parallel_(parallel),
      optimizer_(params_, options.adamw) {
  if (examples_.size() == 0) throw Error("training examples", "none to train on");
  if (options_.micro_batch_size < 1) throw UsageError("--batch-size must be at least 1");
  if (options_.accumulation < 1) throw UsageError("--grad-accum must be at least 1");
  if (options_.epochs < 1 && options_.max_steps < 1) throw UsageError("give --epochs or --max-steps of at least 1");
  if (!(options_.lr > 0) || !std::isfinite(options_.lr)) throw UsageError("--lr must be a positive number");
  const std::int64_t micro = (std::int64_t(examples_.size()) + options_.micro_batch_size - 1) / options_.micro_batch_size;
  const std::int64_t per_step = micro_batches_per_step(options_, parallel_);
  steps_per_epoch_ = (micro + per_step - 1) / per_step;
  // Checks the schedule's numbers once, before any work.
  lr_at(options_.schedule, options_.lr, 0, options_.warmup_steps, total_steps());
}

std::int64_t Trainer::total_steps() const {
  const std::int64_t by_epochs = options_.epochs > 0 ? options_.epochs * steps_per_epoch_ : 0;
  if (options_.max_steps > 0) return by_epochs > 0 ? std::min(by_epochs, options_.max_steps) : options_.max_steps;
  return by_epochs;
}

const std::vector<TrainingStep>& Trainer::plan_for(std::int64_t epoch) {
  if (plan_epoch_ != epoch) {
    plan_ = plan_epoch(examples_, BatchPlanOptions{options_.micro_batch_size, micro_batches_per_step(options_, parallel_),
                                                   options_.seed, true},
                       epoch);
    plan_epoch_ = epoch;
  }
  return plan_;
}

double Trainer::forward_loss(const LmBatch& batch, double divisor) const {
  at::Tensor scaled;
  double sum = 0;
  {
    CpuAutocast autocast(options_.bf16_autocast);
    auto loss = lm_loss_sum(model_, model_.forward(batch.input, nullptr), batch.labels);
    sum = loss.sum.item<double>();
    scaled = loss.sum / divisor;
  }
  scaled.backward();
  return sum;
}

StepRecord Trainer::step() {
  if (finished()) throw Error("training", "the run has made all its steps");
  const auto t0 = std::chrono::steady_clock::now();
  const auto& plan = plan_for(progress_.epoch);
  const TrainingStep& s = plan[std::size_t(progress_.step_in_epoch)];
  StepRecord r;
  r.epoch = progress_.epoch;
  for (const auto& micro : s.micro_batches)
    for (std::size_t i : micro) {
      r.tokens += counted_tokens(examples_, i, options_.loss_on);
      r.input_tokens += examples_.length(i);
    }
  const double divisor = double(std::max<std::int64_t>(r.tokens, 1));
  double loss_sum = 0;
  const auto world = std::size_t(parallel_.world_size());
  for (std::size_t j = std::size_t(parallel_.rank()); j < s.micro_batches.size(); j += world)
    loss_sum += forward_loss(collate(examples_, s.micro_batches[j], options_.pad_id, options_.loss_on,
                                     model_.options().device),
                             divisor);
  if (world > 1) {
    std::vector<at::Tensor> grads;
    for (auto& [name, p] : params_) {
      if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
      grads.push_back(p.grad());
    }
    parallel_.sum(grads);
    loss_sum = parallel_.sum(loss_sum);
  }
  r.loss = loss_sum / divisor;
  r.grad_norm = clip_gradient_norm(params_, options_.max_grad_norm);
  r.lr = lr_at(options_.schedule, options_.lr, progress_.step, options_.warmup_steps, total_steps());
  if (std::isfinite(r.grad_norm)) {
    optimizer_.step(r.lr);
  } else {
    r.skipped = true;
    ++progress_.skipped_steps;
  }
  optimizer_.zero_grad();
  ++progress_.step;
  if (++progress_.step_in_epoch == std::int64_t(plan.size())) {
    ++progress_.epoch;
    progress_.step_in_epoch = 0;
  }
  r.step = progress_.step;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

double Trainer::evaluate(const TrainingExamples& examples, std::int64_t max_examples) const {
  if (examples.size() == 0) throw Error("validation examples", "none to evaluate on");
  std::vector<std::size_t> chosen(examples.size());
  std::iota(chosen.begin(), chosen.end(), std::size_t(0));
  if (max_examples > 0 && std::int64_t(chosen.size()) > max_examples) {
    Rng rng(options_.seed, 0x6576616cull);  // the same sample at every evaluation
    shuffle(chosen, rng);
    chosen.resize(std::size_t(max_examples));
  }
  std::stable_sort(chosen.begin(), chosen.end(), [&](std::size_t a, std::size_t b) { return examples.length(a) < examples.length(b); });
  c10::NoGradGuard no_grad;
  double sum = 0, tokens = 0;
  const auto B = std::size_t(options_.micro_batch_size);
  std::size_t j = 0;
  for (std::size_t i = 0; i < chosen.size(); i += B, ++j) {
    if (std::int64_t(j % std::size_t(parallel_.world_size())) != parallel_.rank()) continue;
    std::vector<std::size_t> micro(chosen.begin() + std::ptrdiff_t(i), chosen.begin() + std::ptrdiff_t(std::min(chosen.size(), i + B)));
    const auto batch = collate(examples, micro, options_.pad_id, options_.loss_on, model_.options().device);
    CpuAutocast autocast(options_.bf16_autocast);
    sum += lm_loss_sum(model_, model_.forward(batch.input, nullptr), batch.labels).sum.item<double>();
    tokens += double(batch.tokens);
  }
  sum = parallel_.sum(sum);
  tokens = parallel_.sum(tokens);
  return tokens > 0 ? sum / tokens : 0.0;
}

nlohmann::json Trainer::state() const {
  return {
      {"step", progress_.step},
      {"epoch", progress_.epoch},
      {"step_in_epoch", progress_.step_in_epoch},
      {"skipped_steps", progress_.skipped_steps},
      {"seconds", progress_.seconds},
      {"total_steps", total_steps()},
      {"plan", {{"examples", examples_.size()},
                {"micro_batch_size", options_.micro_batch_size},
                {"micro_batches_per_step", micro_batches_per_step(options_, parallel_)},
                {"seed", options_.seed}}},
  };
}

void Trainer::restore(const nlohmann::json& state, const std::vector<std::pair<std::string, at::Tensor>>& optimizer_state) {
  const auto& plan = state.at("plan");
  auto same = [&](const char* key, const nlohmann::json& now, const char* flag) {
    if (plan.at(key) != now)
      throw UsageError(std::string("--resume: the checkpoint was trained with ") + flag + " " + plan.at(key).dump() +
                       ", this run has " + now.dump() + " (the data order would change)");
  };
  same("examples", examples_.size(), "training examples");
  same("micro_batch_size", options_.micro_batch_size, "--batch-size");
  same("micro_batches_per_step", micro_batches_per_step(options_, parallel_), "accumulation x processes");
  same("seed", options_.seed, "--seed");
  optimizer_.load_state(optimizer_state);
  progress_.step = state.at("step").get<std::int64_t>();
  progress_.epoch = state.at("epoch").get<std::int64_t>();
  progress_.step_in_epoch = state.at("step_in_epoch").get<std::int64_t>();
  progress_.skipped_steps = state.at("skipped_steps").get<std::int64_t>();
  progress_.seconds = state.at("seconds").get<double>();
}

}  // namespace c2s
