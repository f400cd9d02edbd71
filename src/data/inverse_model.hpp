// The C2S inverse model: expression = intercept + slope * log10(1 + rank),
// fitted by least squares on the points with log10(1 + rank) < 3, with R^2,
// Pearson and Spearman over all points; and its use to turn ranks back into
// expression.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

namespace c2s {

struct InverseModel {
  double slope = 0, intercept = 0;
  double r2 = 0, pearson = 0, spearman = 0;
  std::int64_t points = 0;       // nonzero entries the figures are computed over
  std::int64_t fit_points = 0;   // of which used for the least-squares fit
  std::int64_t cells = 0;        // cells the points come from

  // Expression predicted at a 0-based rank.
  double predict(double rank) const;
  nlohmann::json to_json() const;
  static InverseModel from_json(const nlohmann::json& j);
};

// Points of the fit: the rank (0 = top gene) and the normalised expression of
// every nonzero entry of the cells sampled.
struct RankPoints {
  std::vector<std::uint32_t> ranks;
  std::vector<float> values;
  std::int64_t cells = 0;
  void append(const RankPoints& other);
};

// Least squares and the three agreement figures (Spearman with average ranks
// for ties, exactly; the sort takes O(n log n) over the points).
InverseModel fit_inverse_model(const RankPoints& points);

// Which of n cells to use for a fit: all when sample == 0 or sample >= n,
// else a seeded sample of `sample` cells, in increasing order.
std::vector<std::int64_t> choose_fit_cells(std::int64_t n, std::int64_t sample, std::uint64_t seed);

}  // namespace c2s
