// Principal component analysis fitted on training cells (centred by their
// mean; top components by randomized SVD with power iterations) and applied
// to any cells. Deterministic for a seed, whatever the thread count.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "evaluation/dense_matrix.hpp"

namespace c2s {

struct PcaOptions {
  std::size_t components = 50;
  // Extra directions sampled beyond `components`, and passes of subspace
  // iteration (each one product with the matrix and one with its
  // transpose); sklearn's randomized PCA uses 10 and 7 (4 beyond 10% of the
  // smaller side).
  std::size_t oversampling = 10;
  int power_iterations = 7;
  std::uint64_t seed = 42;
};

struct Pca {
  std::size_t n_features = 0, n_components = 0, n_fit_cells = 0;
  std::vector<double> mean;                      // per feature, over the fitted cells
  std::vector<double> components;                // n_components x n_features, rows orthonormal
  std::vector<double> singular_values;           // of the centred matrix, descending
  std::vector<double> explained_variance;        // singular value^2 / (cells - 1)
  std::vector<double> explained_variance_ratio;  // of the total variance of the fitted cells
  double total_variance = 0;                     // sum of the features' variances (ddof 1)

  // Coordinates of `x`'s rows (same features) on the components:
  // (x - mean) . component, one row per cell.
  DenseMatrix transform(const DenseMatrix& x) const;
};

// Fits on the rows of `train` (at least 2, every value finite). Components
// point so that their largest loading is positive. More components than
// min(cells, features) is an Error; directions beyond the data's rank come
// out with singular value 0.
Pca fit_pca(const DenseMatrix& train, const PcaOptions& options = {});

}  // namespace c2s
