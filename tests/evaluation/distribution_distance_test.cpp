// MMD^2 on known cases: the same distribution (about 0), a shift (clearly
// above), symmetry, numpy's value of the same formula, thread counts.
#include "evaluation/distribution_distance.hpp"

#include <gtest/gtest.h>

#include "core/thread_pool.hpp"
#include "evaluation_test_support.hpp"

namespace c2s {
namespace {

using testing_support::ScratchDir;

// Standard normal cells in d dimensions, shifted by `shift` along the first.
DenseMatrix normal_cells(std::size_t n, std::size_t d, double shift, std::uint64_t seed) {
  DenseMatrix m(n, d);
  for (std::size_t i = 0; i < n; ++i) {
    Rng rng(seed, i);
    for (std::size_t j = 0; j < d; ++j) m(i, j) = float(testing_support::standard_normal(rng) + (j == 0 ? shift : 0));
  }
  return m;
}

TEST(Mmd, SameDistributionIsNearZeroAndAShiftIsNot) {
  const DenseMatrix a = normal_cells(300, 5, 0, 1), b = normal_cells(300, 5, 0, 2);
  const DenseMatrix shifted = normal_cells(300, 5, 1.0, 3), far = normal_cells(300, 5, 3.0, 4);
  const MmdResult same = mmd2_unbiased(a, b);
  const MmdResult near = mmd2_unbiased(a, shifted);
  const MmdResult apart = mmd2_unbiased(a, far);
  EXPECT_LT(std::abs(same.mmd2), 0.01);
  EXPECT_GT(near.mmd2, 10 * std::abs(same.mmd2));
  EXPECT_GT(near.mmd2, 0.02);
  EXPECT_GT(apart.mmd2, near.mmd2);
  EXPECT_NEAR(same.bandwidth, std::sqrt(2 * 5 - 2.0 / 3), 0.3);  // median distance of two 5-d normals ~ 3.05
  EXPECT_EQ(same.n_x, 300u);
  const auto j = near.to_json();
  EXPECT_EQ(j["bandwidth_rule"], "median distance between pooled cells");
  EXPECT_DOUBLE_EQ(j["bandwidth"].get<double>(), near.bandwidth);
}

TEST(Mmd, SymmetricAndAsNumpyComputesIt) {
  ScratchDir dir;
  const DenseMatrix x = normal_cells(120, 4, 0, 5), y = normal_cells(90, 4, 0.7, 6);
  const MmdResult xy = mmd2_unbiased(x, y), yx = mmd2_unbiased(y, x);
  EXPECT_NEAR(xy.mmd2, yx.mmd2, 1e-12);
  EXPECT_EQ(xy.bandwidth, yx.bandwidth);
  testing_support::write_npy(dir.file("x.npy"), x);
  testing_support::write_npy(dir.file("y.npy"), y);
  const nlohmann::json ref = testing_support::sklearn_reference(dir, "mmd", {dir.file("x.npy"), dir.file("y.npy")});
  EXPECT_NEAR(xy.bandwidth, ref["bandwidth"].get<double>(), 1e-9);
  EXPECT_NEAR(xy.mmd2, ref["mmd2"].get<double>(), 1e-9);
}

TEST(Mmd, SampledBandwidthAndThreads) {
  const DenseMatrix x = normal_cells(400, 3, 0, 7), y = normal_cells(400, 3, 0.5, 8);
  ThreadPool::set_default_threads(1);
  const MmdResult one = mmd2_unbiased(x, y, {.median_sample = 300});
  ThreadPool::set_default_threads(3);
  const MmdResult three = mmd2_unbiased(x, y, {.median_sample = 300});
  ThreadPool::set_default_threads(0);
  EXPECT_EQ(one.mmd2, three.mmd2);
  EXPECT_EQ(one.bandwidth, three.bandwidth);
  const MmdResult all = mmd2_unbiased(x, y);
  EXPECT_NEAR(one.bandwidth, all.bandwidth, 0.1 * all.bandwidth);  // a sample's median is close
}

TEST(Mmd, AGivenBandwidthIsTheKernelsAndTheMedianOfOneSetIsThePooledRule) {
  const DenseMatrix x = normal_cells(100, 3, 0, 9), y = normal_cells(80, 3, 0.8, 10);
  // The median heuristic on one set equals the pooled rule on its two halves.
  DenseMatrix head(50, 3), tail(50, 3);
  std::copy(x.values.begin(), x.values.begin() + 150, head.values.begin());
  std::copy(x.values.begin() + 150, x.values.end(), tail.values.begin());
  EXPECT_DOUBLE_EQ(median_distance(x), mmd2_unbiased(head, tail).bandwidth);
  const MmdResult pooled = mmd2_unbiased(x, y);
  EXPECT_FALSE(pooled.bandwidth_given);
  // The pooled rule's bandwidth given back: the same figure.
  const MmdResult same = mmd2_unbiased(x, y, {.bandwidth = pooled.bandwidth});
  EXPECT_TRUE(same.bandwidth_given);
  EXPECT_NEAR(same.mmd2, pooled.mmd2, 1e-12);
  EXPECT_EQ(same.to_json()["bandwidth_rule"], "given");
  // Another bandwidth: another kernel, another figure.
  const MmdResult wide = mmd2_unbiased(x, y, {.bandwidth = 10 * pooled.bandwidth});
  EXPECT_EQ(wide.bandwidth, 10 * pooled.bandwidth);
  EXPECT_LT(wide.mmd2, 0.5 * pooled.mmd2);
  testing_support::expect_error([] { median_distance(DenseMatrix(1, 3)); }, "at least 2 cells");
  EXPECT_EQ(median_distance(DenseMatrix(4, 3)), 1.0);  // identical cells
}

TEST(Mmd, BadInput) {
  testing_support::expect_error([] { mmd2_unbiased(DenseMatrix(1, 2), DenseMatrix(5, 2)); }, "at least 2 cells");
  testing_support::expect_error([] { mmd2_unbiased(DenseMatrix(3, 2), DenseMatrix(5, 3)); }, "2 and 3 features");
  // Identical points: distance median 0, bandwidth falls back to 1.
  const MmdResult flat = mmd2_unbiased(DenseMatrix(3, 2), DenseMatrix(4, 2));
  EXPECT_EQ(flat.bandwidth, 1.0);
  EXPECT_NEAR(flat.mmd2, 0.0, 1e-12);
}

}  // namespace
}  // namespace c2s
