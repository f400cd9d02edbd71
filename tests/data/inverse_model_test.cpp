// The inverse model's least squares and agreement figures.
#include "data/inverse_model.hpp"

#include "core/error.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace c2s {

TEST(InverseModel, RecoversAnExactLine) {
  RankPoints p;
  for (int cell = 0; cell < 3; ++cell)
    for (std::uint32_t r = 0; r < 200; ++r) {
      p.ranks.push_back(r);
      p.values.push_back(float(2.0 - 0.5 * std::log10(1.0 + r)));
    }
  p.cells = 3;
  InverseModel m = fit_inverse_model(p);
  EXPECT_NEAR(m.slope, -0.5, 1e-6);
  EXPECT_NEAR(m.intercept, 2.0, 1e-6);
  EXPECT_NEAR(m.r2, 1.0, 1e-9);
  EXPECT_NEAR(m.pearson, 1.0, 1e-9);
  EXPECT_NEAR(m.spearman, 1.0, 1e-9);
  EXPECT_EQ(m.points, 600);
  EXPECT_NEAR(m.predict(9), 1.5, 1e-6);  // points are float32
}

TEST(InverseModel, FitUsesOnlyRanksBelowOneThousand) {
  // Points past rank 998 (log10(1 + rank) >= 3) are off the line and must
  // not move the fit, only the figures.
  RankPoints p;
  for (std::uint32_t r = 0; r < 1500; ++r) {
    p.ranks.push_back(r);
    double x = std::log10(1.0 + r);
    p.values.push_back(float(x < 3 ? 3.0 - x : 5.0));
  }
  InverseModel m = fit_inverse_model(p);
  EXPECT_NEAR(m.slope, -1.0, 1e-6);
  EXPECT_NEAR(m.intercept, 3.0, 1e-5);
  EXPECT_EQ(m.fit_points, 999);
  EXPECT_LT(m.r2, 0.9);
}

TEST(InverseModel, SpearmanWithTiesMatchesScipy) {
  // scipy.stats.spearmanr([3,3,2,1,1,0.5], -log10(1+[0,1,2,3,4,5])) = 0.9710083124552246
  RankPoints p;
  p.ranks = {0, 1, 2, 3, 4, 5};
  p.values = {3, 3, 2, 1, 1, 0.5};
  InverseModel m = fit_inverse_model(p);
  EXPECT_NEAR(m.spearman, 0.9710083124552246, 1e-12);
}

TEST(InverseModel, SampleIsSeededSortedAndSized) {
  auto a = choose_fit_cells(1000, 100, 5), b = choose_fit_cells(1000, 100, 5), c = choose_fit_cells(1000, 100, 6);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(a.size(), 100u);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  EXPECT_EQ(choose_fit_cells(10, 0, 1).size(), 10u);
  EXPECT_EQ(choose_fit_cells(10, 50, 1).size(), 10u);
}

TEST(InverseModel, JsonRoundTrip) {
  InverseModel m{.slope = -0.6, .intercept = 1.7, .r2 = 0.9, .pearson = 0.95, .spearman = 0.9, .points = 10,
                 .fit_points = 9, .cells = 2};
  InverseModel back = InverseModel::from_json(m.to_json());
  EXPECT_EQ(back.slope, m.slope);
  EXPECT_EQ(back.points, 10);
  EXPECT_THROW(InverseModel::from_json(nlohmann::json{{"slope", "x"}}), Error);
}

}  // namespace c2s
