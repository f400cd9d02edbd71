// Naive cells of a cell type made from its real cells' gene rankings alone:
// the baseline a generative model has to beat. From the top-k sentences of
// a type's (training) cells:
//   * mean ranking: every gene's mean rank over the type's cells (a cell
//     that does not list a gene ranks it at its sentence's length, after
//     all the genes it lists); a naive cell is the first n genes of that
//     order, so all of a type's naive cells are alike;
//   * sampled ranks: each gene's rank drawn on its own from a random cell
//     of the type (no rank when that cell does not list it), the genes
//     ordered by the ranks drawn (ties by mean rank, then gene index), the
//     first n kept: each gene as often and as high as in the type's cells,
//     but genes drawn independently, so no cell's own programme.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/random.hpp"

namespace c2s {

// One type's cells' rankings.
class TypeRanking {
 public:
  // `sentences`: the type's cells, each its genes (indices below n_genes),
  // most expressed first. At least one cell.
  TypeRanking(const std::vector<std::vector<std::uint32_t>>& sentences, std::size_t n_genes);

  std::size_t cells() const { return cells_; }
  // The genes listed by some cell, by ascending mean rank (ties: lower index).
  const std::vector<std::uint32_t>& by_mean_rank() const { return by_mean_rank_; }
  double mean_rank(std::uint32_t gene) const { return mean_rank_[gene]; }

  // The first n genes of the mean ranking.
  std::vector<std::uint32_t> mean_rank_cell(std::size_t n) const;
  // A cell of sampled ranks (see above), its draws from `rng`.
  std::vector<std::uint32_t> sampled_rank_cell(std::size_t n, Rng& rng) const;

 private:
  std::size_t cells_ = 0;
  std::vector<double> mean_rank_;
  std::vector<std::uint32_t> by_mean_rank_;
  // The ranks of gene by_mean_rank_[i] in the cells listing it:
  // ranks_[offsets_[i], offsets_[i+1]).
  std::vector<std::size_t> offsets_;
  std::vector<std::uint32_t> ranks_;
};

}  // namespace c2s
