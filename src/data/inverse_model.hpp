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

// The points of a fit (rank 0 = top gene, normalised expression), run-length
// encoded: within a cell, consecutive ranks that share one value form a run.
// Sentences are sorted by value and counts repeat, so a cell of 2000 genes
// has a few dozen runs; the fit costs O(runs), not O(points).
struct RankRuns {
  std::vector<float> values;
  std::vector<std::uint32_t> first_rank, length;
  std::int64_t cells = 0, points = 0;

  // Adds one cell given as runs (value, length), in rank order.
  void add_cell(const float* run_values, const std::uint32_t* run_lengths, std::size_t n_runs);
  // Adds one cell's values, sorted non-increasing (rank = position).
  void add_cell(const float* sorted_values, std::size_t n);
  void append(const RankRuns& other);
  // (rank, value) of the points of the first cells, at most max_points of
  // them (whole cells), for plots.
  void sample_points(std::size_t max_points, std::vector<std::uint32_t>& rank, std::vector<float>& value) const;
};

// Least squares on the points with log10(1 + rank) < 3 and the agreement
// figures over all points (Spearman exact, with average ranks for ties).
InverseModel fit_inverse_model(const RankRuns& runs);

// Which of n cells to use for a fit: all when sample == 0 or sample >= n,
// else a seeded sample of `sample` cells, in increasing order.
std::vector<std::int64_t> choose_fit_cells(std::int64_t n, std::int64_t sample, std::uint64_t seed);

}  // namespace c2s
