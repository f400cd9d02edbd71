// Tests of the 10x HDF5 reader on small files written here with the HDF5 C
// API in the Cell Ranger 3 and 2 layouts (fixed-length strings, int32 data,
// int64 indices, as Cell Ranger writes them), and on broken files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "test_support.hpp"
#include "core/error.hpp"
#include "io/hdf5_file.hpp"
#include "io/tenx_hdf5.hpp"

namespace c2s {
namespace {

using testing_support::expect_error;
using testing_support::read_dense;

namespace fs = std::filesystem;

// 4 cells x 5 genes, as the reader must return it.
const std::vector<std::vector<float>> kCells = {
    {1, 0, 3, 0, 0},
    {0, 0, 0, 0, 0},
    {0, 7, 0, 2, 1},
    {5, 0, 0, 0, 12},
};
const std::vector<std::string> kBarcodes = {"AAAC-1", "AAAG-1", "AAAT-1", "AACA-1"};

std::string temp_file(const std::string& name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return (fs::path(::testing::TempDir()) /
          (std::string("c2s_h5_") + info->name() + "_" + std::to_string(getpid()) + "_" + name))
      .string();
}

void write_fixed_strings(hid_t loc, const std::string& name, const std::vector<std::string>& values) {
  std::size_t width = 1;
  for (const auto& v : values) width = std::max(width, v.size());
  std::string buffer(width * values.size(), '\0');
  for (std::size_t i = 0; i < values.size(); ++i) buffer.replace(i * width, values[i].size(), values[i]);
  h5::Handle type(H5Tcopy(H5T_C_S1));
  H5Tset_size(type, width);
  H5Tset_strpad(type, H5T_STR_NULLPAD);
  h5::write_raw(loc, name, type, type, {std::int64_t(values.size())}, buffer.data());
}

struct Csc {
  std::vector<std::int32_t> data;
  std::vector<std::int64_t> indices, indptr{0};
};

Csc csc_of(const std::vector<std::vector<float>>& cells) {
  Csc m;
  for (const auto& cell : cells) {
    for (std::size_t g = 0; g < cell.size(); ++g)
      if (cell[g] != 0) {
        m.data.push_back(std::int32_t(cell[g]));
        m.indices.push_back(std::int64_t(g));
      }
    m.indptr.push_back(std::int64_t(m.indices.size()));
  }
  return m;
}

void write_matrix(hid_t group, const Csc& m, std::int32_t genes, std::int32_t cells) {
  h5::write_vector(group, "data", m.data, true);
  h5::write_vector(group, "indices", m.indices, true);
  h5::write_vector(group, "indptr", m.indptr, true);
  h5::write_vector(group, "shape", std::vector<std::int32_t>{genes, cells});
  write_fixed_strings(group, "barcodes", kBarcodes);
}

// Cell Ranger >= 3 layout.
void write_v3(const std::string& path, const std::vector<std::string>& types, const Csc& m) {
  h5::Handle file = h5::create_file(path);
  h5::Handle g = h5::create_group(file, "matrix");
  write_matrix(g, m, 5, 4);
  h5::Handle f = h5::create_group(g, "features");
  write_fixed_strings(f, "id", {"ENSG01", "ENSG02", "ENSG03", "ENSG04", "ENSG05"});
  write_fixed_strings(f, "name", {"CD3E", "CD14", "MS4A1", "NKG7", "CD3E"});
  write_fixed_strings(f, "feature_type", types);
  write_fixed_strings(f, "genome", std::vector<std::string>(5, "GRCh38"));
  write_fixed_strings(f, "_all_tag_keys", {"genome"});
}

const std::vector<std::string> kAllGex(5, "Gene Expression");

TEST(TenxHdf5, ReadsCellRanger3Layout) {
  auto path = temp_file("v3.h5");
  write_v3(path, kAllGex, csc_of(kCells));
  TenxHdf5 m(path);
  EXPECT_EQ(m.n_rows(), 4);
  EXPECT_EQ(m.n_cols(), 5);
  EXPECT_EQ(m.obs().index, kBarcodes);
  // Duplicated symbols are made unique, as scanpy's readers do by default.
  EXPECT_EQ(m.var().index, (std::vector<std::string>{"CD3E", "CD14", "MS4A1", "NKG7", "CD3E-1"}));
  ASSERT_NE(m.var().find("gene_ids"), nullptr);
  EXPECT_EQ(m.var().find("gene_ids")->strings[4], "ENSG05");
  ASSERT_NE(m.var().find("feature_types"), nullptr);
  ASSERT_NE(m.var().find("genome"), nullptr);
  EXPECT_EQ(m.var().find("genome")->strings[0], "GRCh38");
  EXPECT_EQ(read_dense(m, 100), kCells);
  EXPECT_EQ(read_dense(m, 1), kCells);
  EXPECT_EQ(read_dense(m, 3), kCells);
  SparseRows rows;
  m.read_rows(1, 2, rows);  // an empty cell
  EXPECT_EQ(rows.nnz(), 0);
  m.read_rows(4, 4, rows);
  EXPECT_EQ(rows.n_rows(), 0);
}

TEST(TenxHdf5, ReadsCellRanger2Layout) {
  auto path = temp_file("v2.h5");
  {
    h5::Handle file = h5::create_file(path);
    h5::Handle g = h5::create_group(file, "GRCh38");
    write_matrix(g, csc_of(kCells), 5, 4);
    write_fixed_strings(g, "genes", {"ENSG01", "ENSG02", "ENSG03", "ENSG04", "ENSG05"});
    write_fixed_strings(g, "gene_names", {"CD3E", "CD14", "MS4A1", "NKG7", "PPBP"});
  }
  TenxHdf5 m(path);
  EXPECT_EQ(m.var().index[4], "PPBP");
  EXPECT_EQ(m.var().find("gene_ids")->strings[1], "ENSG02");
  EXPECT_EQ(m.var().find("feature_types"), nullptr);
  EXPECT_EQ(read_dense(m, 2), kCells);
}

TEST(TenxHdf5, KeepsOnlyGeneExpressionFeatures) {
  auto path = temp_file("cite.h5");
  write_v3(path, {"Gene Expression", "Antibody Capture", "Gene Expression", "Gene Expression", "Antibody Capture"},
           csc_of(kCells));
  TenxHdf5 m(path);
  EXPECT_EQ(m.n_cols(), 3);
  EXPECT_EQ(m.var().index, (std::vector<std::string>{"CD3E", "MS4A1", "NKG7"}));
  auto d = read_dense(m, 3);
  for (std::size_t c = 0; c < kCells.size(); ++c)
    EXPECT_EQ(d[c], (std::vector<float>{kCells[c][0], kCells[c][2], kCells[c][3]}));
}

TEST(TenxHdf5, LooksLikeTenxOnlyForTenxFiles) {
  auto tenx = temp_file("v3.h5"), other = temp_file("other.h5");
  write_v3(tenx, kAllGex, csc_of(kCells));
  { h5::Handle file = h5::create_file(other); }
  EXPECT_TRUE(TenxHdf5::looks_like_tenx(h5::open_file(tenx)));
  EXPECT_FALSE(TenxHdf5::looks_like_tenx(h5::open_file(other)));
  expect_error([&] { TenxHdf5 m(other); }, "not a 10x HDF5 matrix");
}

TEST(TenxHdf5, RejectsSeveralGenomes) {
  auto path = temp_file("two.h5");
  {
    h5::Handle file = h5::create_file(path);
    for (const char* genome : {"hg19", "mm10"}) {
      h5::Handle g = h5::create_group(file, genome);
      write_matrix(g, csc_of(kCells), 5, 4);
      write_fixed_strings(g, "genes", {"E1", "E2", "E3", "E4", "E5"});
    }
  }
  expect_error([&] { TenxHdf5 m(path); }, "several genomes (hg19, mm10)");
}

TEST(TenxHdf5, RejectsInconsistentMatrix) {
  auto path = temp_file("bad.h5");
  Csc m = csc_of(kCells);
  m.indptr.pop_back();
  write_v3(path, kAllGex, m);
  expect_error([&] { TenxHdf5 r(path); }, "matrix/indptr: expected 5 entries");

  m = csc_of(kCells);
  m.indices[2] = 9;
  auto path2 = temp_file("bad_index.h5");
  write_v3(path2, kAllGex, m);
  TenxHdf5 r(path2);
  SparseRows rows;
  r.read_rows(0, 1, rows);
  expect_error([&] { r.read_rows(2, 4, rows); }, "gene index 9 out of range at cell 2");

  m = csc_of(kCells);
  m.indptr[2] = 1;
  m.indptr[1] = 2;
  auto path3 = temp_file("bad_indptr.h5");
  write_v3(path3, kAllGex, m);
  TenxHdf5 bad_ptr(path3);
  expect_error([&] { bad_ptr.read_rows(0, 4, rows); }, "not a valid pointer array at cell 1");
}

TEST(TenxHdf5, RejectsMissingFile) {
  expect_error([&] { TenxHdf5 m(temp_file("absent.h5")); }, "absent.h5");
}

}  // namespace
}  // namespace c2s
