// Agreement of two paired series of numbers (e.g. a predicted and a true
// per-gene shift): Pearson's r and the root-mean-square difference.
#pragma once
#include <optional>
#include <span>

namespace c2s {

// Pearson's r of (x[i], y[i]) in double precision (two-pass: means, then
// centred sums). nullopt when it is undefined: fewer than two pairs, or
// either series constant (a prediction of "no change" has no r). An Error
// when the series differ in length.
std::optional<double> pearson_correlation(std::span<const double> x, std::span<const double> y);

// sqrt(mean((x[i] - y[i])^2)); 0 for empty series. An Error when the series
// differ in length.
double root_mean_square_difference(std::span<const double> x, std::span<const double> y);

}  // namespace c2s
