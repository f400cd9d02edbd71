// Reads AnnData .h5ad files: X (dense, csr_matrix or csc_matrix; float32/64,
// int32/64 data; int32/64 indices), raw/X or layers/<name>, obs/var
// dataframes (string, numeric, boolean, categorical columns), and the legacy
// pre-0.7 layout (compound obs/var, uns/<col>_categories, raw.X).
#pragma once
#include <memory>
#include <string>

#include "io/matrix_source.hpp"

namespace c2s {

class AnnDataReader : public MatrixSource {
 public:
  enum class Layout { Dense, Csr, Csc };

  explicit AnnDataReader(const std::string& path, const MatrixChoice& choice = {});
  ~AnnDataReader() override;

  std::int64_t n_rows() const override;
  std::int64_t n_cols() const override;
  const DataFrame& obs() const override;
  const DataFrame& var() const override;  // raw/var when reading raw/X
  // Dense and CSR stream from disk block by block; a CSC matrix is converted
  // to CSR in memory on the first call.
  void read_rows(std::int64_t begin, std::int64_t end, SparseRows& out) override;
  std::string description() const override;

  Layout layout() const;
  // Whether CSR entries are used where they lie in the (mapped) file rather
  // than read through HDF5: uncompressed int32 indices and float32 data.
  bool reads_in_place() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace c2s
