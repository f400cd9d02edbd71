// Writes AnnData .h5ad files that Python anndata (>= 0.8) reads unchanged:
// X as csr_matrix (float32), streamed row block by row block; obs/var
// dataframes (string, numeric, boolean, categorical columns); obsm dense
// float32 matrices; uns scalars. The file appears only on commit().
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "io/data_frame.hpp"
#include "io/sparse_rows.hpp"

namespace c2s {

using UnsScalar = std::variant<std::string, double, std::int64_t, bool>;

class AnnDataWriter {
 public:
  // Starts writing `path` (via a temporary beside it) for a matrix of n_cols genes.
  AnnDataWriter(const std::string& path, std::int64_t n_cols);
  ~AnnDataWriter();  // without commit(): the temporary is removed

  // Appends rows to X; blocks arrive in row order, built in indices/values.
  void append_rows(const SparseRows& rows);
  std::int64_t rows_written() const;
  void set_obs(const DataFrame& obs);  // index size must equal rows written at commit
  void set_var(const DataFrame& var);  // index size must equal n_cols
  // A dense row-major n_obs x n_dims float32 matrix under obsm/<key>.
  void add_obsm(const std::string& key, const std::vector<float>& values, std::int64_t n_dims);
  void add_uns(const std::string& key, const UnsScalar& value);
  // Checks shapes, finishes the file and renames it into place.
  void commit();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// What a model command adds to a user's h5ad: obs columns and obsm matrices
// (dense row-major float32, one row per cell).
struct ObsmMatrix {
  std::string key;
  std::vector<float> values;
  std::int64_t n_dims = 0;
};
struct AnnDataAdditions {
  std::vector<Column> obs_columns;
  std::vector<ObsmMatrix> obsm;
};

// Writes `out_path` as a copy of the h5ad `in_path` (anndata >= 0.7 layout:
// obs a dataframe group) with the additions, replacing any obs column or
// obsm entry of the same name; every other part of the file is kept as it
// is. The copy appears only when complete. Errors: rows that do not match
// obs, the legacy layout, an unreadable input.
void copy_anndata_with(const std::string& in_path, const std::string& out_path, const AnnDataAdditions& additions);

}  // namespace c2s
