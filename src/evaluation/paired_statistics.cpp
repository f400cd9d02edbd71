#include "evaluation/paired_statistics.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.hpp"

namespace c2s {

namespace {

void require_pairs(std::span<const double> x, std::span<const double> y) {
  if (x.size() != y.size())
    throw Error("paired values", std::to_string(x.size()) + " against " + std::to_string(y.size()) + " values");
}

}  // namespace

std::optional<double> pearson_correlation(std::span<const double> x, std::span<const double> y) {
  require_pairs(x, y);
  const std::size_t n = x.size();
  if (n < 2) return std::nullopt;
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < n; ++i) {
    mx += x[i];
    my += y[i];
  }
  mx /= double(n);
  my /= double(n);
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double dx = x[i] - mx, dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (!(sxx > 0) || !(syy > 0)) return std::nullopt;
  // Rounding can carry |r| a hair past 1 for exactly linear series.
  return std::clamp(sxy / std::sqrt(sxx * syy), -1.0, 1.0);
}

double root_mean_square_difference(std::span<const double> x, std::span<const double> y) {
  require_pairs(x, y);
  if (x.empty()) return 0;
  double sum = 0;
  for (std::size_t i = 0; i < x.size(); ++i) sum += (x[i] - y[i]) * (x[i] - y[i]);
  return std::sqrt(sum / double(x.size()));
}

}  // namespace c2s
