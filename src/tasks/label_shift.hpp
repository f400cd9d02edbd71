// Label shift: a classifier's probabilities carry the label proportions of
// its training data, and cells from another donor, tissue or condition often
// come in other proportions (a donor with 31% CD8 T cells against the 5% of
// the training donors). The EM procedure of Saerens, Latinne & Decaestecker
// (Neural Computation 14, 2002) estimates the new data's proportions from the
// probabilities themselves (no labels) and re-weights each cell's
// probabilities to them: p'(l | cell) ~ p(l | cell) * new(l) / training(l).
#pragma once
#include <cstdint>
#include <vector>

namespace c2s {

struct LabelShift {
  std::vector<double> proportions;                 // estimated for the cells, one per label, sum 1
  std::vector<std::vector<double>> probabilities;  // per cell, re-weighted to `proportions`
  std::int64_t iterations = 0;
  bool converged = false;  // the proportions moved less than 1e-8 in the last iteration
};

// `probabilities`: per cell, one probability per label, summing to 1, from a
// model trained with label proportions `training` (any positive weights: they
// are normalised). UsageError: no cells, rows or `training` of another size,
// a training proportion that is not positive.
LabelShift adjust_to_label_shift(const std::vector<std::vector<double>>& probabilities,
                                 const std::vector<double>& training, std::int64_t max_iterations = 1000);

}  // namespace c2s
