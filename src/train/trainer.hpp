// The training loop's step: a global batch of examples, split into micro-
// batches over gradient accumulation and data-parallel ranks, one AdamW
// update with schedule and clipping. Every split of the same global batch
// gives the same update: losses are summed over tokens and divided once by
// the step's token count, and ranks sum their gradients.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/causal_lm.hpp"
#include "train/adamw.hpp"
#include "train/batch_plan.hpp"
#include "train/data_parallel.hpp"
#include "train/lm_batch.hpp"
#include "train/lr_schedule.hpp"
#include "train/trainable_model.hpp"
#include "train/training_examples.hpp"

namespace c2s {

struct TrainOptions {
  LossOn loss_on = LossOn::Response;
  std::int64_t micro_batch_size = 8;  // examples per forward pass (per rank)
  std::int64_t accumulation = 1;      // micro-batches per rank per step
  std::uint64_t seed = 42;            // data order
  double lr = 1e-4;
  AdamWOptions adamw{0.9, 0.999, 1e-8, 0.0};
  LrSchedule schedule = LrSchedule::Linear;
  std::int64_t warmup_steps = 0;
  double max_grad_norm = 1.0;  // <= 0: no clipping
  std::int64_t epochs = 1;
  std::int64_t max_steps = 0;  // > 0: stop after this many steps (before the epochs end)
  bool bf16_autocast = false;  // forward and backward in bfloat16, float32 master weights
  std::int64_t pad_id = 0;
};

struct StepRecord {
  std::int64_t step = 0;  // 1-based: updates done after this one
  std::int64_t epoch = 0;
  double loss = 0, grad_norm = 0, lr = 0;
  std::int64_t tokens = 0;       // counted (loss) tokens over all ranks
  std::int64_t input_tokens = 0;  // non-pad tokens over all ranks
  double seconds = 0;
  bool skipped = false;  // non-finite gradient norm: no update
};

// Where a run stands; with the optimiser's state, enough to continue exactly.
struct TrainerProgress {
  std::int64_t step = 0;           // updates done
  std::int64_t epoch = 0;          // epoch of the next step
  std::int64_t step_in_epoch = 0;  // its index in that epoch's plan
  std::int64_t skipped_steps = 0;
  double seconds = 0;  // training time so far (over restarts)
};

class Trainer {
 public:
  // `params` are the trainable tensors of `model` (make_fully_trainable or
  // LoRA adapters); `examples` and `parallel` must outlive the trainer.
  Trainer(CausalLM& model, NamedTensors params, const TrainingExamples& examples, TrainOptions options,
          DataParallel& parallel);

  std::int64_t steps_per_epoch() const { return steps_per_epoch_; }
  // Updates the whole run makes (epochs, or max_steps when fewer).
  std::int64_t total_steps() const;
  bool finished() const { return progress_.step >= total_steps(); }
  StepRecord step();

  // Mean loss per counted token over `examples` (at most `max_examples`, a
  // fixed seeded sample, 0 = all), without gradients; ranks share the work.
  double evaluate(const TrainingExamples& examples, std::int64_t max_examples) const;

  const TrainerProgress& progress() const { return progress_; }
  void add_seconds(double s) { progress_.seconds += s; }
  const AdamW& optimizer() const { return optimizer_; }
  const TrainOptions& options() const { return options_; }

  // Trainer state for a checkpoint (progress, options that must not change),
  // and back: an Error when the options differ from the checkpoint's where
  // that would change the run (batching, seed, schedule).
  nlohmann::json state() const;
  void restore(const nlohmann::json& state, const std::vector<std::pair<std::string, at::Tensor>>& optimizer_state);

 private:
  const std::vector<TrainingStep>& plan_for(std::int64_t epoch);
  double forward_loss(const LmBatch& batch, double divisor) const;

  CausalLM& model_;
  NamedTensors params_;
  const TrainingExamples& examples_;
  TrainOptions options_;
  DataParallel& parallel_;
  AdamW optimizer_;
  TrainerProgress progress_;
  std::int64_t steps_per_epoch_ = 0;
  std::int64_t plan_epoch_ = -1;
  std::vector<TrainingStep> plan_;
};

}  // namespace c2s
