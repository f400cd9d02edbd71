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

std::vector<double> label_probabilities(const std::vector<double>& log_likelihoods, const LabelCalibration* c) {
  const std::size_t L = log_likelihoods.size();
  std::vector<double> z(L);
  for (std::size_t l = 0; l < L; ++l)
    z[l] = c ? c->scale * log_likelihoods[l] + (c->bias.empty() ? 0.0 : c->bias[l]) : log_likelihoods[l];
  const double top = *std::max_element(z.begin(), z.end());
  double sum = 0;
  for (double& v : z) sum += v = std::exp(v - top);
  for (double& v : z) v /= sum;
  return z;
}

namespace {

constexpr double kBiasRidge = 1e-3;

// Mean negative log-likelihood of the truth, plus the ridge when `ridge`,
// and (when asked) the gradient of that sum in (scale, bias).
double calibration_loss(const std::vector<std::vector<double>>& ll, const std::vector<std::size_t>& truth,
                        const LabelCalibration& c, std::vector<double>* gradient, bool ridge = true) {
  const std::size_t L = c.bias.size();
  if (gradient) gradient->assign(L + 1, 0.0);
  double loss = 0;
  for (std::size_t i = 0; i < ll.size(); ++i) {
    const auto p = label_probabilities(ll[i], &c);
    loss -= std::log(std::max(p[truth[i]], 1e-300));
    if (!gradient) continue;
    const double top = *std::max_element(ll[i].begin(), ll[i].end());
    for (std::size_t l = 0; l < L; ++l) {
      const double d = p[l] - (l == truth[i] ? 1.0 : 0.0);
      (*gradient)[0] += d * (ll[i][l] - top);  // the shift by the row's top cancels in the softmax
      (*gradient)[l + 1] += d;
    }
  }
  const double n = double(ll.size());
  loss /= n;
  double penalty = 0;
  if (ridge)
    for (double b : c.bias) penalty += 0.5 * kBiasRidge * b * b;
  if (gradient) {
    for (double& g : *gradient) g /= n;
    if (ridge)
      for (std::size_t l = 0; l < L; ++l) (*gradient)[l + 1] += kBiasRidge * c.bias[l];
  }
  return loss + penalty;
}

}  // namespace

LabelCalibration fit_label_calibration(const std::vector<std::vector<double>>& log_likelihoods,
                                       const std::vector<std::size_t>& truth) {
  if (log_likelihoods.empty()) throw UsageError("label calibration: no cells of known label to calibrate on");
  if (truth.size() != log_likelihoods.size()) throw UsageError("label calibration: one truth per cell is needed");
  const std::size_t L = log_likelihoods[0].size();
  for (std::size_t i = 0; i < truth.size(); ++i)
    if (log_likelihoods[i].size() != L || truth[i] >= L)
      throw UsageError("label calibration: cell " + std::to_string(i) + " has a truth or row outside the labels");
  LabelCalibration c;
  c.bias.assign(L, 0.0);
  c.cells = std::int64_t(truth.size());
  c.proportions.assign(L, 1.0);
  for (std::size_t t : truth) c.proportions[t] += 1.0;
  for (double& p : c.proportions) p /= double(truth.size() + L);
  c.nll_before = calibration_loss(log_likelihoods, truth, c, nullptr, false);

  // Gradient descent with a backtracking line search: the problem is convex
  // and has L + 1 parameters.
  std::vector<double> g;
  double loss = calibration_loss(log_likelihoods, truth, c, &g), step = 1.0;
  for (int it = 0; it < 2000; ++it) {
    double norm2 = 0;
    for (double v : g) norm2 += v * v;
    if (norm2 < 1e-16) break;
    LabelCalibration next = c;
    double next_loss = 0;
    for (;;) {
      next.scale = c.scale - step * g[0];
      for (std::size_t l = 0; l < L; ++l) next.bias[l] = c.bias[l] - step * g[l + 1];
      next_loss = calibration_loss(log_likelihoods, truth, next, nullptr);
      if (next_loss <= loss - 0.5 * step * norm2 || step < 1e-12) break;
      step *= 0.5;
    }
    if (!(next_loss < loss)) break;
    const bool small = loss - next_loss < 1e-12;
    c.scale = next.scale, c.bias = next.bias, loss = next_loss;
    if (small) break;
    step *= 2;
    calibration_loss(log_likelihoods, truth, c, &g);
  }
  c.nll_after = calibration_loss(log_likelihoods, truth, c, nullptr, false);
  return c;
}

}  // namespace c2s
