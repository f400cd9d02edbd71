#include "evaluation/distribution_distance.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/error.hpp"
#include "core/random.hpp"
#include "core/thread_pool.hpp"

namespace c2s {

namespace {

double squared_distance(std::span<const float> a, std::span<const float> b) {
  double s = 0;
  for (std::size_t j = 0; j < a.size(); ++j) {
    const double d = double(a[j]) - double(b[j]);
    s += d * d;
  }
  return s;
}

// The pooled cell at `i` (x's cells first, then y's).
std::span<const float> pooled(const DenseMatrix& x, const DenseMatrix& y, std::size_t i) {
  return i < x.rows ? x.row(i) : y.row(i - x.rows);
}

double pooled_median_distance(const DenseMatrix& x, const DenseMatrix& y, const MmdOptions& options) {
  const std::size_t total = x.rows + y.rows;
  std::vector<std::size_t> chosen(total);
  std::iota(chosen.begin(), chosen.end(), std::size_t(0));
  if (options.median_sample >= 2 && total > options.median_sample) {
    Rng rng(options.seed, 0x6d6d64);
    shuffle(chosen, rng);
    chosen.resize(options.median_sample);
    std::sort(chosen.begin(), chosen.end());
  }
  const std::size_t n = chosen.size();
  // Row a's distances to b > a, laid out row after row.
  std::vector<double> d(n * (n - 1) / 2);
  ThreadPool::global().parallel_for(n, [&](std::size_t a) {
    std::size_t at = a * (2 * n - a - 1) / 2;
    for (std::size_t b = a + 1; b < n; ++b)
      d[at++] = squared_distance(pooled(x, y, chosen[a]), pooled(x, y, chosen[b]));
  });
  // The median of an even count: the mean of the two middle values (numpy's).
  const std::size_t mid = d.size() / 2;
  std::nth_element(d.begin(), d.begin() + std::ptrdiff_t(mid), d.end());
  double median = d[mid];
  if (d.size() % 2 == 0) median = 0.5 * (median + *std::max_element(d.begin(), d.begin() + std::ptrdiff_t(mid)));
  return std::sqrt(median);
}

// Sum of k over pairs (a in `a`, b in `b`), a != b when `same`; by rows of
// `a`, each row's sum kept apart and added in order.
double kernel_sum(const DenseMatrix& a, const DenseMatrix& b, bool same, double gamma) {
  std::vector<double> row_sum(a.rows, 0.0);
  ThreadPool::global().parallel_for(a.rows, [&](std::size_t i) {
    double s = 0;
    for (std::size_t j = same ? i + 1 : 0; j < b.rows; ++j) s += std::exp(-gamma * squared_distance(a.row(i), b.row(j)));
    row_sum[i] = same ? 2 * s : s;  // each unordered pair stands for (i, j) and (j, i)
  });
  return std::accumulate(row_sum.begin(), row_sum.end(), 0.0);
}

}  // namespace

MmdResult mmd2_unbiased(const DenseMatrix& x, const DenseMatrix& y, const MmdOptions& options) {
  if (x.rows < 2 || y.rows < 2)
    throw Error(fmt::format("MMD needs at least 2 cells in each set ({} and {} given)", x.rows, y.rows));
  if (x.cols != y.cols) throw Error(fmt::format("MMD between cells of {} and {} features", x.cols, y.cols));
  MmdResult r;
  r.n_x = x.rows;
  r.n_y = y.rows;
  r.bandwidth_given = options.bandwidth > 0;
  r.bandwidth = r.bandwidth_given ? options.bandwidth : pooled_median_distance(x, y, options);
  if (!(r.bandwidth > 0)) r.bandwidth = 1;
  const double gamma = 1 / (2 * r.bandwidth * r.bandwidth);
  const double m = double(x.rows), n = double(y.rows);
  r.mmd2 = kernel_sum(x, x, true, gamma) / (m * (m - 1)) + kernel_sum(y, y, true, gamma) / (n * (n - 1)) -
           2 * kernel_sum(x, y, false, gamma) / (m * n);
  return r;
}

double median_distance(const DenseMatrix& x, const MmdOptions& options) {
  if (x.rows < 2) throw Error(fmt::format("a median distance needs at least 2 cells ({} given)", x.rows));
  const double d = pooled_median_distance(x, DenseMatrix(0, x.cols), options);
  return d > 0 ? d : 1;
}

nlohmann::ordered_json MmdResult::to_json() const {
  return {{"mmd2", mmd2},
          {"kernel", "gaussian exp(-|x-y|^2 / (2 bandwidth^2))"},
          {"bandwidth", bandwidth},
          {"bandwidth_rule", bandwidth_given ? "given" : "median distance between pooled cells"},
          {"n_x", n_x},
          {"n_y", n_y}};
}

}  // namespace c2s
