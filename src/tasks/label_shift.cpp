#include "tasks/label_shift.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.hpp"

namespace c2s {

namespace {

// Each row times new/training, normalised; their mean is the next estimate.
std::vector<double> reweight(const std::vector<std::vector<double>>& p, const std::vector<double>& ratio,
                             std::vector<std::vector<double>>& out) {
  std::vector<double> mean(ratio.size(), 0.0);
  for (std::size_t i = 0; i < p.size(); ++i) {
    double sum = 0;
    for (std::size_t l = 0; l < ratio.size(); ++l) sum += out[i][l] = p[i][l] * ratio[l];
    for (std::size_t l = 0; l < ratio.size(); ++l) {
      out[i][l] = sum > 0 ? out[i][l] / sum : p[i][l];
      mean[l] += out[i][l] / double(p.size());
    }
  }
  return mean;
}

}  // namespace

LabelShift adjust_to_label_shift(const std::vector<std::vector<double>>& probabilities,
                                 const std::vector<double>& training, std::int64_t max_iterations) {
  if (probabilities.empty()) throw UsageError("label shift: no cells to estimate the label proportions from");
  const std::size_t L = training.size();
  double total = 0;
  for (double t : training) {
    if (!(t > 0) || !std::isfinite(t))
      throw UsageError("label shift: every label needs a positive training proportion (got " + std::to_string(t) + ")");
    total += t;
  }
  std::vector<double> prior(L);
  for (std::size_t l = 0; l < L; ++l) prior[l] = training[l] / total;
  for (const auto& row : probabilities)
    if (row.size() != L)
      throw UsageError("label shift: a cell has " + std::to_string(row.size()) + " label probabilities for " +
                       std::to_string(L) + " labels");

  LabelShift r;
  r.probabilities.assign(probabilities.size(), std::vector<double>(L));
  r.proportions = prior;
  std::vector<double> ratio(L, 1.0);
  for (r.iterations = 1; r.iterations <= max_iterations; ++r.iterations) {
    const std::vector<double> next = reweight(probabilities, ratio, r.probabilities);
    double moved = 0;
    for (std::size_t l = 0; l < L; ++l) moved = std::max(moved, std::abs(next[l] - r.proportions[l]));
    r.proportions = next;
    for (std::size_t l = 0; l < L; ++l) ratio[l] = r.proportions[l] / prior[l];
    if (moved < 1e-8) {
      r.converged = true;
      break;
    }
  }
  r.iterations = std::min(r.iterations, max_iterations);
  reweight(probabilities, ratio, r.probabilities);  // the rows at the final proportions
  return r;
}

}  // namespace c2s
