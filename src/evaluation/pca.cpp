#include "evaluation/pca.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.hpp"
#include "core/random.hpp"
#include "core/thread_pool.hpp"

namespace c2s {

namespace {

// A row-major rows x cols matrix of doubles: the thin panels of the
// randomized SVD (cells x directions, features x directions).
struct Panel {
  std::size_t rows = 0, cols = 0;
  std::vector<double> v;
  Panel(std::size_t r, std::size_t c) : rows(r), cols(c), v(r * c, 0.0) {}
  double* row(std::size_t i) { return v.data() + i * cols; }
  const double* row(std::size_t i) const { return v.data() + i * cols; }
};

// (X - 1 mean^T) M for M features x l, X given by its nonzero rows: each
// cell's row on its own, by blocks of cells.
Panel times(const SparseRows& rows, const std::vector<double>& mean, const Panel& m) {
  const std::size_t l = m.cols, n = std::size_t(rows.n_rows());
  std::vector<double> shift(l, 0.0);  // mean^T M
  for (std::size_t j = 0; j < mean.size(); ++j)
    for (std::size_t c = 0; c < l; ++c) shift[c] += mean[j] * m.row(j)[c];
  Panel y(n, l);
  ThreadPool::global().parallel_for(row_blocks(n), [&](std::size_t b) {
    for (std::size_t i = block_begin(b); i < block_end(b, n); ++i) {
      double* out = y.row(i);
      const auto index = rows.row_indices(std::int64_t(i));
      const auto value = rows.row_values(std::int64_t(i));
      for (std::size_t e = 0; e < index.size(); ++e) {
        const double a = value[e];
        const double* mj = m.row(std::size_t(index[e]));
        for (std::size_t c = 0; c < l; ++c) out[c] += a * mj[c];
      }
      for (std::size_t c = 0; c < l; ++c) out[c] -= shift[c];
    }
  });
  return y;
}

// (X - 1 mean^T)^T Q for Q cells x l, X given by its nonzero columns: by
// blocks of features, each summing over its cells in order, so no sum
// depends on the thread count.
Panel times_transposed(const SparseRows& columns, const std::vector<double>& mean, const Panel& q) {
  const std::size_t l = q.cols, p = std::size_t(columns.n_rows());
  std::vector<double> column_sum(l, 0.0);
  for (std::size_t i = 0; i < q.rows; ++i)
    for (std::size_t c = 0; c < l; ++c) column_sum[c] += q.row(i)[c];
  Panel z(p, l);
  ThreadPool::global().parallel_for(row_blocks(p), [&](std::size_t b) {
    for (std::size_t j = block_begin(b); j < block_end(b, p); ++j) {
      double* out = z.row(j);
      const auto index = columns.row_indices(std::int64_t(j));
      const auto value = columns.row_values(std::int64_t(j));
      for (std::size_t e = 0; e < index.size(); ++e) {
        const double a = value[e];
        const double* qi = q.row(std::size_t(index[e]));
        for (std::size_t c = 0; c < l; ++c) out[c] += a * qi[c];
      }
      for (std::size_t c = 0; c < l; ++c) out[c] -= mean[j] * column_sum[c];
    }
  });
  return z;
}

// The panel's columns as contiguous vectors, and back.
std::vector<double> columns_of(const Panel& p) {
  std::vector<double> t(p.v.size());
  for (std::size_t i = 0; i < p.rows; ++i)
    for (std::size_t c = 0; c < p.cols; ++c) t[c * p.rows + i] = p.row(i)[c];
  return t;
}
void set_columns(Panel& p, const std::vector<double>& t) {
  for (std::size_t i = 0; i < p.rows; ++i)
    for (std::size_t c = 0; c < p.cols; ++c) p.row(i)[c] = t[c * p.rows + i];
}

double dot(const double* a, const double* b, std::size_t n) {
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

// Orthonormal columns spanning the panel's (modified Gram-Schmidt, each
// column orthogonalised twice). A column that is (numerically) in the span
// of the ones before it becomes zero: the data has fewer directions.
void orthonormalise(Panel& p) {
  std::vector<double> t = columns_of(p);
  const std::size_t n = p.rows;
  for (std::size_t c = 0; c < p.cols; ++c) {
    double* v = t.data() + c * n;
    const double before = std::sqrt(dot(v, v, n));
    for (int pass = 0; pass < 2; ++pass)
      for (std::size_t b = 0; b < c; ++b) {
        const double* u = t.data() + b * n;
        const double d = dot(u, v, n);
        for (std::size_t i = 0; i < n; ++i) v[i] -= d * u[i];
      }
    const double norm = std::sqrt(dot(v, v, n));
    const double scale = norm > 1e-10 * before && norm > 0 ? 1 / norm : 0.0;
    for (std::size_t i = 0; i < n; ++i) v[i] *= scale;
  }
  set_columns(p, t);
}

// One-sided Jacobi (Hestenes): rotates pairs of the columns until they are
// orthogonal. For Bt = A^T Q = V S U^T the columns end as V's scaled by S.
void orthogonalise_columns(std::vector<double>& t, std::size_t n, std::size_t l) {
  for (int sweep = 0; sweep < 100; ++sweep) {
    bool rotated = false;
    for (std::size_t a = 0; a + 1 < l; ++a)
      for (std::size_t b = a + 1; b < l; ++b) {
        double* u = t.data() + a * n;
        double* w = t.data() + b * n;
        const double alpha = dot(u, u, n), beta = dot(w, w, n), gamma = dot(u, w, n);
        if (std::abs(gamma) <= 1e-15 * std::sqrt(alpha * beta) || gamma == 0) continue;
        rotated = true;
        const double zeta = (beta - alpha) / (2 * gamma);
        const double tan = (zeta >= 0 ? 1.0 : -1.0) / (std::abs(zeta) + std::sqrt(1 + zeta * zeta));
        const double cos = 1 / std::sqrt(1 + tan * tan), sin = cos * tan;
        for (std::size_t i = 0; i < n; ++i) {
          const double x = u[i], y = w[i];
          u[i] = cos * x - sin * y;
          w[i] = sin * x + cos * y;
        }
      }
    if (!rotated) return;
  }
}

}  // namespace

Pca fit_pca(const DenseMatrix& train, const PcaOptions& options) {
  const std::size_t n = train.rows, p = train.cols, k = options.components;
  if (n < 2) throw Error(fmt::format("PCA needs at least 2 cells ({} given)", n));
  if (k < 1) throw UsageError("PCA needs at least 1 component");
  if (k > std::min(n, p))
    throw Error(fmt::format("{} principal components asked of {} cells x {} features (at most {})", k, n, p,
                            std::min(n, p)));
  for (float v : train.values)
    if (!std::isfinite(v)) throw Error("PCA: the matrix holds a value that is not finite");
  const std::size_t l = std::min(k + options.oversampling, std::min(n, p));

  Pca pca;
  pca.n_features = p;
  pca.n_components = k;
  pca.n_fit_cells = n;
  pca.mean.assign(p, 0.0);
  std::vector<double> variance(p, 0.0);
  ThreadPool::global().parallel_for(row_blocks(p), [&](std::size_t b) {
    for (std::size_t j = block_begin(b); j < block_end(b, p); ++j) {
      double s = 0;
      for (std::size_t i = 0; i < n; ++i) s += train(i, j);
      const double m = s / double(n);
      double ss = 0;
      for (std::size_t i = 0; i < n; ++i) ss += (train(i, j) - m) * (train(i, j) - m);
      pca.mean[j] = m;
      variance[j] = ss / double(n - 1);
    }
  });
  pca.total_variance = std::accumulate(variance.begin(), variance.end(), 0.0);

  // Range finder: a random start (entries uniform in [-1, 1), row j of the
  // start from its own stream), then subspace iteration.
  Panel omega(p, l);
  for (std::size_t j = 0; j < p; ++j) {
    Rng rng(options.seed, j);
    for (std::size_t c = 0; c < l; ++c) omega.row(j)[c] = 2 * rng.uniform() - 1;
  }
  const SparseRows rows = nonzero_rows(train), columns = nonzero_columns(train);
  Panel q = times(rows, pca.mean, omega);
  orthonormalise(q);
  for (int it = 0; it < options.power_iterations; ++it) {
    Panel z = times_transposed(columns, pca.mean, q);
    orthonormalise(z);
    q = times(rows, pca.mean, z);
    orthonormalise(q);
  }
  // Bt = A^T Q (features x l); its orthogonalised columns are the right
  // singular vectors scaled by the singular values.
  std::vector<double> t = columns_of(times_transposed(columns, pca.mean, q));
  orthogonalise_columns(t, p, l);
  std::vector<double> norm(l);
  for (std::size_t c = 0; c < l; ++c) norm[c] = std::sqrt(dot(t.data() + c * p, t.data() + c * p, p));
  std::vector<std::size_t> order(l);
  std::iota(order.begin(), order.end(), std::size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return norm[a] > norm[b]; });

