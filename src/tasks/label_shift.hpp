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

// EM trusts the probabilities it is given; a model's are often over- or
// under-confident, or biased between labels. Bias-corrected temperature
// scaling (Alexandari, Kundaje & Shrikumar, ICML 2020) fits
//   p(l | cell) = softmax_l(scale * loglik_l + bias_l)
// on cells of known labels (a validation split) by minimising their mean
// negative log-likelihood (convex in scale and bias; a small ridge on the
// biases keeps those of labels the cells lack finite). The calibrated
// probabilities then carry the calibration cells' label proportions, which
// become EM's starting proportions.
struct LabelCalibration {
  double scale = 1;
  std::vector<double> bias;         // one per label
  std::vector<double> proportions;  // the calibration cells' (add-one smoothed), one per label
  std::int64_t cells = 0;
  double nll_before = 0, nll_after = 0;  // mean over the cells, uncalibrated and calibrated
};

// `log_likelihoods`: per cell, one per label; `truth`: each cell's label
// index (cells whose truth is not a label are left out by the caller).
// UsageError: no cells, rows of different sizes, a truth index out of range.
LabelCalibration fit_label_calibration(const std::vector<std::vector<double>>& log_likelihoods,
                                       const std::vector<std::size_t>& truth);
// One cell's calibrated probabilities (uncalibrated: scale 1, no bias, is
// the plain softmax of the log-likelihoods).
std::vector<double> label_probabilities(const std::vector<double>& log_likelihoods,
                                        const LabelCalibration* calibration = nullptr);

}  // namespace c2s
