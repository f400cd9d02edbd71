// The C2S rank transform of one cell: its nonzero genes ordered by decreasing
// expression, ties broken by a random permutation seeded by (seed, cell).
#pragma once
#include <cstdint>
#include <vector>

namespace c2s {

// Reorders `genes`/`values` (one cell's nonzero entries, any order) so that
// values are non-increasing. Equal values end up in the order of a uniform
// random shuffle that depends only on (seed, cell_index): identical results
// for any thread count, as the reference's shuffle-then-stable-sort.
void rank_cell(std::vector<std::uint32_t>& genes, std::vector<float>& values, std::uint64_t seed,
               std::uint64_t cell_index);

}  // namespace c2s
