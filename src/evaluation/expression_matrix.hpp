// Log-normalised expression of chosen cells of a sentence store as a dense
// cells x genes matrix (the features of the baselines), over all genes or a
// subset such as the most variable genes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "data/inverse_model.hpp"
#include "data/sentence_store.hpp"
#include "evaluation/dense_matrix.hpp"
#include "io/matrix_source.hpp"

namespace c2s {

// The factor that turns the store's values into scanpy's log1p (natural
// log of 1 + normalised count): ln(base) when the store's provenance records
// log1p with that base (every input of a merged store alike; c2s's default
// is base 10), else 1: the values as stored.
double natural_log_scale(const SentenceStore& store);

// Rows: `cells` (store indices, in this order); columns: `genes` (store gene
// indices, in this order; empty = all genes). Entries are the stored values
// times `scale`, 0 where the cell does not express the gene. Memory: 4 bytes
// per entry (12,100 x 1,287 genes: 62 MB).
DenseMatrix expression_matrix(const SentenceStore& store, const std::vector<std::int64_t>& cells,
                              const std::vector<std::uint32_t>& genes = {}, double scale = 1);

// Rows: the rows of `source` (e.g. cells generated and reconstructed by
// c2s generate-cells); column j of the source goes to feature
// column_of[j] (-1: dropped). Entries are the values times `scale`.
DenseMatrix expression_matrix(MatrixSource& source, const std::vector<std::int64_t>& column_of, std::size_t n_features,
                              double scale = 1);

// Expression rebuilt from ranked genes as `c2s reconstruct` rebuilds it
// (the inverse model's value at each gene's rank, data/reconstruction.hpp),
// over `genes` (store gene indices, in this order; empty = all
// `n_store_genes`), times `scale`. One row per sentence (store gene indices,
// most expressed first).
DenseMatrix reconstructed_expression(const std::vector<std::vector<std::uint32_t>>& sentences, const InverseModel& model,
                                     std::size_t n_store_genes, const std::vector<std::uint32_t>& genes = {},
                                     double scale = 1);

// The first `top_k` genes (top_k <= 0: all) of each of `cells`, most
// expressed first, in the order of `cells`.
std::vector<std::vector<std::uint32_t>> cell_top_genes(const SentenceStore& store, const std::vector<std::int64_t>& cells,
                                                       std::int64_t top_k);

// The `n` genes whose values vary most over `cells` (variance of the
// stored values, zeros included; ties to the lower index), in ascending
// gene order. All genes when the store has at most `n`.
std::vector<std::uint32_t> highly_variable_genes(const SentenceStore& store, const std::vector<std::int64_t>& cells,
                                                 std::size_t n);

// The baselines' default features: every gene when the store has at most
// kDefaultFeatureGenes, else that many highly variable genes of `cells`
// (the training cells).
inline constexpr std::size_t kDefaultFeatureGenes = 2000;
std::vector<std::uint32_t> default_feature_genes(const SentenceStore& store, const std::vector<std::int64_t>& cells);

}  // namespace c2s
