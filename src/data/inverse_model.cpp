#include "data/inverse_model.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

#include "core/error.hpp"
#include "core/random.hpp"

namespace c2s {

double InverseModel::predict(double rank) const { return intercept + slope * std::log10(1.0 + rank); }

nlohmann::json InverseModel::to_json() const {
  return {{"formula", "expression = intercept + slope * log10(1 + rank)"},
          {"slope", slope},
          {"intercept", intercept},
          {"r2", r2},
          {"pearson", pearson},
          {"spearman", spearman},
          {"points", points},
          {"fit_points", fit_points},
          {"cells", cells}};
}

InverseModel InverseModel::from_json(const nlohmann::json& j) {
  InverseModel m;
  try {
    m.slope = j.at("slope").get<double>();
    m.intercept = j.at("intercept").get<double>();
    m.r2 = j.value("r2", 0.0);
    m.pearson = j.value("pearson", 0.0);
    m.spearman = j.value("spearman", 0.0);
    m.points = j.value("points", std::int64_t(0));
    m.fit_points = j.value("fit_points", std::int64_t(0));
    m.cells = j.value("cells", std::int64_t(0));
  } catch (const nlohmann::json::exception& e) {
    throw Error("inverse model", std::string("malformed: ") + e.what());
  }
  return m;
}

void RankRuns::add_cell(const float* v, std::size_t n) {
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i + 1;
    while (j < n && v[j] == v[i]) ++j;
    values.push_back(v[i]);
    first_rank.push_back(std::uint32_t(i));
    length.push_back(std::uint32_t(j - i));
    i = j;
  }
  points += std::int64_t(n);
  ++cells;
}

void RankRuns::add_cell(const float* run_values, const std::uint32_t* run_lengths, std::size_t n_runs) {
  std::uint32_t rank = 0;
  for (std::size_t k = 0; k < n_runs; ++k) {
    values.push_back(run_values[k]);
    first_rank.push_back(rank);
    length.push_back(run_lengths[k]);
    rank += run_lengths[k];
  }
  points += rank;
  ++cells;
}

void RankRuns::append(const RankRuns& o) {
  values.insert(values.end(), o.values.begin(), o.values.end());
  first_rank.insert(first_rank.end(), o.first_rank.begin(), o.first_rank.end());
  length.insert(length.end(), o.length.begin(), o.length.end());
  cells += o.cells;
  points += o.points;
}

void RankRuns::sample_points(std::size_t max_points, std::vector<std::uint32_t>& rank,
                             std::vector<float>& value) const {
  rank.clear();
  value.clear();
  for (std::size_t k = 0; k < values.size(); ++k) {
    // Stop at a cell boundary once the budget is spent.
    if (first_rank[k] == 0 && rank.size() >= max_points) break;
    for (std::uint32_t r = first_rank[k]; r < first_rank[k] + length[k]; ++r) {
      rank.push_back(r);
      value.push_back(values[k]);
    }
  }
}

namespace {

// Sums over rank ranges of any per-rank quantity, by prefix sums.
class RankPrefix {
 public:
  RankPrefix(std::size_t n_ranks, const std::function<long double(std::size_t)>& f) : prefix_(n_ranks + 1, 0) {
    for (std::size_t r = 0; r < n_ranks; ++r) prefix_[r + 1] = prefix_[r] + f(r);
  }
  // Sum over ranks [a, a + len).
  long double sum(std::size_t a, std::size_t len) const { return prefix_[a + len] - prefix_[a]; }

 private:
  std::vector<long double> prefix_;
};

constexpr std::uint32_t kFitRanks = 999;  // log10(1 + rank) < 3

}  // namespace

