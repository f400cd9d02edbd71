// The rank transform: order, tie-breaking, determinism.
#include "data/rank_transform.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace c2s {

TEST(RankTransform, OrdersByDecreasingValue) {
  std::vector<std::uint32_t> genes{0, 1, 2, 3, 4};
  std::vector<float> values{1.f, 5.f, 3.f, 0.5f, 4.f};
  rank_cell(genes, values, 42, 7);
  EXPECT_EQ(genes, (std::vector<std::uint32_t>{1, 4, 2, 0, 3}));
  EXPECT_EQ(values, (std::vector<float>{5.f, 4.f, 3.f, 1.f, 0.5f}));
}

TEST(RankTransform, TiesDependOnlyOnSeedAndCell) {
  std::vector<std::uint32_t> base(50);
  for (std::uint32_t i = 0; i < 50; ++i) base[i] = i;
  auto run = [&](std::uint64_t seed, std::uint64_t cell) {
    auto g = base;
    std::vector<float> v(50, 1.f);
    rank_cell(g, v, seed, cell);
    return g;
  };
  EXPECT_EQ(run(42, 3), run(42, 3));
  EXPECT_NE(run(42, 3), run(42, 4));
  EXPECT_NE(run(42, 3), run(43, 3));
  auto g = run(1, 1);
  EXPECT_EQ(std::set<std::uint32_t>(g.begin(), g.end()).size(), 50u);
}

TEST(RankTransform, TieOrderIsUniform) {
  // Each of 3 tied genes should come first about a third of the time.
  std::map<std::uint32_t, int> first;
  for (std::uint64_t cell = 0; cell < 30000; ++cell) {
    std::vector<std::uint32_t> g{10, 11, 12, 13};
    std::vector<float> v{2.f, 2.f, 2.f, 9.f};
    rank_cell(g, v, 42, cell);
    ASSERT_EQ(g[0], 13u);
    ++first[g[1]];
  }
  for (auto& [gene, n] : first) EXPECT_NEAR(n / 30000.0, 1.0 / 3, 0.02) << gene;
}

}  // namespace c2s

namespace c2s {

TEST(RankTransform, LargeCountsAndNonIntegerValues) {
  std::vector<std::uint32_t> genes{0, 1, 2, 3, 4, 5, 6};
  std::vector<float> values{300, 2, 300, 1000, 2, 255, 256};
  rank_cell(genes, values, 1, 2);
  EXPECT_EQ(values, (std::vector<float>{1000, 300, 300, 256, 255, 2, 2}));
  EXPECT_EQ(genes[0], 3u);
  EXPECT_EQ(genes[3], 6u);
  EXPECT_EQ(genes[4], 5u);
  std::vector<std::uint32_t> g2{0, 1, 2, 3};
  std::vector<float> v2{0.5f, 2.25f, 0.5f, 7.f};
  rank_cell(g2, v2, 1, 2);
  EXPECT_EQ(v2, (std::vector<float>{7.f, 2.25f, 0.5f, 0.5f}));
  EXPECT_EQ(g2[0], 3u);
  EXPECT_EQ(g2[1], 1u);
}

}  // namespace c2s
