#include "train/lr_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.hpp"

namespace c2s {

LrSchedule parse_lr_schedule(const std::string& name) {
  if (name == "constant") return LrSchedule::Constant;
  if (name == "linear") return LrSchedule::Linear;
  if (name == "cosine") return LrSchedule::Cosine;
  throw UsageError("learning-rate schedule '" + name + "'", "unknown (valid: constant, linear, cosine)");
}

std::string lr_schedule_name(LrSchedule schedule) {
  switch (schedule) {
    case LrSchedule::Constant: return "constant";
    case LrSchedule::Linear: return "linear";
    case LrSchedule::Cosine: return "cosine";
  }
  return "unknown";
}

namespace {

// transformers' lr_lambda, operation for operation (the same doubles in the
// same order give the same bits as Python).
double factor_at(LrSchedule schedule, std::int64_t step, std::int64_t warmup, std::int64_t total) {
  const auto s = double(step);
  if (step < warmup) return s / double(std::max<std::int64_t>(1, warmup));
  const auto after_warmup = double(std::max<std::int64_t>(1, total - warmup));
  switch (schedule) {
    case LrSchedule::Constant: return 1.0;
    case LrSchedule::Linear: return std::max(0.0, double(total - step) / after_warmup);
    case LrSchedule::Cosine: {
      const double num_cycles = 0.5;
      const double progress = double(step - warmup) / after_warmup;
      return std::max(0.0, 0.5 * (1.0 + std::cos(std::numbers::pi * num_cycles * 2.0 * progress)));
    }
  }
  return 1.0;
}

}  // namespace

double lr_at(LrSchedule schedule, double base_lr, std::int64_t step, std::int64_t warmup_steps,
             std::int64_t total_steps) {
  if (total_steps < 1)
    throw UsageError("learning-rate schedule", "total steps must be at least 1 (got " + std::to_string(total_steps) + ")");
  if (warmup_steps < 0 || warmup_steps > total_steps)
    throw UsageError("learning-rate schedule", "warmup steps must be between 0 and the total steps " +
                                                   std::to_string(total_steps) + " (got " +
                                                   std::to_string(warmup_steps) + ")");
  if (step < 0) throw UsageError("learning-rate schedule", "step must not be negative (got " + std::to_string(step) + ")");
  return base_lr * factor_at(schedule, step, warmup_steps, total_steps);
}

}  // namespace c2s
