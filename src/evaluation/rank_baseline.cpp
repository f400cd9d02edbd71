#include "evaluation/rank_baseline.hpp"

#include <algorithm>
#include <limits>
#include <numeric>

#include "core/error.hpp"

namespace c2s {

TypeRanking::TypeRanking(const std::vector<std::vector<std::uint32_t>>& sentences, std::size_t n_genes)
    : cells_(sentences.size()), mean_rank_(n_genes, 0.0) {
  if (sentences.empty()) throw Error("a cell type's ranking needs at least one cell");
  // Mean rank of g = (sum of all lengths - lengths of the cells listing g
  // + g's ranks in them) / cells.
  double all_lengths = 0;
  std::vector<double> listed_lengths(n_genes, 0.0), rank_sums(n_genes, 0.0);
  std::vector<std::size_t> listed(n_genes, 0);
  for (const auto& s : sentences) {
    all_lengths += double(s.size());
    for (std::size_t r = 0; r < s.size(); ++r) {
      if (s[r] >= n_genes) throw Error("gene index " + std::to_string(s[r]) + " out of range");
      listed_lengths[s[r]] += double(s.size());
      rank_sums[s[r]] += double(r);
      ++listed[s[r]];
    }
  }
  for (std::size_t g = 0; g < n_genes; ++g) {
    mean_rank_[g] = (all_lengths - listed_lengths[g] + rank_sums[g]) / double(cells_);
    if (listed[g] > 0) by_mean_rank_.push_back(std::uint32_t(g));
  }
  std::stable_sort(by_mean_rank_.begin(), by_mean_rank_.end(),
                   [&](std::uint32_t a, std::uint32_t b) { return mean_rank_[a] < mean_rank_[b]; });
  // Ranks per gene, grouped in by_mean_rank_ order.
  std::vector<std::size_t> slot(n_genes, 0);
  offsets_.assign(by_mean_rank_.size() + 1, 0);
  for (std::size_t i = 0; i < by_mean_rank_.size(); ++i) {
    slot[by_mean_rank_[i]] = i;
    offsets_[i + 1] = offsets_[i] + listed[by_mean_rank_[i]];
  }
  ranks_.resize(offsets_.back());
  std::vector<std::size_t> next(offsets_.begin(), offsets_.end() - 1);
  for (const auto& s : sentences)
    for (std::size_t r = 0; r < s.size(); ++r) ranks_[next[slot[s[r]]]++] = std::uint32_t(r);
}

std::vector<std::uint32_t> TypeRanking::mean_rank_cell(std::size_t n) const {
  return {by_mean_rank_.begin(), by_mean_rank_.begin() + std::ptrdiff_t(std::min(n, by_mean_rank_.size()))};
}

std::vector<std::uint32_t> TypeRanking::sampled_rank_cell(std::size_t n, Rng& rng) const {
  // (drawn rank, position in the mean ranking) of the genes that got one.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> drawn;
  for (std::size_t i = 0; i < by_mean_rank_.size(); ++i) {
    const std::uint64_t cell = rng.below(cells_);
    const std::size_t listing = offsets_[i + 1] - offsets_[i];
    // The cells listing the gene stand first: a draw among them is one of its ranks.
    if (cell < listing) drawn.emplace_back(ranks_[offsets_[i] + cell], std::uint32_t(i));
  }
  const std::size_t keep = std::min(n, drawn.size());
  std::partial_sort(drawn.begin(), drawn.begin() + std::ptrdiff_t(keep), drawn.end());
  std::vector<std::uint32_t> out;
  for (std::size_t k = 0; k < keep; ++k) out.push_back(by_mean_rank_[drawn[k].second]);
  return out;
}

}  // namespace c2s
