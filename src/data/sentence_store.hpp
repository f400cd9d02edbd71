// The sentence store: cells as ranked gene indices (not strings) with their
// normalised values, the gene vocabulary with cell counts, cell names, obs
// label columns, provenance and the fitted inverse model, in one HDF5 file
// with random access by cell. Format: docs/formats/sentence-store.md.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/inverse_model.hpp"
#include "io/data_frame.hpp"
#include "io/sparse_rows.hpp"

namespace c2s {

// Consecutive cells of a store: cell i's genes are
// genes[offsets[i] .. offsets[i+1]), most expressed first. Their normalised
// values are non-increasing and repeat, so they are held as runs: cell i's
// runs are run_values/run_lengths[run_offsets[i] .. run_offsets[i+1]), each
// value shared by `length` consecutive genes. Conversion builds its blocks
// with 16-bit gene indices when the input has at most 65536 genes (half the
// memory); everything else uses 32-bit ones (CellBlock).
template <class Gene>
struct BasicCellBlock {
  std::vector<std::int64_t> offsets{0};
  BlockVector<Gene> genes;  // resized then filled: no zero-filling
  std::vector<std::int64_t> run_offsets{0};
  BlockVector<float> run_values;
  BlockVector<std::uint32_t> run_lengths;
  std::vector<std::string> names;

  std::size_t size() const { return offsets.size() - 1; }
  void clear() {
    offsets.assign(1, 0);
    genes.clear();
    run_offsets.assign(1, 0);
    run_values.clear();
    run_lengths.clear();
    names.clear();
  }
  // Cell `cell`'s values, one per gene (its runs expanded).
  std::vector<float> values_of(std::size_t cell) const {
    std::vector<float> out;
    for (std::int64_t r = run_offsets[cell]; r < run_offsets[cell + 1]; ++r)
      out.insert(out.end(), run_lengths[std::size_t(r)], run_values[std::size_t(r)]);
    return out;
  }
};
using CellBlock = BasicCellBlock<std::uint32_t>;
using NarrowCellBlock = BasicCellBlock<std::uint16_t>;

struct StoreHeader {
  std::vector<std::string> genes;         // vocabulary, upper-cased, unique
  std::vector<std::int64_t> gene_n_cells; // cells expressing each gene
  std::vector<std::string> source_genes;  // the input's var names (made unique)
  nlohmann::json provenance = nlohmann::json::object();
};

class SentenceStoreWriter {
 public:
  // Starts `path` (a temporary beside it until commit()).
  SentenceStoreWriter(const std::string& path, StoreHeader header);
  ~SentenceStoreWriter();
  void append(const CellBlock& block);
  void append(const NarrowCellBlock& block);
  void set_obs(const DataFrame& obs);  // index must equal the cell names
  void set_inverse_model(const InverseModel& model);
  // Ends the cells and writes the gene and obs tables (commit() does it if
  // not done): the inverse model may be set after this.
  void write_tables();
  void commit();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  template <class Gene>
  void append_block(const BasicCellBlock<Gene>& block);
};

class SentenceStore {
 public:
  explicit SentenceStore(const std::string& path);
  ~SentenceStore();
  SentenceStore(SentenceStore&&) noexcept;

  const std::string& path() const;
  std::int64_t n_cells() const;
  std::int64_t n_genes() const;
  std::int64_t n_entries() const;  // total genes over all cells
  const StoreHeader& header() const;
  const std::vector<std::string>& genes() const { return header().genes; }
  const std::vector<std::string>& cell_names() const;
  const DataFrame& obs() const;
  const std::optional<InverseModel>& inverse_model() const;
  const nlohmann::json& provenance() const { return header().provenance; }

  // Cells [begin, end) (names included).
  void read(std::int64_t begin, std::int64_t end, CellBlock& out) const;
  // Any cells, in the given order.
  void read_cells(const std::vector<std::int64_t>& cells, CellBlock& out) const;
  // A cell's sentence: its genes joined by spaces (top_k > 0: first k only).
  std::string sentence(std::int64_t cell, std::int64_t top_k = 0) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A sentence's text: the names of `genes` (most expressed first) joined by
// single spaces; the one way a cell becomes a string outside the exporters.
std::string sentence_text(std::span<const std::uint32_t> genes, const std::vector<std::string>& vocabulary);

// Rewrite a store with one obs column added or replaced, or with a new
// inverse model (atomically: a modified copy is renamed over the original).
void set_store_obs_column(const std::string& path, const Column& column);
void set_store_inverse_model(const std::string& path, const InverseModel& model);

// One flag per store gene: whether some of `cells` lists it among its first
// `top_k` genes (0: among all its genes), i.e. whether a model trained on
// those cells' sentences has seen it.
std::vector<std::uint8_t> genes_in_sentences(const SentenceStore& store, const std::vector<std::int64_t>& cells,
                                             std::int64_t top_k);

// The fit points (rank, value) of the given cells of a store.
RankRuns store_rank_runs(const SentenceStore& store, const std::vector<std::int64_t>& cells);

}  // namespace c2s
