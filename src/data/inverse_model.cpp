#include "data/inverse_model.hpp"

#include <algorithm>
#include <cmath>
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

void RankPoints::append(const RankPoints& other) {
  ranks.insert(ranks.end(), other.ranks.begin(), other.ranks.end());
  values.insert(values.end(), other.values.begin(), other.values.end());
  cells += other.cells;
}

namespace {

// 1-based average ranks of v (ties share the mean of their positions).
std::vector<double> average_ranks(const std::vector<float>& v) {
  std::vector<std::uint32_t> order(v.size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    double avg = (double(i) + double(j)) / 2 + 1;
    for (std::size_t k = i; k <= j; ++k) r[order[k]] = avg;
    i = j + 1;
  }
  return r;
}

double pearson_of(const std::vector<double>& a, const std::vector<double>& b) {
  const std::size_t n = a.size();
  double ma = 0, mb = 0;
  for (std::size_t i = 0; i < n; ++i) ma += a[i], mb += b[i];
  ma /= double(n);
  mb /= double(n);
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < n; ++i) {
    double da = a[i] - ma, db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return (saa > 0 && sbb > 0) ? sab / std::sqrt(saa * sbb) : 0.0;
}

}  // namespace

InverseModel fit_inverse_model(const RankPoints& p) {
  const std::size_t n = p.ranks.size();
  if (n != p.values.size()) throw Error("inverse model", "ranks and values differ in length");
  if (n < 2) throw Error("inverse model", "fewer than two nonzero entries to fit");

  // Least squares on points with log10(1 + rank) < 3, centred sums in double.
  double mx = 0, my = 0;
  std::int64_t m = 0;
  std::vector<double> x(n);
  for (std::size_t i = 0; i < n; ++i) {
    x[i] = std::log10(1.0 + double(p.ranks[i]));
    if (x[i] < 3) mx += x[i], my += p.values[i], ++m;
  }
  if (m < 2) throw Error("inverse model", "fewer than two points with log10(1 + rank) < 3");
  mx /= double(m);
  my /= double(m);
  double sxy = 0, sxx = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (x[i] < 3) {
      sxy += (x[i] - mx) * (p.values[i] - my);
      sxx += (x[i] - mx) * (x[i] - mx);
    }
  InverseModel model;
  model.slope = sxx > 0 ? sxy / sxx : 0.0;
  model.intercept = my - model.slope * mx;
  model.points = std::int64_t(n);
  model.fit_points = m;
  model.cells = p.cells;

  std::vector<double> y(p.values.begin(), p.values.end()), pred(n);
  double ybar = 0;
  for (std::size_t i = 0; i < n; ++i) {
    pred[i] = model.intercept + model.slope * x[i];
    ybar += y[i];
  }
  ybar /= double(n);
  double ss_res = 0, ss_tot = 0;
  for (std::size_t i = 0; i < n; ++i) {
    ss_res += (y[i] - pred[i]) * (y[i] - pred[i]);
    ss_tot += (y[i] - ybar) * (y[i] - ybar);
  }
  model.r2 = ss_tot > 0 ? 1 - ss_res / ss_tot : 0.0;
  model.pearson = pearson_of(y, pred);

  // Spearman: Pearson of average ranks. pred is a function of the integer
  // rank alone, so its ranks come from a histogram over ranks.
  std::vector<double> ry = average_ranks(p.values);
  std::uint32_t max_rank = *std::max_element(p.ranks.begin(), p.ranks.end());
  std::vector<std::int64_t> hist(std::size_t(max_rank) + 1, 0);
  for (auto r : p.ranks) ++hist[r];
  // Ascending pred = descending rank when slope < 0.
  std::vector<double> avg_of_rank(hist.size());
  double before = 0;
  auto assign = [&](std::size_t r) {
    avg_of_rank[r] = before + (double(hist[r]) + 1) / 2;
    before += double(hist[r]);
  };
  if (model.slope < 0) {
    for (std::size_t r = hist.size(); r-- > 0;) assign(r);
  } else {
    for (std::size_t r = 0; r < hist.size(); ++r) assign(r);
  }
  std::vector<double> rp(n);
  for (std::size_t i = 0; i < n; ++i) rp[i] = model.slope == 0 ? 0.0 : avg_of_rank[p.ranks[i]];
  model.spearman = pearson_of(ry, rp);
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
