// The dense expression matrix of chosen cells against h5py's reading of the
// store, the natural-log scale, gene subsets and the variable genes.
#include "evaluation/expression_matrix.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "core/thread_pool.hpp"
#include "evaluation_test_support.hpp"

namespace c2s {
namespace {

using testing_support::ScratchDir;

TEST(ExpressionMatrix, MatchesTheStoreReadWithH5py) {
  ScratchDir dir;
  const SentenceStore store(testing_support::evaluation_test_store());
  EXPECT_NEAR(natural_log_scale(store), std::log(10.0), 1e-15);  // c2s stores log10(1 + x)
  // Cells out of order, one twice, far apart in the store.
  const std::vector<std::int64_t> cells{store.n_cells() - 1, 3, 0, 250, 3, 17};
  const DenseMatrix m = expression_matrix(store, cells, {}, natural_log_scale(store));
  ASSERT_EQ(m.rows, cells.size());
  ASSERT_EQ(m.cols, std::size_t(store.n_genes()));
  std::vector<std::int32_t> as_int(cells.begin(), cells.end());
  testing_support::write_npy(dir.file("cells.npy"), as_int);
  const nlohmann::json ref =
      testing_support::sklearn_reference(dir, "expression", {store.path(), dir.file("cells.npy")});
  double largest = 0;
  for (std::size_t i = 0; i < m.rows; ++i)
    for (std::size_t j = 0; j < m.cols; ++j) {
      ASSERT_NEAR(m(i, j), ref["matrix"][i][j].get<double>(), 1e-5) << i << "," << j;
      largest = std::max(largest, double(m(i, j)));
    }
  EXPECT_GT(largest, 2.0);  // natural log: log1p of counts normalised to the median total
}

TEST(ExpressionMatrix, GeneSubsetsPickColumnsInTheirOrder) {
  const SentenceStore store(testing_support::evaluation_test_store());
  const std::vector<std::int64_t> cells{5, 6, 7};
  const DenseMatrix all = expression_matrix(store, cells);
  const auto last = std::uint32_t(store.n_genes() - 1);
  const std::vector<std::uint32_t> genes{42, 7, last, 0};
  const DenseMatrix some = expression_matrix(store, cells, genes);
  ASSERT_EQ(some.cols, 4u);
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < genes.size(); ++j) EXPECT_EQ(some(i, j), all(i, genes[j]));
  testing_support::expect_error([&] { expression_matrix(store, cells, {last + 1}); }, "out of range");
  testing_support::expect_error([&] { expression_matrix(store, {store.n_cells()}); }, "out of range");
}

TEST(ExpressionMatrix, VariableGenesAreTheHighestVariances) {
  ScratchDir dir;
  const SentenceStore store(testing_support::evaluation_test_store());
  std::vector<std::int64_t> cells;
  for (std::int64_t c = 0; c < store.n_cells(); c += 2) cells.push_back(c);
  const std::vector<std::uint32_t> hvg = highly_variable_genes(store, cells, 40);
  ASSERT_EQ(hvg.size(), 40u);
  EXPECT_TRUE(std::is_sorted(hvg.begin(), hvg.end()));
  std::vector<std::int32_t> as_int(cells.begin(), cells.end());
  testing_support::write_npy(dir.file("cells.npy"), as_int);
  const nlohmann::json ref =
      testing_support::sklearn_reference(dir, "expression", {store.path(), dir.file("cells.npy")});
  std::vector<std::uint32_t> expected;
  for (std::size_t i = 0; i < 40; ++i) expected.push_back(ref["variance_order"][i].get<std::uint32_t>());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(hvg, expected);
  // At most the store's genes: all of them.
  EXPECT_EQ(highly_variable_genes(store, cells, 5000).size(), std::size_t(store.n_genes()));
  EXPECT_EQ(default_feature_genes(store, cells).size(), std::size_t(store.n_genes()));
}

TEST(ExpressionMatrix, SameForAnyThreadCount) {
  const SentenceStore store(testing_support::evaluation_test_store());
  std::vector<std::int64_t> cells;
  for (std::int64_t c = store.n_cells() - 1; c >= 0; c -= 3) cells.push_back(c);
  ThreadPool::set_default_threads(1);
  const DenseMatrix one = expression_matrix(store, cells);
  const auto hvg_one = highly_variable_genes(store, cells, 100);
  ThreadPool::set_default_threads(3);
  const DenseMatrix three = expression_matrix(store, cells);
  const auto hvg_three = highly_variable_genes(store, cells, 100);
  ThreadPool::set_default_threads(0);
  EXPECT_EQ(one.values, three.values);
  EXPECT_EQ(hvg_one, hvg_three);
}

}  // namespace
}  // namespace c2s
