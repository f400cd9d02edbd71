// Reads a dense matrix from CSV/TSV/TXT (optionally gzipped): a header row
// of column names, then one row per line led by its name.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/in_memory_matrix.hpp"

namespace c2s {

class DelimitedMatrix : public InMemoryMatrix {
 public:
  // The delimiter follows the extension (.csv comma, .tsv tab; .txt tab,
  // else comma, else blanks, as the header shows). With genes_in_rows, the
  // file's rows are genes and its columns cells, and the matrix is
  // transposed. The header may name the first column or leave it out (as R's
  // write.table does). Only nonzero values are kept, as CSR over cells.
  DelimitedMatrix(const std::string& path, bool genes_in_rows);
};

}  // namespace c2s
