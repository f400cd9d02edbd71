#include "data/count_thinning.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "core/random.hpp"
#include "data/rank_transform.hpp"

namespace c2s {

CountThinning count_thinning(const SentenceStore& store, double min_fraction, std::uint64_t seed) {
  if (!(min_fraction > 0 && min_fraction <= 1))
    throw UsageError(fmt::format("the smallest kept fraction must be in (0, 1], not {}", min_fraction));
  const auto values = recorded_store_values(store);
  if (!values || !values->integer_counts)
    throw Error(store.path(), "thinning needs a store converted from integer counts (its provenance says "
                              "otherwise), to recover each cell's molecules");
  return {*values, min_fraction, seed};
}

std::vector<std::uint32_t> counts_from_values(std::span<const float> values, const StoreValues& kind) {
  std::vector<double> x(values.size());
  double smallest = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    if (!(v > 0) || !std::isfinite(v)) throw Error(fmt::format("expression value {} is not a positive number", v));
    x[i] = kind.log_base ? std::expm1(v * std::log(*kind.log_base)) : v;
    if (i == 0 || x[i] < smallest) smallest = x[i];
  }
  std::vector<std::uint32_t> counts(values.size());
  for (int k = 1; k <= 8; ++k) {
    bool integer = true;
    for (std::size_t i = 0; i < x.size() && integer; ++i) {
      const double c = k * x[i] / smallest;
      // float32 values hold ~7 digits: allow that error on the ratio.
      integer = std::abs(c - std::round(c)) <= 0.02 + 1e-5 * c;
      counts[i] = std::uint32_t(std::round(c));
    }
    if (integer) return counts;
  }
  throw Error("its values are not normalised integer counts (no common factor up to 8 makes them whole)");
}

std::vector<std::uint32_t> thin_cell(std::span<const std::uint32_t> genes, std::span<const float> values,
                                     const CountThinning& thinning, std::uint64_t cell) {
  const auto counts = counts_from_values(values, thinning.values);
  Rng rng(thinning.seed, cell);
  const double keep = thinning.min_fraction + (1 - thinning.min_fraction) * rng.uniform();
  std::vector<std::uint32_t> kept_genes;
  std::vector<float> kept;
  for (std::size_t i = 0; i < genes.size(); ++i) {
    std::uint32_t n = 0;
    for (std::uint32_t m = 0; m < counts[i]; ++m) n += rng.uniform() < keep;
    if (n == 0) continue;
    kept_genes.push_back(genes[i]);
    kept.push_back(float(n));
  }
  rank_cell(kept_genes, kept, thinning.seed ^ 0x7468696eull, cell);
  return kept_genes;
}

}  // namespace c2s
