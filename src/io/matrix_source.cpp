// open_matrix: picks the reader for a path from what the path is (folder or
// file extension).
#include "io/matrix_source.hpp"

#include <cctype>
#include <filesystem>

#include "core/error.hpp"
#include "io/anndata_reader.hpp"
#include "io/delimited_matrix.hpp"
#include "io/hdf5_file.hpp"
#include "io/tenx_hdf5.hpp"
#include "io/tenx_matrix_market.hpp"

namespace c2s {

namespace fs = std::filesystem;

namespace {

enum class MatrixFormat { TenxMatrixMarket, H5ad, H5, Delimited, Unknown };

// The format a path names, by its name (a folder: 10x matrix market).
MatrixFormat matrix_format(const std::string& path) {
  std::error_code ec;
  std::string name = fs::path(path).filename().string();
  for (auto& c : name) c = char(std::tolower(static_cast<unsigned char>(c)));
  if (fs::is_directory(path, ec) || name.ends_with("matrix.mtx") || name.ends_with("matrix.mtx.gz"))
    return MatrixFormat::TenxMatrixMarket;
  if (name.ends_with(".h5ad")) return MatrixFormat::H5ad;
  if (name.ends_with(".h5")) return MatrixFormat::H5;
  std::string plain = name.ends_with(".gz") ? name.substr(0, name.size() - 3) : name;
  if (plain.ends_with(".csv") || plain.ends_with(".tsv") || plain.ends_with(".txt")) return MatrixFormat::Delimited;
  return MatrixFormat::Unknown;
}

}  // namespace

bool is_matrix_input(const std::string& path) { return matrix_format(path) != MatrixFormat::Unknown; }

std::unique_ptr<MatrixSource> open_matrix(const std::string& path, const InputOptions& options) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(path, "no such file or folder");
  const MatrixFormat format = matrix_format(path);
  if (format != MatrixFormat::H5ad && (!options.matrix.layer.empty() || options.matrix.raw))
    throw UsageError(path, "a layer or raw matrix can only be chosen in an .h5ad input");
  switch (format) {
    case MatrixFormat::TenxMatrixMarket: return std::make_unique<TenxMatrixMarket>(path);
    case MatrixFormat::H5ad: return std::make_unique<AnnDataReader>(path, options.matrix);
    case MatrixFormat::H5: {
      // Some tools save AnnData as .h5; read it as what it is.
      h5::silence_library_errors();
      bool anndata = false;
      {
        h5::Handle file = h5::open_file(path);
        anndata = !TenxHdf5::looks_like_tenx(file) && h5::exists(file, "X") && h5::exists(file, "obs");
      }
      if (anndata) return std::make_unique<AnnDataReader>(path, options.matrix);
      return std::make_unique<TenxHdf5>(path);
    }
    case MatrixFormat::Delimited: return std::make_unique<DelimitedMatrix>(path, options.genes_in_rows);
    case MatrixFormat::Unknown: break;
  }
  throw Error(path, "unrecognised input format (expected a 10x folder, .h5ad, .h5, or .csv/.tsv/.txt[.gz])");
}

}  // namespace c2s
