#include "evaluation/logistic_regression.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <numeric>

#include "core/error.hpp"
#include "core/thread_pool.hpp"

namespace c2s {

namespace {

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// The objective on standardised features: parameters are V (m x p, class
// by class), V = W * s per feature, then b' (m), with W the weights on the
// features as given and b = b' - W . mean their intercepts. With two
// classes m = 1: the first class's logit is 0.
class Objective {
 public:
  Objective(const DenseMatrix& x, std::vector<std::int32_t> y, std::size_t m, double C)
      : n_(x.rows), p_(x.cols), rows_(nonzero_rows(x)), columns_(nonzero_columns(x)), y_(std::move(y)), m_(m),
        inv_c_(1 / C), mean_(x.cols, 0.0), scale_(x.cols, 1.0) {
    const std::size_t n = x.rows, p = x.cols;
    ThreadPool::global().parallel_for(row_blocks(p), [&](std::size_t b) {
      for (std::size_t j = block_begin(b); j < block_end(b, p); ++j) {
        double s = 0;
        for (std::size_t i = 0; i < n; ++i) s += x(i, j);
        const double mean = s / double(n);
        double ss = 0;
        for (std::size_t i = 0; i < n; ++i) ss += (x(i, j) - mean) * (x(i, j) - mean);
        const double sd = std::sqrt(ss / double(n));
        mean_[j] = mean;
        if (sd > 1e-12 * std::max(1.0, std::abs(mean))) scale_[j] = sd;
      }
    });
  }

  std::size_t size() const { return m_ * p_ + m_; }

  // Weights and intercepts on the features as given.
  void raw(const std::vector<double>& theta, std::vector<double>& w, std::vector<double>& b) const {
    const std::size_t p = p_;
    w.assign(m_ * p, 0.0);
    b.assign(m_, 0.0);
    for (std::size_t c = 0; c < m_; ++c) {
      double shift = 0;
      for (std::size_t j = 0; j < p; ++j) {
        w[c * p + j] = theta[c * p + j] / scale_[j];
        shift += w[c * p + j] * mean_[j];
      }
      b[c] = theta[m_ * p + c] - shift;
    }
  }

  // The objective at theta; `grad` gets its gradient in theta and
  // `raw_grad_max` the largest component of the gradient in (W, b).
  double evaluate(const std::vector<double>& theta, std::vector<double>& grad, double& raw_grad_max) {
    const std::size_t n = n_, p = p_, m = m_;
    std::vector<double> w, b;
    raw(theta, w, b);
    std::vector<double> by_feature(p * m);  // W feature by feature
    for (std::size_t c = 0; c < m; ++c)
      for (std::size_t j = 0; j < p; ++j) by_feature[j * m + c] = w[c * p + j];

    residual_.assign(n * m, 0.0);
    std::vector<double> block_loss(row_blocks(n), 0.0);
    ThreadPool::global().parallel_for(row_blocks(n), [&](std::size_t blk) {
      std::vector<double> z(m);
      double loss = 0;
      for (std::size_t i = block_begin(blk); i < block_end(blk, n); ++i) {
        std::copy(b.begin(), b.end(), z.begin());
        const auto index = rows_.row_indices(std::int64_t(i));
        const auto value = rows_.row_values(std::int64_t(i));
        for (std::size_t e = 0; e < index.size(); ++e) {
          const double a = value[e];
          const double* wj = by_feature.data() + std::size_t(index[e]) * m;
          for (std::size_t c = 0; c < m; ++c) z[c] += a * wj[c];
        }
        // log-sum-exp over the classes (with the fixed logit 0 when binary)
        const bool binary = m == 1;
        double top = binary ? std::max(0.0, z[0]) : *std::max_element(z.begin(), z.end());
        double sum = binary ? std::exp(-top) : 0.0;
        for (std::size_t c = 0; c < m; ++c) sum += std::exp(z[c] - top);
        const double lse = top + std::log(sum);
        const std::int32_t y = y_[i];  // binary: 0 = the fixed class, 1 = the modelled one
        const double zy = binary ? (y == 1 ? z[0] : 0.0) : z[std::size_t(y)];
        loss += lse - zy;
        double* r = residual_.data() + i * m;
        for (std::size_t c = 0; c < m; ++c) {
          const bool is_y = binary ? y == 1 : std::int32_t(c) == y;
          r[c] = std::exp(z[c] - lse) - (is_y ? 1.0 : 0.0);
        }
      }
      block_loss[blk] = loss;
    });
    double f = std::accumulate(block_loss.begin(), block_loss.end(), 0.0);
    f += 0.5 * inv_c_ * dot(w, w);

    // X^T R by blocks of features, each over its cells in order.
    std::vector<double> g(p * m, 0.0);
    ThreadPool::global().parallel_for(row_blocks(p), [&](std::size_t blk) {
      for (std::size_t j = block_begin(blk); j < block_end(blk, p); ++j) {
        const auto index = columns_.row_indices(std::int64_t(j));
        const auto value = columns_.row_values(std::int64_t(j));
        double* gj = g.data() + j * m;
        for (std::size_t e = 0; e < index.size(); ++e) {
          const double a = value[e];
          const double* r = residual_.data() + std::size_t(index[e]) * m;
          for (std::size_t c = 0; c < m; ++c) gj[c] += a * r[c];
        }
      }
    });
    std::vector<double> residual_sum(m, 0.0);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t c = 0; c < m; ++c) residual_sum[c] += residual_[i * m + c];

