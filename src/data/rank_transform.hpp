// The C2S rank transform of one cell: its nonzero genes ordered by decreasing
// expression, ties broken by a random permutation seeded by (seed, cell).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace c2s {

// Reorders `genes`/`values` (one cell's nonzero entries, any order) so that
// values are non-increasing. Equal values end up in a uniformly random order
// drawn from a stream that depends only on (seed, cell_index): identical
// results for any thread count. The reference shuffles then sorts stably;
// this draws the same distribution of tie orders, faster (counting sort of
// small integer counts, then a shuffle within each run of equal counts).
void rank_cell(std::vector<std::uint32_t>& genes, std::vector<float>& values, std::uint64_t seed,
               std::uint64_t cell_index);
// The same, writing the ranked entries to `out_genes`/`out_values` (n each,
// not overlapping the inputs) instead of reordering in place.
void rank_cell(const std::uint32_t* genes, const float* values, std::size_t n, std::uint64_t seed,
               std::uint64_t cell_index, std::uint32_t* out_genes, float* out_values);

}  // namespace c2s
