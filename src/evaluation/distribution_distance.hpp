// How far apart two sets of cells lie (e.g. generated and real cells in PCA
// space): the unbiased squared maximum mean discrepancy (MMD^2) with a
// Gaussian kernel whose bandwidth comes from the median heuristic.
#pragma once
#include <cstddef>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "evaluation/dense_matrix.hpp"

namespace c2s {

struct MmdOptions {
  // The median heuristic looks at the distances between all pairs of the
  // pooled cells, or of this many of them drawn with `seed` when there are
  // more.
  std::size_t median_sample = 2000;
  std::uint64_t seed = 42;
  // > 0: this bandwidth instead of the median heuristic, e.g. one chosen
  // once on the reference cells, so that several MMDs share a kernel and
  // can be compared.
  double bandwidth = 0;
};

struct MmdResult {
  double mmd2 = 0;       // unbiased estimate: may be slightly below 0 for equal distributions
  double bandwidth = 0;  // sigma of k(x, y) = exp(-|x - y|^2 / (2 sigma^2))
  bool bandwidth_given = false;  // MmdOptions::bandwidth, not the median heuristic
  std::size_t n_x = 0, n_y = 0;
  nlohmann::ordered_json to_json() const;  // mmd2, kernel, bandwidth and how it was chosen, n_x, n_y
};

// MMD^2_u = mean k(x, x') over pairs of distinct x + the same over y
// - 2 mean k(x, y); sigma = the median Euclidean distance between distinct
// pooled cells (1 when that median is 0). Each set needs 2 cells or more
// and both the same number of features. Symmetric in x and y (up to the
// sample drawn for the median when the pool is larger than median_sample),
// and the same for any thread count.
MmdResult mmd2_unbiased(const DenseMatrix& x, const DenseMatrix& y, const MmdOptions& options = {});

// The median Euclidean distance between distinct cells of `x` (of
// options.median_sample of them drawn with the seed when there are more;
// 1 when the median is 0): the median heuristic on one set of cells.
double median_distance(const DenseMatrix& x, const MmdOptions& options = {});

}  // namespace c2s
