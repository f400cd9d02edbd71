// The C2S rank transform of one cell: its nonzero genes ordered by decreasing
// expression, ties broken by a random permutation seeded by (seed, cell).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "io/sparse_rows.hpp"

namespace c2s {

// Ranks one cell's nonzero entries (genes[i] has values[i] > 0, any order):
// writes the genes in order of non-increasing value to out_genes (n of them)
// and appends the values as runs of equal values (value, how many genes) to
// run_values/run_lengths. Equal values end up in a uniformly random order
// drawn from a stream that depends only on (seed, cell_index): identical
// results for any thread count. The reference shuffles then sorts stably;
// this draws the same distribution of tie orders, faster: small integer
// counts go to buckets (counting sort) shuffled within, the rest is sorted.
// Gene is std::uint32_t or, for up to 65536 genes, std::uint16_t.
template <class Gene>
void rank_cell(const std::uint32_t* genes, const float* values, std::size_t n, std::uint64_t seed,
               std::uint64_t cell_index, Gene* out_genes, BlockVector<float>& run_values,
               BlockVector<std::uint32_t>& run_lengths);

// The same, reordering `genes`/`values` in place (values expanded).
void rank_cell(std::vector<std::uint32_t>& genes, std::vector<float>& values, std::uint64_t seed,
               std::uint64_t cell_index);

}  // namespace c2s
