// Binomial thinning of a cell's counts: every molecule kept with probability
// f, independently. This is how a cell sequenced f times as deep would have
// been sampled, so thinned copies of training cells teach a model cells of
// shallower libraries than its training donors' (c2s train
// --thinned-copies). The counts come back from the store's values, which
// hold log1p of normalised integer counts (or the counts themselves).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "data/store_values.hpp"

namespace c2s {

struct CountThinning {
  StoreValues values;          // how to turn the store's values back into counts
  double min_fraction = 0.5;   // each cell's kept fraction: uniform on [min_fraction, 1]
  std::uint64_t seed = 0;      // draws depend on (seed, cell) only
};

// The thinning of a store's cells; an Error when the store's provenance does
// not say its values came from integer counts.
CountThinning count_thinning(const SentenceStore& store, double min_fraction, std::uint64_t seed);

// One cell's integer counts from its values (any order), up to the common
// normalisation factor: the smallest multiplier (1 to 8) of value/smallest
// value that makes every count an integer. An Error when none does (the
// values are not normalised counts).
std::vector<std::uint32_t> counts_from_values(std::span<const float> values, const StoreValues& kind);

// Cell `cell`'s genes (most expressed first, with their values) after
// thinning: the genes that keep a molecule, most kept molecules first, ties
// in random order.
std::vector<std::uint32_t> thin_cell(std::span<const std::uint32_t> genes, std::span<const float> values,
                                     const CountThinning& thinning, std::uint64_t cell);

}  // namespace c2s