    grad.assign(size(), 0.0);
    raw_grad_max = 0;
    for (std::size_t c = 0; c < m; ++c) {
      for (std::size_t j = 0; j < p; ++j) {
        const double gw = g[j * m + c] + inv_c_ * w[c * p + j];
        raw_grad_max = std::max(raw_grad_max, std::abs(gw));
        grad[c * p + j] = (gw - mean_[j] * residual_sum[c]) / scale_[j];
      }
      grad[m * p + c] = residual_sum[c];
      raw_grad_max = std::max(raw_grad_max, std::abs(residual_sum[c]));
    }
    return f;
  }

 private:
  std::size_t n_, p_;
  SparseRows rows_, columns_;  // the features' nonzeros
  std::vector<std::int32_t> y_;
  std::size_t m_;
  double inv_c_;
  std::vector<double> mean_, scale_;
  std::vector<double> residual_;
};

}  // namespace

LogisticRegression fit_logistic_regression(const DenseMatrix& x, const std::vector<std::int32_t>& labels,
                                           std::size_t n_classes, const LogisticRegressionOptions& options) {
  if (labels.size() != x.rows)
    throw Error(fmt::format("logistic regression: {} labels for {} cells", labels.size(), x.rows));
  if (!(options.C > 0)) throw UsageError("logistic regression: C must be positive");
  if (options.max_iterations < 1) throw UsageError("logistic regression: at least 1 iteration");
  for (float v : x.values)
    if (!std::isfinite(v)) throw Error("logistic regression: the features hold a value that is not finite");
  std::vector<std::int64_t> cells_of(n_classes, 0);
  for (auto l : labels) {
    if (l < 0 || std::size_t(l) >= n_classes)
      throw Error(fmt::format("logistic regression: class {} out of range ({} classes)", l, n_classes));
    ++cells_of[std::size_t(l)];
  }
  std::vector<std::size_t> classes;  // the trained ones
  std::vector<std::int32_t> position(n_classes, -1);
  for (std::size_t c = 0; c < n_classes; ++c)
    if (cells_of[c] > 0) {
      position[c] = std::int32_t(classes.size());
      classes.push_back(c);
    }
  if (classes.size() < 2)
    throw Error(fmt::format("logistic regression needs cells of at least 2 classes ({} given)", classes.size()));

  const bool binary = classes.size() == 2;
  const std::size_t m = binary ? 1 : classes.size();
  std::vector<std::int32_t> y(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) y[i] = position[std::size_t(labels[i])];
  Objective objective(x, std::move(y), m, options.C);

  // L-BFGS (two-loop recursion) with a backtracking Armijo line search; the
  // objective is strictly convex in the weights, so every accepted step
  // gives a usable correction pair.
  std::vector<double> theta(objective.size(), 0.0), grad, next(objective.size()), next_grad;
  double raw_max = 0, next_raw_max = 0;
  double f = objective.evaluate(theta, grad, raw_max);
  std::deque<std::vector<double>> s_history, y_history;
  std::deque<double> rho;
  LogisticRegression fit;
  int iteration = 0;
  bool converged = raw_max <= options.tolerance;
  while (!converged && iteration < options.max_iterations) {
    std::vector<double> d(grad.size());
    for (std::size_t i = 0; i < d.size(); ++i) d[i] = -grad[i];
    if (s_history.empty()) {
      const double norm = std::sqrt(dot(grad, grad));
      for (auto& v : d) v /= norm;
    } else {
      std::vector<double> alpha(s_history.size());
      for (std::size_t k = s_history.size(); k-- > 0;) {
        alpha[k] = rho[k] * dot(s_history[k], d);
        for (std::size_t i = 0; i < d.size(); ++i) d[i] -= alpha[k] * y_history[k][i];
      }
      const double gamma = dot(s_history.back(), y_history.back()) / dot(y_history.back(), y_history.back());
      for (auto& v : d) v *= gamma;
      for (std::size_t k = 0; k < s_history.size(); ++k) {
        const double beta = rho[k] * dot(y_history[k], d);
        for (std::size_t i = 0; i < d.size(); ++i) d[i] += (alpha[k] - beta) * s_history[k][i];
      }
    }
    double slope = dot(d, grad);
    if (!(slope < 0)) {  // not a descent direction: start the memory afresh
      s_history.clear(), y_history.clear(), rho.clear();
      const double norm = std::sqrt(dot(grad, grad));
      for (std::size_t i = 0; i < d.size(); ++i) d[i] = -grad[i] / norm;
      slope = dot(d, grad);
    }
    double step = 1, next_f = 0;
    bool accepted = false;
    for (int tries = 0; tries < 60; ++tries) {
      for (std::size_t i = 0; i < theta.size(); ++i) next[i] = theta[i] + step * d[i];
      next_f = objective.evaluate(next, next_grad, next_raw_max);
      if (std::isfinite(next_f) && next_f <= f + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
      // The minimum of the quadratic through f, the slope and next_f,
      // kept within [0.1, 0.5] of the step.
      const double q = std::isfinite(next_f) ? -slope * step * step / (2 * (next_f - f - slope * step)) : 0.1 * step;
      step = std::clamp(q, 0.1 * step, 0.5 * step);
    }
    ++iteration;
    if (!accepted) break;  // no decrease to be had at double precision
    std::vector<double> s(theta.size()), yv(theta.size());
    for (std::size_t i = 0; i < theta.size(); ++i) s[i] = next[i] - theta[i], yv[i] = next_grad[i] - grad[i];
    const double sy = dot(s, yv);
    if (sy > 1e-12 * dot(yv, yv)) {
      s_history.push_back(std::move(s));
      y_history.push_back(std::move(yv));
      rho.push_back(1 / sy);
      if (s_history.size() > options.history) s_history.pop_front(), y_history.pop_front(), rho.pop_front();
    }
    const double decrease = (f - next_f) / std::max({std::abs(f), std::abs(next_f), 1.0});
    theta.swap(next);
    grad.swap(next_grad);
    f = next_f;
    raw_max = next_raw_max;
    converged = raw_max <= options.tolerance || decrease <= options.objective_tolerance;
  }

  std::vector<double> w, b;
  objective.raw(theta, w, b);
  const std::size_t p = x.cols;
  fit.n_features = p;
  fit.n_classes = n_classes;
  fit.coefficients.assign(n_classes * p, 0.0);
  fit.intercepts.assign(n_classes, 0.0);
  fit.trained.assign(n_classes, 0);
  for (auto c : classes) fit.trained[c] = 1;
  for (std::size_t k = 0; k < m; ++k) {
    const std::size_t c = classes[binary ? 1 : k];
    std::copy(w.begin() + std::ptrdiff_t(k * p), w.begin() + std::ptrdiff_t((k + 1) * p),
              fit.coefficients.begin() + std::ptrdiff_t(c * p));
    fit.intercepts[c] = b[k];
  }
  fit.iterations = iteration;
  fit.converged = converged;
  fit.objective = f;
  fit.gradient_max = raw_max;
  return fit;
}

std::vector<double> LogisticRegression::predict_proba(const DenseMatrix& x) const {
  if (x.cols != n_features)
    throw Error(fmt::format("logistic regression fitted on {} features applied to {}", n_features, x.cols));
  const std::size_t k = n_classes, p = n_features;
  std::vector<double> by_feature(p * k);
  for (std::size_t c = 0; c < k; ++c)
    for (std::size_t j = 0; j < p; ++j) by_feature[j * k + c] = coefficients[c * p + j];
  std::vector<double> out(x.rows * k, 0.0);
  ThreadPool::global().parallel_for(row_blocks(x.rows), [&](std::size_t blk) {
    for (std::size_t i = block_begin(blk); i < block_end(blk, x.rows); ++i) {
      double* z = out.data() + i * k;
      std::copy(intercepts.begin(), intercepts.end(), z);
      const auto xi = x.row(i);
      for (std::size_t j = 0; j < p; ++j) {
        const double a = xi[j];
        if (a == 0) continue;
        const double* wj = by_feature.data() + j * k;
        for (std::size_t c = 0; c < k; ++c) z[c] += a * wj[c];
      }
      double top = -std::numeric_limits<double>::infinity();
      for (std::size_t c = 0; c < k; ++c)
        if (trained[c]) top = std::max(top, z[c]);
      double sum = 0;
      for (std::size_t c = 0; c < k; ++c) sum += trained[c] ? std::exp(z[c] - top) : 0.0;
      for (std::size_t c = 0; c < k; ++c) z[c] = trained[c] ? std::exp(z[c] - top) / sum : 0.0;
    }
  });
  return out;
}

std::vector<std::int32_t> LogisticRegression::predict(const DenseMatrix& x) const {
  const std::vector<double> proba = predict_proba(x);
  std::vector<std::int32_t> out(x.rows);
  for (std::size_t i = 0; i < x.rows; ++i) {
    const double* pi = proba.data() + i * n_classes;
    out[i] = std::int32_t(std::max_element(pi, pi + n_classes) - pi);
  }
  return out;
}

}  // namespace c2s
