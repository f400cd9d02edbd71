// Simulates single-cell RNA-seq UMI counts that look like real PBMC data
// (immune cell types with marker programs, donors, an interferon
// stimulation) and writes them as h5ad, for tests, demos and benchmarks.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/data_frame.hpp"
#include "io/sparse_rows.hpp"

namespace c2s {

struct SimulatorOptions {
  std::int64_t n_cells = 5000;
  std::int64_t n_genes = 20000;      // at least 200
  int n_cell_types = 8;              // named immune types up to 10, then type_11, ...
  int n_donors = 4;                  // obs sample_id, each with a mild effect
  std::uint64_t seed = 0;
  double mean_counts = 6000;         // mean UMIs per cell
  double mean_genes = 0;             // mean detected genes per cell; 0: 9% of n_genes
  double stimulated_fraction = 0.5;  // cells with condition "stim" (interferon response)
};

// The labels of one simulated cell (codes into the Simulator's name lists).
struct SimulatedCell {
  std::int32_t cell_type = 0, donor = 0, condition = 0;
  double n_counts = 0;
};

// The model, drawn once from the seed; cells are then drawn independently,
// each from its own random stream keyed by (seed, cell index), so any block
// of cells comes out the same whatever the thread count or block size.
class Simulator {
 public:
  explicit Simulator(const SimulatorOptions& options);
  ~Simulator();

  const SimulatorOptions& options() const;
  const DataFrame& var() const;  // gene names, gene_ids
  const std::vector<std::string>& cell_type_names() const;
  const std::vector<std::string>& donor_names() const;
  const std::vector<std::string>& condition_names() const;  // ctrl, stim
  // A 10x-style barcode, unique per cell index.
  std::string barcode(std::int64_t cell) const;
  // Counts of cells [begin, end) (gene indices ascending within a cell),
  // generated in parallel on the global thread pool.
  void generate(std::int64_t begin, std::int64_t end, SparseRows& rows, std::vector<SimulatedCell>& cells) const;

 private:
  struct Model;
  std::unique_ptr<Model> model_;
};

// Streams a whole simulated data set into an h5ad file: X raw counts (CSR,
// float32), obs cell_type / sample_id / condition (categorical) and n_counts,
// var gene names with gene_ids. Memory stays bounded by one block of cells.
void simulate_h5ad(const SimulatorOptions& options, const std::string& out_path);

}  // namespace c2s
