// scanpy's preprocessing for C2S, planned in one streaming pass over the
// counts: filter_cells, QC metrics (+ optional mito filter), filter_genes,
// normalize_total (median target) and log1p with a base.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/matrix_source.hpp"

namespace c2s {

struct PreprocessOptions {
  bool enabled = true;                  // false: X is already normalised (--no-preprocess)
  std::int64_t min_genes = 200;         // filter_cells
  std::int64_t min_cells = 3;           // filter_genes
  std::optional<double> target_sum;     // normalize_total; default median of totals
  double log_base = 10;                 // log1p base
  std::optional<double> max_pct_mito;   // drop cells above this mitochondrial %
  std::string mito_prefix = "MT-";
  std::int64_t block_rows = 4096;       // rows read per block

  nlohmann::json to_json() const;
};

// Per-cell QC metrics over the input counts (all genes), as
// sc.pp.calculate_qc_metrics names them.
struct CellQc {
  std::int32_t n_genes_by_counts = 0;
  double total_counts = 0;
  double pct_counts_mt = 0;
};

struct PreprocessPlan {
  PreprocessOptions options;
  std::int64_t n_cells_in = 0, n_genes_in = 0;
  std::vector<std::int64_t> kept_cells;      // source row of each kept cell
  std::vector<std::int64_t> kept_genes;      // source column of each kept gene
  std::vector<std::int32_t> gene_position;   // per source column: kept index or -1
  std::vector<std::int64_t> gene_n_cells;    // per kept gene: kept cells with value > 0
  std::vector<double> cell_totals;           // per kept cell: total over kept genes
  std::vector<CellQc> cell_qc;               // per kept cell
  double target_sum = 0;                     // normalize_total target (0 without preprocessing)
  std::int64_t cells_below_min_genes = 0, cells_above_mito = 0, genes_below_min_cells = 0;
  std::int64_t nnz_kept = 0;                 // nonzero entries of kept cells x kept genes
  bool integer_valued = true;

  // Normalised value of a raw entry of kept cell k.
  double normalise(double raw, std::size_t k) const;
  nlohmann::json summary() const;
};

// What a caller may do with the cells while the scan reads them (so that a
// conversion needs one pass over the input). Blocks of rows are split into
// tasks run on the thread pool; begin_block is called before a block's tasks
// (in block order, on the calling thread), kept_row for every cell that
// passes the cell filters (on a worker thread, with its task number), the
// rows of a task in order, with the row's stored entries (n of them,
// n_positive of them above zero).
struct ScanHooks {
  // Task t of the block covers its rows [t * rows_per_task, (t + 1) * rows_per_task).
  std::function<void(const SparseRows& block, std::size_t n_tasks, std::int64_t rows_per_task)> begin_block;
  std::function<void(std::size_t task, std::int64_t row, const std::int32_t* genes, const float* values,
                     std::size_t n, std::size_t n_positive)>
      kept_row;
};

// Reads the matrix once, checks that its
// values are usable (NaN, Inf, negative counts are one-line errors naming the
// cell), and decides which cells and genes stay and how they are scaled.
PreprocessPlan plan_preprocessing(MatrixSource& source, const PreprocessOptions& options, const ScanHooks& hooks = {});

}  // namespace c2s
