// The inverse model's least squares and agreement figures.
#include "data/inverse_model.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.hpp"
#include "core/random.hpp"

namespace c2s {

namespace {
RankRuns runs_of(const std::vector<std::vector<float>>& cells) {
  RankRuns r;
  for (const auto& c : cells) r.add_cell(c.data(), c.size());
  return r;
}

// Textbook formulas over explicit points, for comparison.
std::vector<double> average_ranks(const std::vector<double>& v) {
  std::vector<std::size_t> o(v.size());
  std::iota(o.begin(), o.end(), 0);
  std::sort(o.begin(), o.end(), [&](auto a, auto b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (std::size_t i = 0; i < o.size();) {
    std::size_t j = i;
    while (j + 1 < o.size() && v[o[j + 1]] == v[o[i]]) ++j;
    for (std::size_t k = i; k <= j; ++k) r[o[k]] = (double(i) + double(j)) / 2 + 1;
    i = j + 1;
  }
  return r;
}
double pearson(const std::vector<double>& a, const std::vector<double>& b) {
  double ma = std::accumulate(a.begin(), a.end(), 0.0) / a.size(), mb = std::accumulate(b.begin(), b.end(), 0.0) / b.size();
  double ab = 0, aa = 0, bb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ab += (a[i] - ma) * (b[i] - mb);
    aa += (a[i] - ma) * (a[i] - ma);
    bb += (b[i] - mb) * (b[i] - mb);
  }
  return ab / std::sqrt(aa * bb);
}
}  // namespace

TEST(InverseModel, RecoversAnExactLine) {
  std::vector<float> cell;
  for (std::uint32_t r = 0; r < 200; ++r) cell.push_back(float(2.0 - 0.5 * std::log10(1.0 + r)));
  InverseModel m = fit_inverse_model(runs_of({cell, cell, cell}));
  EXPECT_NEAR(m.slope, -0.5, 1e-6);
  EXPECT_NEAR(m.intercept, 2.0, 1e-6);
  EXPECT_NEAR(m.r2, 1.0, 1e-9);
  EXPECT_NEAR(m.pearson, 1.0, 1e-9);
  EXPECT_NEAR(m.spearman, 1.0, 1e-9);
  EXPECT_EQ(m.points, 600);
  EXPECT_EQ(m.cells, 3);
  EXPECT_NEAR(m.predict(9), 1.5, 1e-6);  // points are float32
}

TEST(InverseModel, FitUsesOnlyRanksBelowOneThousand) {
  // Ranks from 999 on (log10(1 + rank) >= 3) must not move the fit, only
  // the figures: a cell whose tail sits on a plateau.
  std::vector<float> cell;
  for (std::uint32_t r = 0; r < 1500; ++r) cell.push_back(float(r < 999 ? 3.0 - std::log10(1.0 + r) : 0.0001));
  InverseModel m = fit_inverse_model(runs_of({cell}));
  EXPECT_NEAR(m.slope, -1.0, 1e-5);
  EXPECT_NEAR(m.intercept, 3.0, 1e-5);
  EXPECT_EQ(m.fit_points, 999);
  EXPECT_EQ(m.points, 1500);
}

TEST(InverseModel, SpearmanWithTiesMatchesScipy) {
  // scipy.stats.spearmanr([3,3,2,1,1,0.5], -log10(1+[0,1,2,3,4,5])) = 0.9710083124552246
  InverseModel m = fit_inverse_model(runs_of({{3, 3, 2, 1, 1, 0.5}}));
  EXPECT_NEAR(m.spearman, 0.9710083124552246, 1e-12);
}

TEST(InverseModel, RunsGiveTheFiguresOfExplicitPoints) {
  // Random cells with many ties within and across cells and ranks past 999.
  Rng rng(7);
  std::vector<std::vector<float>> cells;
  for (int c = 0; c < 40; ++c) {
    std::size_t n = 1 + rng.below(1400);
    std::vector<float> v(n);
    for (auto& x : v) x = float(rng.below(12)) * 0.25f + 0.25f;
    std::sort(v.rbegin(), v.rend());
    cells.push_back(v);
  }
  InverseModel m = fit_inverse_model(runs_of(cells));
  std::vector<double> x, y, xs, ys;
  for (const auto& c : cells)
    for (std::size_t r = 0; r < c.size(); ++r) {
      x.push_back(std::log10(1.0 + r));
      y.push_back(c[r]);
      if (x.back() < 3) xs.push_back(x.back()), ys.push_back(y.back());
    }
  double mx = std::accumulate(xs.begin(), xs.end(), 0.0) / xs.size();
  double my = std::accumulate(ys.begin(), ys.end(), 0.0) / ys.size();
  double sxy = 0, sxx = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) sxy += (xs[i] - mx) * (ys[i] - my), sxx += (xs[i] - mx) * (xs[i] - mx);
  double slope = sxy / sxx, intercept = my - slope * mx;
  std::vector<double> pred(x.size());
  double ybar = std::accumulate(y.begin(), y.end(), 0.0) / y.size(), res = 0, tot = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    pred[i] = intercept + slope * x[i];
    res += (y[i] - pred[i]) * (y[i] - pred[i]);
    tot += (y[i] - ybar) * (y[i] - ybar);
  }
  EXPECT_NEAR(m.slope, slope, 1e-9);
  EXPECT_NEAR(m.intercept, intercept, 1e-9);
  EXPECT_NEAR(m.r2, 1 - res / tot, 1e-9);
  EXPECT_NEAR(m.pearson, pearson(y, pred), 1e-9);
  EXPECT_NEAR(m.spearman, pearson(average_ranks(y), average_ranks(pred)), 1e-9);
  EXPECT_EQ(m.points, std::int64_t(x.size()));
}

TEST(InverseModel, SamplePointsForPlots) {
  RankRuns r = runs_of({{3, 3, 1}, {2, 1}});
  std::vector<std::uint32_t> ranks;
  std::vector<float> v;
  r.sample_points(100, ranks, v);
  EXPECT_EQ(v, (std::vector<float>{3, 3, 1, 2, 1}));
  EXPECT_EQ(ranks, (std::vector<std::uint32_t>{0, 1, 2, 0, 1}));
  r.sample_points(2, ranks, v);  // whole cells only
  EXPECT_EQ(v.size(), 3u);
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
