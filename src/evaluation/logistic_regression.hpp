// Multinomial (softmax) logistic regression with an L2 penalty, fitted by
// L-BFGS: sklearn's LogisticRegression(C=...) objective,
//   sum over cells of cross-entropy + 0.5 / C * ||W||^2 (intercepts free),
// with two classes fitted as sklearn does (one weight vector, the first
// class's logit fixed at 0).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "evaluation/dense_matrix.hpp"

namespace c2s {

struct LogisticRegressionOptions {
  double C = 1.0;           // inverse strength of the L2 penalty
  int max_iterations = 2000;
  // Stop when every component of the objective's gradient (in the weights
  // and intercepts as given back) is at most `tolerance` (sklearn's tol,
  // scipy's gtol), or when an iteration lowers the objective by at most
  // `objective_tolerance` relative (scipy L-BFGS-B's ftol).
  double tolerance = 1e-4;
  double objective_tolerance = 2.220446049250313e-09;
  std::size_t history = 10;  // L-BFGS correction pairs (scipy's maxcor)
};

struct LogisticRegression {
  std::size_t n_features = 0, n_classes = 0;
  std::vector<double> coefficients;  // n_classes x n_features, on the features as given
  std::vector<double> intercepts;    // n_classes
  // Classes without training cells are never predicted (probability 0).
  std::vector<std::uint8_t> trained;
  int iterations = 0;
  bool converged = false;
  double objective = 0, gradient_max = 0;

  // Class probabilities of `x`'s rows: cells x n_classes, row by row.
  std::vector<double> predict_proba(const DenseMatrix& x) const;
  // The most probable class of each row (the lower index on a tie).
  std::vector<std::int32_t> predict(const DenseMatrix& x) const;
};

// Fits on the rows of `x` with classes `labels` (each in [0, n_classes); at
// least two classes with cells). Internally the features are centred and
// scaled to unit variance with the penalty carried through the change of
// variables, so the minimiser is the one of the objective above on the
// features as given; this only makes the problem better conditioned for
// L-BFGS. Sums run by fixed blocks: the fit does not depend on the thread count.
LogisticRegression fit_logistic_regression(const DenseMatrix& x, const std::vector<std::int32_t>& labels,
                                           std::size_t n_classes, const LogisticRegressionOptions& options = {});

}  // namespace c2s
