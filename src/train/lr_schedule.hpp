// Learning-rate schedules of Hugging Face transformers (optimization.py:
// get_constant/linear/cosine_schedule_with_warmup), so a run's learning
// rates match the same run in Python step for step.
#pragma once
#include <cstdint>
#include <string>

namespace c2s {

enum class LrSchedule { Constant, Linear, Cosine };

// "constant", "linear" or "cosine" (transformers' lr_scheduler_type names);
// UsageError listing them for anything else.
LrSchedule parse_lr_schedule(const std::string& name);
std::string lr_schedule_name(LrSchedule schedule);

// The learning rate of the update at optimiser step `step` (0-based: the
// first update uses step 0), base_lr * factor as torch's LambdaLR computes it.
// As in transformers, warmup grows from 0: with warmup_steps > 0 the first
// update has learning rate 0 (the factor is step / warmup_steps). Cosine is
// half a cycle (num_cycles 0.5) down to 0 at total_steps; past total_steps
// it rises again, as in transformers (the trainer never goes there).
// UsageError for step < 0, warmup_steps < 0, total_steps < 1 or
// warmup_steps > total_steps.
double lr_at(LrSchedule schedule, double base_lr, std::int64_t step, std::int64_t warmup_steps,
             std::int64_t total_steps);

}  // namespace c2s
