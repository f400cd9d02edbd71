// Logistic regression against scikit-learn's LogisticRegression (same
// objective, converged tightly on both sides): multinomial and binary,
// on raw and on sparse expression-like features.
#include "evaluation/logistic_regression.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "core/thread_pool.hpp"
#include "evaluation/expression_matrix.hpp"
#include "evaluation_test_support.hpp"

namespace c2s {
namespace {

using testing_support::ScratchDir;

struct Compared {
  double max_coef = 0, max_proba = 0;
  std::size_t same_predictions = 0;
};

// Fits both, returns the largest differences of coefficients (relative to
// the largest coefficient) and probabilities.
// `tight`: both converged far beyond the defaults (sklearn through its
// Newton-CG solver, whose tol bounds the gradient); else sklearn's
// LogisticRegression(C, max_iter=2000) and c2s's defaults.
Compared compare_with_sklearn(const ScratchDir& dir, const DenseMatrix& x, const std::vector<std::int32_t>& y,
                              std::size_t n_classes, const DenseMatrix& test, double C, bool tight) {
  testing_support::write_npy(dir.file("x.npy"), x);
  testing_support::write_npy(dir.file("y.npy"), y);
  testing_support::write_npy(dir.file("t.npy"), test);
  std::vector<std::string> args{dir.file("x.npy"), dir.file("y.npy"), dir.file("t.npy"), std::to_string(C)};
  if (tight) args.insert(args.end(), {"newton-cg", "1e-12", "1000"});
  const nlohmann::json ref = testing_support::sklearn_reference(dir, "logreg", args);
  LogisticRegressionOptions options;
  if (tight) options.tolerance = 1e-9, options.objective_tolerance = 0;
  options.C = C;
  const LogisticRegression fit = fit_logistic_regression(x, y, n_classes, options);
  EXPECT_TRUE(fit.converged);
  Compared out;
  const std::size_t p = x.cols;
  const bool binary = ref["coef"].size() == 1;
  double largest = 0;
  for (const auto& row : ref["coef"])
    for (const auto& v : row) largest = std::max(largest, std::abs(v.get<double>()));
  for (std::size_t r = 0; r < ref["coef"].size(); ++r) {
    const std::size_t c = binary ? 1 : r;  // sklearn's one binary row is the second class's
    for (std::size_t j = 0; j < p; ++j)
      out.max_coef = std::max(out.max_coef, std::abs(fit.coefficients[c * p + j] - ref["coef"][r][j].get<double>()));
  }
  out.max_coef /= largest;
  const std::vector<double> proba = fit.predict_proba(test);
  const std::vector<std::int32_t> predicted = fit.predict(test);
  for (std::size_t i = 0; i < test.rows; ++i) {
    for (std::size_t c = 0; c < n_classes; ++c)
      out.max_proba = std::max(out.max_proba, std::abs(proba[i * n_classes + c] - ref["proba"][i][c].get<double>()));
    out.same_predictions += predicted[i] == ref["predict"][i].get<std::int32_t>();
  }
  return out;
}

TEST(LogisticRegression, MatchesScikitLearnMultinomial) {
  ScratchDir dir;
  // Overlapping blobs: the penalty matters and the classes are not separable.
  const auto train = testing_support::blobs(400, 12, 4, 3.0, 21, 1);
  const auto test = testing_support::blobs(150, 12, 4, 3.0, 21, 2);
  for (double C : {1.0, 0.05}) {
    const Compared c = compare_with_sklearn(dir, train.x, train.y, 4, test.x, C, true);
    EXPECT_LT(c.max_coef, 1e-6) << "C = " << C;  // measured: 3e-8
    EXPECT_LT(c.max_proba, 1e-6) << "C = " << C;
    EXPECT_EQ(c.same_predictions, test.x.rows) << "C = " << C;
  }
}

TEST(LogisticRegression, MatchesScikitLearnBinary) {
  ScratchDir dir;
  const auto train = testing_support::blobs(300, 6, 2, 2.5, 31, 1);
  const auto test = testing_support::blobs(100, 6, 2, 2.5, 31, 2);
  const Compared c = compare_with_sklearn(dir, train.x, train.y, 2, test.x, 1.0, true);
  EXPECT_LT(c.max_coef, 1e-6);
  EXPECT_LT(c.max_proba, 1e-6);
  EXPECT_EQ(c.same_predictions, test.x.rows);
}

TEST(LogisticRegression, MatchesScikitLearnOnExpressionWithDefaultSettings) {
  // Cells of the simulated store, log-normalised expression of all genes,
  // sklearn's C = 1: the defaults c2s baseline uses.
  ScratchDir dir;
  const SentenceStore store(testing_support::evaluation_test_store());
  const Column labels = store.obs().find("cell_type")->as_categorical();
  std::vector<std::int64_t> train_cells, test_cells;
  for (std::int64_t c = 0; c < store.n_cells(); ++c) (c % 3 ? train_cells : test_cells).push_back(c);
  const double scale = natural_log_scale(store);
  const DenseMatrix x = expression_matrix(store, train_cells, {}, scale);
  const DenseMatrix t = expression_matrix(store, test_cells, {}, scale);
  std::vector<std::int32_t> y;
  for (auto c : train_cells) y.push_back(labels.codes[std::size_t(c)]);
  const Compared c = compare_with_sklearn(dir, x, y, labels.categories.size(), t, 1.0, false);
  // Each side stops at its own tolerance: measured 0.3% of the largest
  // coefficient and 2e-4 in probability apart, the same predictions.
  EXPECT_LT(c.max_coef, 1e-2);
  EXPECT_LT(c.max_proba, 1e-3);
  EXPECT_GE(double(c.same_predictions), 0.995 * double(t.rows));
}

TEST(LogisticRegression, ClassesWithoutCellsAreNeverPredicted) {
  auto train = testing_support::blobs(200, 4, 3, 1.0, 41);
  for (auto& l : train.y)
    if (l == 1) l = 3;  // classes 0, 2, 3 of 5
  const LogisticRegression fit = fit_logistic_regression(train.x, train.y, 5, {});
  EXPECT_EQ(fit.trained, (std::vector<std::uint8_t>{1, 0, 1, 1, 0}));
  const std::vector<double> proba = fit.predict_proba(train.x);
  std::size_t correct = 0;
  const auto predicted = fit.predict(train.x);
  for (std::size_t i = 0; i < train.x.rows; ++i) {
    EXPECT_EQ(proba[i * 5 + 1], 0.0);
    EXPECT_EQ(proba[i * 5 + 4], 0.0);
    EXPECT_NEAR(proba[i * 5] + proba[i * 5 + 2] + proba[i * 5 + 3], 1.0, 1e-12);
    correct += predicted[i] == train.y[i];
  }
  EXPECT_GT(correct, 150u);
}

TEST(LogisticRegression, SameForAnyThreadCount) {
  const auto train = testing_support::blobs(300, 10, 3, 2.0, 51);
  ThreadPool::set_default_threads(1);
  const LogisticRegression one = fit_logistic_regression(train.x, train.y, 3);
  ThreadPool::set_default_threads(3);
  const LogisticRegression three = fit_logistic_regression(train.x, train.y, 3);
  ThreadPool::set_default_threads(0);
  EXPECT_EQ(one.coefficients, three.coefficients);
  EXPECT_EQ(one.intercepts, three.intercepts);
  EXPECT_EQ(one.iterations, three.iterations);
}

TEST(LogisticRegression, BadInput) {
  const auto train = testing_support::blobs(20, 3, 2, 1.0, 61);
  std::vector<std::int32_t> one_class(20, 0);
  testing_support::expect_error([&] { fit_logistic_regression(train.x, one_class, 2); }, "at least 2 classes");
  testing_support::expect_error([&] { fit_logistic_regression(train.x, train.y, 1); }, "class 1 out of range");
  testing_support::expect_error([&] { fit_logistic_regression(train.x, {0, 1}, 2); }, "2 labels for 20 cells");
  testing_support::expect_error([&] { fit_logistic_regression(train.x, train.y, 2, {.C = 0}); }, "C must be positive");
  const LogisticRegression fit = fit_logistic_regression(train.x, train.y, 2);
  testing_support::expect_error([&] { fit.predict(DenseMatrix(2, 4)); }, "applied to 4");
}

}  // namespace
}  // namespace c2s
