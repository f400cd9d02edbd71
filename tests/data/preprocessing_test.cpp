// scanpy semantics of the preprocessing plan, on small built matrices.
#include "data/preprocessing.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"
#include "data/dense_test_matrix.hpp"

namespace c2s {
using testing_support::DenseTestMatrix;

namespace {
// 4 cells x 5 genes; cell 3 expresses only 1 gene, gene 4 only in cell 3.
DenseTestMatrix small() {
  return DenseTestMatrix({{1, 2, 0, 3, 0}, {4, 0, 1, 1, 0}, {2, 2, 2, 0, 0}, {0, 0, 0, 0, 7}},
                         {"MT-CO1", "CD3E", "MS4A1", "ACTB", "RARE"});
}
PreprocessOptions opts(std::int64_t min_genes, std::int64_t min_cells) {
  PreprocessOptions o;
  o.min_genes = min_genes;
  o.min_cells = min_cells;
  return o;
}
}  // namespace

TEST(Preprocessing, FiltersCellsThenGenes) {
  auto m = small();
  PreprocessPlan p = plan_preprocessing(m, opts(2, 2));
  EXPECT_EQ(p.kept_cells, (std::vector<std::int64_t>{0, 1, 2}));
  // Among kept cells: gene 0 in 3, gene 1 in 2, gene 2 in 2, gene 3 in 2, gene 4 in 0.
  EXPECT_EQ(p.kept_genes, (std::vector<std::int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(p.gene_n_cells, (std::vector<std::int64_t>{3, 2, 2, 2}));
  EXPECT_EQ(p.cells_below_min_genes, 1);
  EXPECT_EQ(p.genes_below_min_cells, 1);
  EXPECT_EQ(p.cell_totals, (std::vector<double>{6, 6, 6}));
  EXPECT_DOUBLE_EQ(p.target_sum, 6);
  EXPECT_EQ(p.nnz_kept, 9);
}

TEST(Preprocessing, TotalsExcludeDroppedGenes) {
  DenseTestMatrix m({{1, 2, 5}, {4, 1, 0}, {2, 2, 0}, {3, 3, 0}}, {"A", "B", "C"});
  PreprocessPlan p = plan_preprocessing(m, opts(1, 2));
  ASSERT_EQ(p.kept_genes, (std::vector<std::int64_t>{0, 1}));
  EXPECT_EQ(p.cell_totals, (std::vector<double>{3, 5, 4, 6}));
  EXPECT_DOUBLE_EQ(p.target_sum, 4.5);  // median of an even count: mean of the middle two
  EXPECT_EQ(p.nnz_kept, 8);
  // normalize_total then log1p base 10.
  EXPECT_NEAR(p.normalise(1, 0), std::log10(1 + 1 * 4.5 / 3), 1e-12);
}

TEST(Preprocessing, QcAndMitoFilter) {
  auto m = small();
  PreprocessOptions o = opts(1, 1);
  o.max_pct_mito = 50;
  PreprocessPlan p = plan_preprocessing(m, o);
  // Cell 1 has 4 of 6 counts on MT-CO1: 66.7% > 50%.
  EXPECT_EQ(p.kept_cells, (std::vector<std::int64_t>{0, 2, 3}));
  EXPECT_EQ(p.cells_above_mito, 1);
  EXPECT_NEAR(p.cell_qc[0].pct_counts_mt, 100.0 / 6, 1e-9);
  EXPECT_EQ(p.cell_qc[1].n_genes_by_counts, 3);
  EXPECT_DOUBLE_EQ(p.cell_qc[2].total_counts, 7);
}

TEST(Preprocessing, GivenTargetAndBase) {
  auto m = small();
  PreprocessOptions o = opts(1, 1);
  o.target_sum = 1e4;
  o.log_base = std::exp(1.0);
  PreprocessPlan p = plan_preprocessing(m, o);
  EXPECT_NEAR(p.normalise(3, 0), std::log1p(3 * 1e4 / 6), 1e-9);
}

TEST(Preprocessing, NoPreprocessKeepsEverything) {
  auto m = small();
  PreprocessOptions o;
  o.enabled = false;
  PreprocessPlan p = plan_preprocessing(m, o);
  EXPECT_EQ(p.kept_cells.size(), 4u);
  EXPECT_EQ(p.kept_genes.size(), 5u);
  EXPECT_EQ(p.normalise(2.5, 0), 2.5);
}

TEST(Preprocessing, RefusesNegativeNaNAndEmpty) {
  DenseTestMatrix neg({{1, -0.5f}}, {"A", "B"});
  try {
    plan_preprocessing(neg, opts(0, 0));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("negative"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("cell0"), std::string::npos) << e.what();
  }
  DenseTestMatrix nan({{1, std::nanf("")}}, {"A", "B"});
  EXPECT_THROW(plan_preprocessing(nan, opts(0, 0)), Error);
  DenseTestMatrix empty({}, {"A"});
  EXPECT_THROW(plan_preprocessing(empty, opts(0, 0)), Error);
  auto m = small();
  EXPECT_THROW(plan_preprocessing(m, opts(100, 1)), Error);  // no cell left
}

}  // namespace c2s