InverseModel fit_inverse_model(const RankRuns& runs) {
  const std::size_t n_runs = runs.values.size();
  if (runs.points < 2) throw Error("inverse model", "fewer than two nonzero entries to fit");
  std::size_t n_ranks = 0;
  for (std::size_t k = 0; k < n_runs; ++k)
    n_ranks = std::max<std::size_t>(n_ranks, runs.first_rank[k] + runs.length[k]);
  auto x_of = [](std::size_t r) { return std::log10(1.0L + (long double)r); };
  RankPrefix sx(n_ranks, x_of);
  RankPrefix sxx(n_ranks, [&](std::size_t r) { return x_of(r) * x_of(r); });

  // The fit: points with rank < 999, centred sums over the runs.
  auto fit_part = [&](std::size_t k, std::size_t& a, std::size_t& len) {
    a = runs.first_rank[k];
    len = a >= kFitRanks ? 0 : std::min<std::size_t>(runs.length[k], kFitRanks - a);
  };
  long double n = 0, mx = 0, my = 0;
  for (std::size_t k = 0; k < n_runs; ++k) {
    std::size_t a, len;
    fit_part(k, a, len);
    n += len;
    mx += sx.sum(a, len);
    my += (long double)runs.values[k] * len;
  }
  if (n < 2) throw Error("inverse model", "fewer than two points with log10(1 + rank) < 3");
  mx /= n;
  my /= n;
  long double sxy = 0, sxx_c = 0;
  for (std::size_t k = 0; k < n_runs; ++k) {
    std::size_t a, len;
    fit_part(k, a, len);
    if (len == 0) continue;
    long double x1 = sx.sum(a, len), x2 = sxx.sum(a, len);
    sxy += ((long double)runs.values[k] - my) * (x1 - len * mx);
    sxx_c += x2 - 2 * mx * x1 + len * mx * mx;
  }
  InverseModel model;
  model.slope = double(sxx_c > 0 ? sxy / sxx_c : 0);
  model.intercept = double(my - (long double)model.slope * mx);
  model.points = runs.points;
  model.fit_points = std::int64_t(n);
  model.cells = runs.cells;

  // R^2 and Pearson(y, prediction) over all points.
  const long double N = runs.points;
  long double ax = 0, ay = 0;
  for (std::size_t k = 0; k < n_runs; ++k) {
    ax += sx.sum(runs.first_rank[k], runs.length[k]);
    ay += (long double)runs.values[k] * runs.length[k];
  }
  ax /= N;
  ay /= N;
  long double cxy = 0, cxx = 0, cyy = 0, ss_res = 0;
  const long double a0 = model.intercept, b0 = model.slope;
  for (std::size_t k = 0; k < n_runs; ++k) {
    std::size_t a = runs.first_rank[k], len = runs.length[k];
    long double y = runs.values[k], x1 = sx.sum(a, len), x2 = sxx.sum(a, len);
    cxy += (y - ay) * (x1 - len * ax);
    cxx += x2 - 2 * ax * x1 + len * ax * ax;
    cyy += len * (y - ay) * (y - ay);
    ss_res += len * (y - a0) * (y - a0) - 2 * (y - a0) * b0 * x1 + b0 * b0 * x2;
  }
  model.r2 = double(cyy > 0 ? 1 - ss_res / cyy : 0);
  double corr = double((cxx > 0 && cyy > 0) ? cxy / std::sqrt(cxx * cyy) : 0);
  model.pearson = model.slope < 0 ? -corr : (model.slope > 0 ? corr : 0);

  // Spearman: Pearson of average ranks. The prediction is a function of the
  // integer rank alone: its average ranks come from a histogram of ranks.
  std::vector<long double> rank_hist(n_ranks + 1, 0);
  for (std::size_t k = 0; k < n_runs; ++k) {
    rank_hist[runs.first_rank[k]] += 1;
    rank_hist[runs.first_rank[k] + runs.length[k]] -= 1;
  }
  std::vector<long double> points_at(n_ranks, 0);
  long double running = 0;
  for (std::size_t r = 0; r < n_ranks; ++r) points_at[r] = (running += rank_hist[r]);
  // Ascending prediction = descending rank when the slope is negative.
  std::vector<long double> pred_rank(n_ranks, 0);
  long double before = 0;
  auto assign = [&](std::size_t r) {
    pred_rank[r] = before + (points_at[r] + 1) / 2;
    before += points_at[r];
  };
  if (model.slope < 0) {
    for (std::size_t r = n_ranks; r-- > 0;) assign(r);
  } else {
    for (std::size_t r = 0; r < n_ranks; ++r) assign(r);
  }
  const long double mid = (N + 1) / 2;
  if (model.slope == 0) std::fill(pred_rank.begin(), pred_rank.end(), mid);
  RankPrefix sp(n_ranks, [&](std::size_t r) { return pred_rank[r] - mid; });
  RankPrefix spp(n_ranks, [&](std::size_t r) { return (pred_rank[r] - mid) * (pred_rank[r] - mid); });

  // Average rank of each run's value among all points.
  std::vector<std::uint32_t> order(n_runs);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) { return runs.values[a] < runs.values[b]; });
  long double syy = 0, spy = 0, spp_total = 0;
  for (std::size_t k = 0; k < n_runs; ++k) spp_total += spp.sum(runs.first_rank[k], runs.length[k]);
  long double below = 0;
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    long double tied = 0;
    while (j < order.size() && runs.values[order[j]] == runs.values[order[i]]) tied += runs.length[order[j++]];
    long double ry = below + (tied + 1) / 2 - mid;
    for (std::size_t t = i; t < j; ++t) {
      std::uint32_t k = order[t];
      syy += runs.length[k] * ry * ry;
      spy += ry * sp.sum(runs.first_rank[k], runs.length[k]);
    }
    below += tied;
    i = j;
  }
  model.spearman = double((syy > 0 && spp_total > 0) ? spy / std::sqrt(syy * spp_total) : 0);
  return model;
}

std::vector<std::int64_t> choose_fit_cells(std::int64_t n, std::int64_t sample, std::uint64_t seed) {
  std::vector<std::int64_t> cells;
  if (sample <= 0 || sample >= n) {
    cells.resize(std::size_t(n));
    std::iota(cells.begin(), cells.end(), std::int64_t(0));
    return cells;
  }
  // Selection sampling (Knuth's algorithm S): sorted, uniform, O(n).
  Rng rng(seed, 0x696e76);
  std::int64_t needed = sample;
  for (std::int64_t i = 0; i < n && needed > 0; ++i) {
    if (double(rng.below(std::uint64_t(n - i))) < double(needed)) {
      cells.push_back(i);
      --needed;
    }
  }
  return cells;
}

}  // namespace c2s
