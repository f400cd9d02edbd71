// PCA against numpy's SVD (explained variance, components), on dense and on
// sparse expression-like data; determinism; limits.
#include "evaluation/pca.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "core/thread_pool.hpp"
#include "evaluation/expression_matrix.hpp"
#include "evaluation_test_support.hpp"

namespace c2s {
namespace {

using testing_support::ScratchDir;

// Low-rank structure with decaying strength plus noise: distinct singular
// values, like cells along a few programs.
DenseMatrix structured(std::size_t n, std::size_t p, std::uint64_t seed) {
  const std::size_t rank = 12;
  Rng factor_rng(seed, 99);
  std::vector<double> loadings(rank * p);
  for (auto& v : loadings) v = testing_support::standard_normal(factor_rng);
  DenseMatrix x(n, p);
  for (std::size_t i = 0; i < n; ++i) {
    Rng rng(seed, i);
    std::vector<double> score(rank);
    for (std::size_t r = 0; r < rank; ++r) score[r] = testing_support::standard_normal(rng) * 6.0 / double(r + 1);
    for (std::size_t j = 0; j < p; ++j) {
      double v = 3 + 0.3 * testing_support::standard_normal(rng);
      for (std::size_t r = 0; r < rank; ++r) v += score[r] * loadings[r * p + j];
      x(i, j) = float(v);
    }
  }
  return x;
}

// Checks `pca` against numpy: explained variance (relative), and each
// component up to sign (|cos| of the angle), for the first `k` components.
void expect_like_numpy(const Pca& pca, const nlohmann::json& ref, std::size_t k, double variance_tol, double cos_tol) {
  const std::size_t p = pca.n_features;
  double subspace = 0;  // squared norm of the projection of numpy's components on ours: k when the spans agree
  for (std::size_t c = 0; c < k; ++c) {
    EXPECT_NEAR(pca.explained_variance[c] / ref["explained_variance"][c].get<double>(), 1.0, variance_tol) << c;
    EXPECT_NEAR(pca.explained_variance_ratio[c], ref["explained_variance_ratio"][c].get<double>(),
                variance_tol * ref["explained_variance_ratio"][c].get<double>())
        << c;
    double dot = 0;
    for (std::size_t j = 0; j < p; ++j) dot += pca.components[c * p + j] * ref["components"][c][j].get<double>();
    EXPECT_GT(std::abs(dot), 1 - cos_tol) << "component " << c;
    for (std::size_t d = 0; d < k; ++d) {
      double cross = 0;
      for (std::size_t j = 0; j < p; ++j) cross += pca.components[d * p + j] * ref["components"][c][j].get<double>();
      subspace += cross * cross;
    }
  }
  EXPECT_NEAR(subspace, double(k), 1e-6 * double(k));
}

TEST(Pca, MatchesNumpySvdOnDenseData) {
  ScratchDir dir;
  const DenseMatrix x = structured(400, 90, 5);
  testing_support::write_npy(dir.file("x.npy"), x);
  const Pca pca = fit_pca(x, {.components = 10});
  const nlohmann::json ref = testing_support::sklearn_reference(dir, "pca", {dir.file("x.npy"), "10"});
  expect_like_numpy(pca, ref, 10, 1e-6, 1e-6);
  double sum = 0;
  for (double r : pca.explained_variance_ratio) sum += r;
  EXPECT_GT(sum, 0.9);
  EXPECT_LT(sum, 1.0);
  // Each component is a unit vector pointing to its largest loading.
  for (std::size_t c = 0; c < 10; ++c) {
    double norm = 0, largest = 0;
    for (std::size_t j = 0; j < 90; ++j) {
      const double v = pca.components[c * 90 + j];
      norm += v * v;
      if (std::abs(v) > std::abs(largest)) largest = v;
    }
    EXPECT_NEAR(norm, 1.0, 1e-12);
    EXPECT_GT(largest, 0);
  }
}

TEST(Pca, MatchesNumpySvdOnExpression) {
  ScratchDir dir;
  const SentenceStore store(testing_support::evaluation_test_store());
  std::vector<std::int64_t> cells(std::size_t(store.n_cells()));
  for (std::size_t i = 0; i < cells.size(); ++i) cells[i] = std::int64_t(i);
  const DenseMatrix x = expression_matrix(store, cells, {}, natural_log_scale(store));
  testing_support::write_npy(dir.file("x.npy"), x);
  const Pca pca = fit_pca(x, {.components = 20});
  const nlohmann::json ref = testing_support::sklearn_reference(dir, "pca", {dir.file("x.npy"), "20"});
  // The leading components (cell-type programs) are exact; the later ones,
  // nearer the noise floor, within the randomized method's accuracy.
  expect_like_numpy(pca, ref, 5, 1e-6, 1e-6);
  for (std::size_t c = 0; c < 20; ++c)
    EXPECT_NEAR(pca.explained_variance[c] / ref["explained_variance"][c].get<double>(), 1.0, 2e-2) << c;
}

TEST(Pca, TransformProjectsCentredCells) {
  const DenseMatrix x = structured(200, 30, 8);
  const Pca pca = fit_pca(x, {.components = 4});
  const DenseMatrix z = pca.transform(x);
  ASSERT_EQ(z.rows, 200u);
  ASSERT_EQ(z.cols, 4u);
  for (std::size_t c = 0; c < 4; ++c) {
    double mean = 0, ss = 0;
    for (std::size_t i = 0; i < 200; ++i) mean += z(i, c);
    mean /= 200;
    for (std::size_t i = 0; i < 200; ++i) ss += (z(i, c) - mean) * (z(i, c) - mean);
    EXPECT_NEAR(mean, 0, 1e-4);                                          // centred by the training mean
    EXPECT_NEAR(ss / 199 / pca.explained_variance[c], 1.0, 1e-5) << c;  // variance along the component
  }
  double by_hand = 0;
  for (std::size_t j = 0; j < 30; ++j) by_hand += (x(7, j) - pca.mean[j]) * pca.components[1 * 30 + j];
  EXPECT_NEAR(z(7, 1), by_hand, 1e-4 * std::max(1.0, std::abs(by_hand)));
}

TEST(Pca, SameForAnyThreadCountAndSeedKeyed) {
  const DenseMatrix x = structured(300, 70, 2);
  ThreadPool::set_default_threads(1);
  const Pca one = fit_pca(x, {.components = 6});
  ThreadPool::set_default_threads(3);
  const Pca three = fit_pca(x, {.components = 6});
  ThreadPool::set_default_threads(0);
  EXPECT_EQ(one.components, three.components);
  EXPECT_EQ(one.singular_values, three.singular_values);
  EXPECT_EQ(one.transform(x).values, three.transform(x).values);
  const Pca other_seed = fit_pca(x, {.components = 6, .seed = 7});
  for (std::size_t c = 0; c < 6; ++c) EXPECT_NEAR(other_seed.singular_values[c], one.singular_values[c], 1e-6 * one.singular_values[c]);
}

TEST(Pca, RankDeficientDataAndLimits) {
  // Rank 2 (plus the mean): components beyond it carry no variance.
  DenseMatrix x(50, 6);
  for (std::size_t i = 0; i < 50; ++i) {
    const double a = double(i % 7), b = double((i * 3) % 5);
    for (std::size_t j = 0; j < 6; ++j) x(i, j) = float(1 + a * double(j) + b * double(j % 2));
  }
  const Pca pca = fit_pca(x, {.components = 4});
  EXPECT_GT(pca.singular_values[1], 1.0);
  EXPECT_LT(pca.singular_values[2], 1e-5 * pca.singular_values[0]);
  EXPECT_NEAR(pca.explained_variance_ratio[0] + pca.explained_variance_ratio[1], 1.0, 1e-9);
  testing_support::expect_error([&] { fit_pca(x, {.components = 7}); }, "at most 6");
  testing_support::expect_error([] { fit_pca(DenseMatrix(1, 5), {.components = 1}); }, "at least 2 cells");
  testing_support::expect_error([&] { pca.transform(DenseMatrix(3, 5)); }, "applied to 5");
}

}  // namespace
}  // namespace c2s
