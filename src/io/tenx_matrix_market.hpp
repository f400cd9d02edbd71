// Reads a 10x Genomics matrix-market folder (matrix.mtx, features.tsv or
// genes.tsv, barcodes.tsv, each optionally gzipped) as cells x genes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/in_memory_matrix.hpp"

namespace c2s {

class TenxMatrixMarket : public InMemoryMatrix {
 public:
  // `path` is the folder, or its matrix file; a matrix file named
  // <prefix>matrix.mtx[.gz] (as on GEO) pairs with <prefix>features.tsv[.gz]
  // and <prefix>barcodes.tsv[.gz]. The whole matrix is read here and kept as
  // CSR over cells: 10x writes it genes x cells, so no row can be served
  // before the whole file is read.
  explicit TenxMatrixMarket(const std::string& path);

 private:
  void read_matrix(const std::string& path, const std::vector<std::int32_t>& column_of, std::int64_t n_features);
};

}  // namespace c2s
