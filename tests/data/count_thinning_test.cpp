// Binomial thinning of a cell's counts: counts recovered from the store's
// values, the kept share of molecules, determinism, stores that are not
// counts refused.
#include "data/count_thinning.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "core/error.hpp"
#include "data/conversion.hpp"
#include "data/dense_test_matrix.hpp"

namespace c2s {
namespace {

// log10(1 + count * scale), as c2s convert stores normalised counts.
std::vector<float> stored(const std::vector<double>& counts, double scale) {
  std::vector<float> v;
  for (double c : counts) v.push_back(float(std::log10(1 + c * scale)));
  return v;
}

const StoreValues kLog10Counts{10.0, true};

TEST(CountThinning, RecoversCountsFromNormalisedValues) {
  EXPECT_EQ(counts_from_values(stored({12, 7, 3, 1, 1}, 0.37), kLog10Counts),
            (std::vector<std::uint32_t>{12, 7, 3, 1, 1}));
  // The smallest count need not be 1: 3 and 2 are 1.5 and 1 times the smallest.
  EXPECT_EQ(counts_from_values(stored({3, 2, 2}, 1.9), kLog10Counts), (std::vector<std::uint32_t>{3, 2, 2}));
  // Large counts of a deep cell, through float32 values.
  EXPECT_EQ(counts_from_values(stored({2417, 311, 1}, 0.05), kLog10Counts),
            (std::vector<std::uint32_t>{2417, 311, 1}));
  // Values kept as given (no log).
  EXPECT_EQ(counts_from_values(std::vector<float>{4, 1, 2}, StoreValues{std::nullopt, true}),
            (std::vector<std::uint32_t>{4, 1, 2}));
  // Not counts: no small factor makes 1 : 0.37 : 0.61 whole.
  EXPECT_THROW(counts_from_values(std::vector<float>{1, 0.37f, 0.61f}, StoreValues{std::nullopt, true}), Error);
  EXPECT_THROW(counts_from_values(std::vector<float>{1, NAN}, kLog10Counts), Error);
}

TEST(CountThinning, KeepsEachMoleculeWithTheDrawnFraction) {
  // A gene of one molecule survives with probability E[f] = 0.75 for f
  // uniform on [0.5, 1]; a gene of 40 molecules nearly always, and first.
  const std::vector<std::uint32_t> genes{7, 3};
  const auto values = stored({40, 1}, 0.3);
  CountThinning thinning{kLog10Counts, 0.5, 11};
  int kept_single = 0;
  const int cells = 4000;
  for (int cell = 0; cell < cells; ++cell) {
    const auto out = thin_cell(genes, values, thinning, std::uint64_t(cell));
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(out[0], 7u);
    kept_single += out.size() == 2;
  }
  EXPECT_NEAR(double(kept_single) / cells, 0.75, 0.025);
  // With nothing thinned every gene stays, most molecules first.
  CountThinning none{kLog10Counts, 1.0, 11};
  const auto all = thin_cell(std::vector<std::uint32_t>{1, 2, 3}, stored({9, 4, 1}, 0.2), none, 5);
  EXPECT_EQ(all, (std::vector<std::uint32_t>{1, 2, 3}));
}

TEST(CountThinning, DrawsDependOnlyOnSeedAndCell) {
  std::vector<std::uint32_t> genes;
  std::vector<double> counts;
  for (std::uint32_t g = 0; g < 60; ++g) {
    genes.push_back(g);
    counts.push_back(double(60 - g) / 6 + 1);
  }
  for (auto& c : counts) c = std::floor(c);
  const auto values = stored(counts, 0.8);
  CountThinning a{kLog10Counts, 0.3, 1}, b{kLog10Counts, 0.3, 2};
  EXPECT_EQ(thin_cell(genes, values, a, 9), thin_cell(genes, values, a, 9));
  EXPECT_NE(thin_cell(genes, values, a, 9), thin_cell(genes, values, a, 10));
  EXPECT_NE(thin_cell(genes, values, a, 9), thin_cell(genes, values, b, 9));
  const auto out = thin_cell(genes, values, a, 9);
  EXPECT_LT(out.size(), genes.size());
  EXPECT_EQ(std::set<std::uint32_t>(out.begin(), out.end()).size(), out.size());  // no gene twice
}

TEST(CountThinning, RefusesStoresThatAreNotCounts) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(::testing::TempDir()) / "c2s_count_thinning";
  fs::remove_all(dir);
  fs::create_directories(dir);
  ConvertOptions o;
  o.preprocess.min_genes = 1;
  o.preprocess.min_cells = 1;
  testing_support::DenseTestMatrix counts({{5, 1, 0}, {0, 3, 2}}, {"A", "B", "C"});
  convert_to_store(counts, (dir / "counts.c2s").string(), o);
  const CountThinning t = count_thinning(SentenceStore((dir / "counts.c2s").string()), 0.5, 1);
  ASSERT_TRUE(t.values.log_base.has_value());
  EXPECT_TRUE(t.values.integer_counts);
  testing_support::DenseTestMatrix fractions({{0.5, 1.25, 0}, {0, 3.5, 2}}, {"A", "B", "C"});
  convert_to_store(fractions, (dir / "fractions.c2s").string(), o);
  EXPECT_THROW(count_thinning(SentenceStore((dir / "fractions.c2s").string()), 0.5, 1), Error);
  EXPECT_THROW(count_thinning(SentenceStore((dir / "counts.c2s").string()), 0.0, 1), UsageError);
}

}  // namespace
}  // namespace c2s
