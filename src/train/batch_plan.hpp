// Which examples train together: every epoch a seeded shuffle, micro-batches
// of similar lengths (little padding), grouped into optimiser steps. The
// plan is a pure function of (examples' lengths, options, epoch), so a
// resumed run and every data-parallel rank compute the same one.
#pragma once
#include <cstdint>
#include <vector>

#include "train/training_examples.hpp"

namespace c2s {

struct BatchPlanOptions {
  std::int64_t micro_batch_size = 8;   // examples per forward pass
  std::int64_t micro_batches = 1;      // per optimiser step, over all ranks (accumulation x world size)
  std::uint64_t seed = 42;
  bool bucket_by_length = true;
};

// One optimiser step: its micro-batches (example indices). With world size
// W, rank r runs micro-batches r, r+W, r+2W, ...: a run of W processes with
// accumulation A does exactly the work of one process with accumulation A*W.
struct TrainingStep {
  std::vector<std::vector<std::size_t>> micro_batches;
};

// The steps of epoch `epoch` (from 0). Lengths are bucketed within windows
// of 64 micro-batches of the shuffled order (sorted by length there, then the
// micro-batches shuffled again), so batches differ from epoch to epoch. The
// last step may hold fewer micro-batches, the last micro-batch fewer examples.
std::vector<TrainingStep> plan_epoch(const TrainingExamples& examples, const BatchPlanOptions& options,
                                     std::int64_t epoch);

}  // namespace c2s
