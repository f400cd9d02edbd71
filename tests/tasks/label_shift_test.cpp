// Label-shift adjustment (tasks/label_shift): on cells drawn with known
// proportions from three overlapping Gaussian classes, whose probabilities
// come from the exact Bayes posterior under other (training) proportions, EM
// recovers the cells' proportions and the re-weighted probabilities classify
// at least as well; unchanged proportions stay put; bad input is refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "core/error.hpp"
#include "tasks/label_shift.hpp"

namespace c2s {
namespace {

struct Cells {
  std::vector<std::vector<double>> probabilities;
  std::vector<std::size_t> truth;
};

// Class l emits x ~ N(means[l], 1); the probabilities are the posterior
// under `training` proportions, the cells drawn with `actual` ones.
Cells draw(const std::vector<double>& training, const std::vector<double>& actual, std::size_t n, unsigned seed) {
  const std::vector<double> means = {-1.5, 0.0, 1.5};
  std::mt19937_64 rng(seed);
  std::discrete_distribution<std::size_t> label(actual.begin(), actual.end());
  std::normal_distribution<double> noise(0.0, 1.0);
  Cells c;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t l = label(rng);
    const double x = means[l] + noise(rng);
    std::vector<double> p(3);
    double sum = 0;
    for (std::size_t k = 0; k < 3; ++k) sum += p[k] = training[k] * std::exp(-0.5 * (x - means[k]) * (x - means[k]));
    for (double& v : p) v /= sum;
    c.probabilities.push_back(std::move(p));
    c.truth.push_back(l);
  }
  return c;
}

double accuracy(const std::vector<std::vector<double>>& p, const std::vector<std::size_t>& truth) {
  std::size_t right = 0;
  for (std::size_t i = 0; i < p.size(); ++i)
    right += std::size_t(std::max_element(p[i].begin(), p[i].end()) - p[i].begin()) == truth[i];
  return double(right) / double(p.size());
}

TEST(LabelShift, RecoversTheCellsProportionsAndClassifiesBetter) {
  const std::vector<double> training = {0.7, 0.25, 0.05}, actual = {0.2, 0.3, 0.5};
  const Cells cells = draw(training, actual, 20000, 1);
  const LabelShift s = adjust_to_label_shift(cells.probabilities, {70, 25, 5});  // counts work as weights
  ASSERT_TRUE(s.converged);
  ASSERT_EQ(s.proportions.size(), 3u);
  for (std::size_t l = 0; l < 3; ++l) EXPECT_NEAR(s.proportions[l], actual[l], 0.03) << l;
  const double before = accuracy(cells.probabilities, cells.truth), after = accuracy(s.probabilities, cells.truth);
  EXPECT_GT(after, before + 0.05) << before << " -> " << after;
  for (const auto& row : s.probabilities) {
    double sum = 0;
    for (double v : row) sum += v;
    ASSERT_NEAR(sum, 1.0, 1e-12);
  }
}

TEST(LabelShift, UnchangedProportionsStayNearTheTrainingOnes) {
  const std::vector<double> training = {0.5, 0.3, 0.2};
  const Cells cells = draw(training, training, 20000, 2);
  const LabelShift s = adjust_to_label_shift(cells.probabilities, training);
  for (std::size_t l = 0; l < 3; ++l) EXPECT_NEAR(s.proportions[l], training[l], 0.03) << l;
  EXPECT_NEAR(accuracy(s.probabilities, cells.truth), accuracy(cells.probabilities, cells.truth), 0.01);
}

TEST(LabelShift, BadInputIsRefused) {
  EXPECT_THROW(adjust_to_label_shift({}, {1, 1}), UsageError);
  EXPECT_THROW(adjust_to_label_shift({{0.5, 0.5}}, {1, 0}), UsageError);
  EXPECT_THROW(adjust_to_label_shift({{0.5, 0.5}}, {1, NAN}), UsageError);
  EXPECT_THROW(adjust_to_label_shift({{0.5, 0.5}, {1.0}}, {1, 1}), UsageError);
}

// A model 3x over-confident and biased towards label 0: calibration on cells
// of known labels finds the scale near 1/3, lowers the negative
// log-likelihood, and its probabilities give EM the calibration cells'
// proportions to start from.
TEST(LabelCalibration, UndoesOverconfidenceAndBias) {
  const std::vector<double> training = {0.5, 0.3, 0.2};
  const Cells cells = draw(training, training, 5000, 3);
  std::vector<std::vector<double>> ll;
  for (const auto& p : cells.probabilities) {
    std::vector<double> row;
    for (std::size_t l = 0; l < 3; ++l) row.push_back(3.0 * std::log(p[l]) + (l == 0 ? 2.0 : 0.0) - 40.0);
    ll.push_back(std::move(row));
  }
  const LabelCalibration c = fit_label_calibration(ll, cells.truth);
  EXPECT_NEAR(c.scale, 1.0 / 3.0, 0.03);
  EXPECT_LT(c.nll_after, c.nll_before - 0.1) << c.nll_before << " -> " << c.nll_after;
  EXPECT_EQ(c.cells, 5000);
  double sum = 0;
  for (std::size_t l = 0; l < 3; ++l) {
    EXPECT_NEAR(c.proportions[l], training[l], 0.03) << l;
    sum += c.proportions[l];
  }
  EXPECT_NEAR(sum, 1.0, 1e-12);
  // Calibrated, the probabilities are the true posteriors again.
  double worst = 0;
  for (std::size_t i = 0; i < ll.size(); ++i) {
    const auto p = label_probabilities(ll[i], &c);
    for (std::size_t l = 0; l < 3; ++l) worst = std::max(worst, std::abs(p[l] - cells.probabilities[i][l]));
  }
  EXPECT_LT(worst, 0.05);
  const auto plain = label_probabilities({-1.0, -2.0, -3.0});
  EXPECT_NEAR(plain[0], 1.0 / (1.0 + std::exp(-1.0) + std::exp(-2.0)), 1e-12);
  EXPECT_THROW(fit_label_calibration({}, {}), UsageError);
  EXPECT_THROW(fit_label_calibration({{0.0, 1.0}}, {2}), UsageError);
}

}  // namespace
}  // namespace c2s