  pca.components.assign(k * p, 0.0);
  for (std::size_t r = 0; r < k; ++r) {
    const std::size_t c = order[r];
    const double s = norm[c];
    pca.singular_values.push_back(s);
    pca.explained_variance.push_back(s * s / double(n - 1));
    pca.explained_variance_ratio.push_back(pca.total_variance > 0 ? s * s / double(n - 1) / pca.total_variance : 0.0);
    if (s == 0) continue;
    const double* v = t.data() + c * p;
    std::size_t largest = 0;
    for (std::size_t j = 1; j < p; ++j)
      if (std::abs(v[j]) > std::abs(v[largest])) largest = j;
    const double sign = v[largest] < 0 ? -1.0 : 1.0;
    for (std::size_t j = 0; j < p; ++j) pca.components[r * p + j] = sign * v[j] / s;
  }
  return pca;
}

DenseMatrix Pca::transform(const DenseMatrix& x) const {
  if (x.cols != n_features)
    throw Error(fmt::format("PCA fitted on {} features applied to {}", n_features, x.cols));
  const std::size_t k = n_components, p = n_features;
  // Components by feature (features x k), so each nonzero adds a row.
  std::vector<double> by_feature(p * k);
  std::vector<double> shift(k, 0.0);
  for (std::size_t c = 0; c < k; ++c)
    for (std::size_t j = 0; j < p; ++j) {
      by_feature[j * k + c] = components[c * p + j];
      shift[c] += mean[j] * components[c * p + j];
    }
  DenseMatrix out(x.rows, k);
  ThreadPool::global().parallel_for(row_blocks(x.rows), [&](std::size_t b) {
    std::vector<double> acc(k);
    for (std::size_t i = block_begin(b); i < block_end(b, x.rows); ++i) {
      std::fill(acc.begin(), acc.end(), 0.0);
      const auto xi = x.row(i);
      for (std::size_t j = 0; j < p; ++j) {
        const double a = xi[j];
        if (a == 0) continue;
        const double* v = by_feature.data() + j * k;
        for (std::size_t c = 0; c < k; ++c) acc[c] += a * v[c];
      }
      for (std::size_t c = 0; c < k; ++c) out(i, c) = float(acc[c] - shift[c]);
    }
  });
  return out;
}

}  // namespace c2s
