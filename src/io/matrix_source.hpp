// A cells x genes matrix that can be read in blocks of rows, with its obs and
// var tables: the single interface the data layer reads every input through
// (h5ad, 10x matrix-market, 10x HDF5, CSV/TSV).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "io/data_frame.hpp"
#include "io/sparse_rows.hpp"

namespace c2s {

class MatrixSource {
 public:
  virtual ~MatrixSource() = default;
  virtual std::int64_t n_rows() const = 0;  // cells
  virtual std::int64_t n_cols() const = 0;  // genes
  virtual const DataFrame& obs() const = 0;  // n_rows() rows
  virtual const DataFrame& var() const = 0;  // n_cols() rows
  // Rows [begin, end) into `out` (cleared first); within a row, entries are
  // in no particular order; explicit zeros may be present.
  virtual void read_rows(std::int64_t begin, std::int64_t end, SparseRows& out) = 0;
  // A path or description naming the data, for messages and provenance.
  virtual std::string description() const = 0;
};

// Which matrix of an h5ad file to read.
struct MatrixChoice {
  std::string layer;  // layers/<layer> when non-empty
  bool raw = false;   // raw/X (with raw/var) instead of X
};

// Options for inputs that are not self-describing.
struct InputOptions {
  MatrixChoice matrix;
  bool genes_in_rows = false;  // CSV/TSV: rows are genes, columns are cells
};

// Opens any supported input by looking at the path: a folder (10x matrix
// market), *.h5ad, a 10x *.h5, *.csv/*.tsv/*.txt (optionally .gz).
std::unique_ptr<MatrixSource> open_matrix(const std::string& path, const InputOptions& options = {});
// Whether `path` names a format open_matrix reads (by its name alone; a
// sentence store is none of them).
bool is_matrix_input(const std::string& path);

}  // namespace c2s
