// Tests that open_matrix picks the right reader for each kind of path and
// refuses what it cannot read with a clear message.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "test_support.hpp"
#include "core/error.hpp"
#include "io/anndata_reader.hpp"
#include "io/anndata_writer.hpp"
#include "io/delimited_matrix.hpp"
#include "io/hdf5_file.hpp"
#include "io/matrix_source.hpp"
#include "io/tenx_hdf5.hpp"
#include "io/tenx_matrix_market.hpp"

namespace c2s {
namespace {

using testing_support::expect_error;
using testing_support::read_dense;

namespace fs = std::filesystem;

fs::path fresh_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir = fs::path(::testing::TempDir()) / (std::string("c2s_open_") + info->name() + "_" +
                                                    std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void write_text(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

void write_tenx_folder(const fs::path& dir) {
  fs::create_directories(dir);
  write_text(dir / "matrix.mtx", "%%MatrixMarket matrix coordinate integer general\n2 2 1\n1 2 4\n");
  write_text(dir / "features.tsv", "E1\tA\tGene Expression\nE2\tB\tGene Expression\n");
  write_text(dir / "barcodes.tsv", "x-1\ny-1\n");
}

void write_tenx_h5(const std::string& path) {
  h5::Handle file = h5::create_file(path);
  h5::Handle g = h5::create_group(file, "matrix");
  h5::write_vector(g, "data", std::vector<std::int32_t>{4});
  h5::write_vector(g, "indices", std::vector<std::int64_t>{0});
  h5::write_vector(g, "indptr", std::vector<std::int64_t>{0, 0, 1});
  h5::write_vector(g, "shape", std::vector<std::int32_t>{2, 2});
  h5::write_strings(g, "barcodes", {"x-1", "y-1"});
  h5::Handle f = h5::create_group(g, "features");
  h5::write_strings(f, "id", {"E1", "E2"});
  h5::write_strings(f, "name", {"A", "B"});
}

void write_h5ad(const std::string& path) {
  AnnDataWriter w(path, 2);
  SparseRows rows;
  rows.clear(0, 2);
  rows.indices = {1};
  rows.values = {4};
  rows.indptr = {0, 1, 1};
  w.append_rows(rows);
  DataFrame obs, var;
  obs.index = {"x-1", "y-1"};
  var.index = {"A", "B"};
  w.set_obs(obs);
  w.set_var(var);
  w.commit();
}

TEST(OpenMatrix, PicksTenxMatrixMarketForFolderOrMatrixFile) {
  auto dir = fresh_dir() / "filtered_feature_bc_matrix";
  write_tenx_folder(dir);
  auto m = open_matrix(dir.string());
  EXPECT_NE(dynamic_cast<TenxMatrixMarket*>(m.get()), nullptr);
  EXPECT_EQ(m->n_rows(), 2);
  SparseRows rows;
  m->read_rows(0, 2, rows);
  ASSERT_EQ(rows.nnz(), 1);
  EXPECT_EQ(rows.indptr, (std::vector<std::int64_t>{0, 0, 1}));  // entry "1 2 4": gene 1 of cell 2
  EXPECT_EQ(rows.row_indices(1)[0], 0);
  EXPECT_NE(dynamic_cast<TenxMatrixMarket*>(open_matrix((dir / "matrix.mtx").string()).get()), nullptr);
}

TEST(OpenMatrix, PicksTenxHdf5ForH5) {
  auto path = (fresh_dir() / "filtered_feature_bc_matrix.h5").string();
  write_tenx_h5(path);
  auto m = open_matrix(path);
  EXPECT_NE(dynamic_cast<TenxHdf5*>(m.get()), nullptr);
  EXPECT_EQ(m->var().index, (std::vector<std::string>{"A", "B"}));
}

TEST(OpenMatrix, PicksAnnDataReaderForH5adAndAnnDataSavedAsH5) {
  auto dir = fresh_dir();
  write_h5ad((dir / "cells.h5ad").string());
  auto m = open_matrix((dir / "cells.h5ad").string());
  EXPECT_NE(dynamic_cast<AnnDataReader*>(m.get()), nullptr);
  EXPECT_EQ(m->n_rows(), 2);
  fs::copy_file(dir / "cells.h5ad", dir / "cells.h5");
  EXPECT_NE(dynamic_cast<AnnDataReader*>(open_matrix((dir / "cells.h5").string()).get()), nullptr);
}

TEST(OpenMatrix, PicksDelimitedForTextTables) {
  auto dir = fresh_dir();
  for (const char* name : {"m.csv", "m.TSV", "m.txt"}) {
    std::string sep = std::string(name).ends_with(".csv") ? "," : "\t";
    write_text(dir / name, "cell" + sep + "A" + sep + "B\nx" + sep + "0" + sep + "4\n");
    auto m = open_matrix((dir / name).string());
    EXPECT_NE(dynamic_cast<DelimitedMatrix*>(m.get()), nullptr) << name;
    EXPECT_EQ(m->n_cols(), 2) << name;
  }
  InputOptions transposed;
  transposed.genes_in_rows = true;
  auto m = open_matrix((dir / "m.csv").string(), transposed);
  EXPECT_EQ(m->n_rows(), 2);
  EXPECT_EQ(m->var().index, (std::vector<std::string>{"x"}));
}

TEST(OpenMatrix, RejectsUnknownAndMissingPaths) {
  auto dir = fresh_dir();
  write_text(dir / "cells.loom", "x");
  expect_error([&] { open_matrix((dir / "cells.loom").string()); }, "unrecognised input format");
  expect_error([&] { open_matrix((dir / "absent.h5ad").string()); }, "absent.h5ad: no such file");
}

TEST(OpenMatrix, RejectsMatrixChoiceOutsideH5ad) {
  auto dir = fresh_dir();
  write_text(dir / "m.csv", "cell,A\nx,1\n");
  InputOptions options;
  options.matrix.raw = true;
  EXPECT_THROW(open_matrix((dir / "m.csv").string(), options), UsageError);
}

}  // namespace
}  // namespace c2s
