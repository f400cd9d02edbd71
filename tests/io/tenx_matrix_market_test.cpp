// Tests of the 10x matrix-market folder reader on small folders written here,
// plain and gzipped, in both Cell Ranger layouts, and on broken inputs.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include "test_support.hpp"
#include "core/error.hpp"
#include "io/tenx_matrix_market.hpp"

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

fs::path fresh_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir = fs::path(::testing::TempDir()) /
                 (std::string("c2s_mtx_") + info->name() + "_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void write_file(const fs::path& path, const std::string& text) {
  if (path.extension() == ".gz") {
    gzFile f = gzopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(gzwrite(f, text.data(), unsigned(text.size())), int(text.size()));
    gzclose(f);
  } else {
    std::ofstream(path, std::ios::binary) << text;
  }
}

// The matrix as 10x writes it: genes x cells, 1-based, ordered by cell
// unless `shuffle`.
std::string mtx_text(bool shuffle, const std::string& field = "integer") {
  std::vector<std::string> entries;
  for (std::size_t c = 0; c < kCells.size(); ++c)
    for (std::size_t g = 0; g < kCells[c].size(); ++g)
      if (kCells[c][g] != 0)
        entries.push_back(std::to_string(g + 1) + " " + std::to_string(c + 1) + " " +
                          (field == "real" ? std::to_string(kCells[c][g]) : std::to_string(int(kCells[c][g]))));
  if (shuffle) std::shuffle(entries.begin(), entries.end(), std::mt19937(7));
  std::string s = "%%MatrixMarket matrix coordinate " + field + " general\n%metadata_json: {}\n5 4 " +
                  std::to_string(entries.size()) + "\n";
  for (const auto& e : entries) s += e + "\n";
  return s;
}

const char* kFeatures =
    "ENSG01\tCD3E\tGene Expression\nENSG02\tCD14\tGene Expression\nENSG03\tMS4A1\tGene Expression\n"
    "ENSG04\tNKG7\tGene Expression\nENSG05\tPPBP\tGene Expression\n";
const char* kBarcodes = "AAAC-1\nAAAG-1\nAAAT-1\nAACA-1\n";

void write_folder(const fs::path& dir, bool gz, bool shuffle = false) {
  std::string z = gz ? ".gz" : "";
  write_file(dir / ("matrix.mtx" + z), mtx_text(shuffle));
  write_file(dir / ("features.tsv" + z), kFeatures);
  write_file(dir / ("barcodes.tsv" + z), kBarcodes);
}

TEST(TenxMatrixMarket, ReadsPlainV3Folder) {
  auto dir = fresh_dir();
  write_folder(dir, false);
  TenxMatrixMarket m(dir.string());
  EXPECT_EQ(m.n_rows(), 4);
  EXPECT_EQ(m.n_cols(), 5);
  EXPECT_EQ(m.obs().index, (std::vector<std::string>{"AAAC-1", "AAAG-1", "AAAT-1", "AACA-1"}));
  EXPECT_EQ(m.var().index, (std::vector<std::string>{"CD3E", "CD14", "MS4A1", "NKG7", "PPBP"}));
  ASSERT_NE(m.var().find("gene_ids"), nullptr);
  EXPECT_EQ(m.var().find("gene_ids")->strings[2], "ENSG03");
  ASSERT_NE(m.var().find("feature_types"), nullptr);
  EXPECT_EQ(m.var().find("feature_types")->strings[0], "Gene Expression");
  EXPECT_EQ(read_dense(m, 100), kCells);
  EXPECT_EQ(read_dense(m, 1), kCells);
  EXPECT_EQ(read_dense(m, 3), kCells);
}

TEST(TenxMatrixMarket, ReadsGzippedFolderWithUnorderedEntries) {
  auto dir = fresh_dir();
  write_folder(dir, true, true);
  TenxMatrixMarket m(dir.string());
  EXPECT_EQ(m.var().index[1], "CD14");
  EXPECT_EQ(m.obs().index[3], "AACA-1");
  EXPECT_EQ(read_dense(m, 2), kCells);
}

TEST(TenxMatrixMarket, ReadsRealAndPatternFields) {
  auto dir = fresh_dir();
  write_folder(dir, false);
  write_file(dir / "matrix.mtx", mtx_text(true, "real"));
  TenxMatrixMarket real(dir.string());
  EXPECT_EQ(read_dense(real, 4), kCells);

  write_file(dir / "matrix.mtx", "%%MatrixMarket matrix coordinate pattern general\n5 4 2\n1 1\n5 4\n");
  TenxMatrixMarket pattern(dir.string());
  auto d = read_dense(pattern, 4);
  EXPECT_EQ(d[0][0], 1);
  EXPECT_EQ(d[3][4], 1);
  EXPECT_EQ(d[2][1], 0);
}

TEST(TenxMatrixMarket, ReadsCellRanger2GenesFile) {
  auto dir = fresh_dir();
  write_file(dir / "matrix.mtx", mtx_text(false));
  write_file(dir / "genes.tsv", "ENSG01\tCD3E\nENSG02\tCD14\nENSG03\tMS4A1\nENSG04\tNKG7\nENSG05\tPPBP\n");
  write_file(dir / "barcodes.tsv", kBarcodes);
  TenxMatrixMarket m(dir.string());
  EXPECT_EQ(m.var().index[4], "PPBP");
  EXPECT_NE(m.var().find("gene_ids"), nullptr);
  EXPECT_EQ(m.var().find("feature_types"), nullptr);
  EXPECT_EQ(read_dense(m, 4), kCells);
}

TEST(TenxMatrixMarket, MakesGeneNamesUniqueLikeAnndata) {
  auto dir = fresh_dir();
  write_folder(dir, false);
  write_file(dir / "features.tsv",
             "E1\tTBCE\tGene Expression\nE2\tTBCE\tGene Expression\nE3\tTBCE-1\tGene Expression\n"
             "E4\tTBCE\tGene Expression\nE5\tPPBP\tGene Expression\n");
  TenxMatrixMarket m(dir.string());
  EXPECT_EQ(m.var().index, (std::vector<std::string>{"TBCE", "TBCE-2", "TBCE-1", "TBCE-3", "PPBP"}));
}

TEST(TenxMatrixMarket, KeepsOnlyGeneExpressionFeatures) {
  auto dir = fresh_dir();
  write_folder(dir, false);
  write_file(dir / "features.tsv",
             "E1\tCD3E\tGene Expression\nAB1\tCD3_TotalSeqB\tAntibody Capture\nE3\tMS4A1\tGene Expression\n"
             "E4\tNKG7\tGene Expression\nE5\tPPBP\tGene Expression\n");
  TenxMatrixMarket m(dir.string());
  EXPECT_EQ(m.n_cols(), 4);
  EXPECT_EQ(m.var().index, (std::vector<std::string>{"CD3E", "MS4A1", "NKG7", "PPBP"}));
  auto d = read_dense(m, 4);
  for (std::size_t c = 0; c < kCells.size(); ++c)
    EXPECT_EQ(d[c], (std::vector<float>{kCells[c][0], kCells[c][2], kCells[c][3], kCells[c][4]}));
}

TEST(TenxMatrixMarket, AcceptsPrefixedMatrixFile) {
  auto dir = fresh_dir();
  write_file(dir / "GSM1_matrix.mtx.gz", mtx_text(false));
  write_file(dir / "GSM1_features.tsv.gz", kFeatures);
  write_file(dir / "GSM1_barcodes.tsv.gz", kBarcodes);
  TenxMatrixMarket m((dir / "GSM1_matrix.mtx.gz").string());
  EXPECT_EQ(read_dense(m, 4), kCells);
}

TEST(TenxMatrixMarket, RejectsBadHeader) {
  auto dir = fresh_dir();
  write_folder(dir, false);
  write_file(dir / "matrix.mtx", "%%MatrixMarket matrix array integer general\n5 4\n");
  expect_error([&] { TenxMatrixMarket m(dir.string()); }, "matrix.mtx:1: not a MatrixMarket coordinate header");
  write_file(dir / "matrix.mtx", "%%MatrixMarket matrix coordinate integer symmetric\n5 4 0\n");
  expect_error([&] { TenxMatrixMarket m(dir.string()); }, "matrix.mtx:1: unsupported MatrixMarket symmetry");
  write_file(dir / "matrix.mtx", "%%MatrixMarket matrix coordinate integer general\n5 four 1\n");
  expect_error([&] { TenxMatrixMarket m(dir.string()); }, "matrix.mtx:2: expected '<rows> <columns> <entries>'");
}

TEST(TenxMatrixMarket, RejectsEntriesOutOfRangeWithLineNumber) {
  auto dir = fresh_dir();
  write_folder(dir, false);
  write_file(dir / "matrix.mtx", "%%MatrixMarket matrix coordinate integer general\n%c\n5 4 2\n1 1 3\n6 1 2\n");
  expect_error([&] { TenxMatrixMarket m(dir.string()); }, "matrix.mtx:5: row 6 out of range 1..5");
  write_file(dir / "matrix.mtx", "%%MatrixMarket matrix coordinate integer general\n5 4 2\n1 0 3\n1 1 2\n");
  expect_error([&] { TenxMatrixMarket m(dir.string()); }, "matrix.mtx:3: column 0 out of range 1..4");
  write_file(dir / "matrix.mtx", "%%MatrixMarket matrix coordinate integer general\n5 4 2\n1 1 3.5\n1 2 2\n");
  expect_error([&] { TenxMatrixMarket m(dir.string()); }, "matrix.mtx:3: value '3.5' is not an integer");
  write_file(dir / "matrix.mtx", "%%MatrixMarket matrix coordinate integer general\n5 4 2\n1 1\n1 2 2\n");
  expect_error([&] { TenxMatrixMarket m(dir.string()); }, "matrix.mtx:3: expected '<row> <column> <value>'");
}

TEST(TenxMatrixMarket, RejectsEntryCountMismatch) {
  auto dir = fresh_dir();
  write_folder(dir, false);
  write_file(dir / "matrix.mtx", "%%MatrixMarket matrix coordinate integer general\n5 4 3\n1 1 3\n1 2 2\n");
  expect_error([&] { TenxMatrixMarket m(dir.string()); }, "declares 3 entries but the file has 2");
  write_file(dir / "matrix.mtx", "%%MatrixMarket matrix coordinate integer general\n5 4 1\n1 1 3\n1 2 2\n");
  expect_error([&] { TenxMatrixMarket m(dir.string()); }, "matrix.mtx:4: more entries than the 1");
}

TEST(TenxMatrixMarket, RejectsTableSizeMismatch) {
  auto dir = fresh_dir();
  write_folder(dir, false);
  write_file(dir / "barcodes.tsv", "A\nB\nC\n");
  expect_error([&] { TenxMatrixMarket m(dir.string()); }, "4 columns but the barcode file lists 3 barcodes");
  write_folder(dir, false);
  write_file(dir / "features.tsv", "E1\tA\tGene Expression\n");
  expect_error([&] { TenxMatrixMarket m(dir.string()); }, "5 rows but the feature file lists 1 features");
}

TEST(TenxMatrixMarket, RejectsMissingFiles) {
  auto dir = fresh_dir();
  expect_error([&] { TenxMatrixMarket m(dir.string()); }, "not a 10x matrix-market folder");
  write_file(dir / "matrix.mtx", mtx_text(false));
  expect_error([&] { TenxMatrixMarket m(dir.string()); }, "no features.tsv[.gz] or genes.tsv[.gz]");
  write_file(dir / "features.tsv", kFeatures);
  expect_error([&] { TenxMatrixMarket m(dir.string()); }, "no barcodes.tsv[.gz]");
  expect_error([&] { TenxMatrixMarket m((dir / "absent").string()); }, "no such file");
}

TEST(TenxMatrixMarket, RejectsTruncatedGzip) {
  auto dir = fresh_dir();
  write_folder(dir, true);
  // Large enough that the cut falls inside the compressed stream.
  std::string body = "%%MatrixMarket matrix coordinate integer general\n5 4 20000\n";
  std::mt19937 gen(1);
  for (int i = 0; i < 20000; ++i)
    body += std::to_string(gen() % 5 + 1) + " " + std::to_string(gen() % 4 + 1) + " " + std::to_string(gen() % 100) + "\n";
  write_file(dir / "matrix.mtx.gz", body);
  auto size = fs::file_size(dir / "matrix.mtx.gz");
  fs::resize_file(dir / "matrix.mtx.gz", size / 2);
  expect_error([&] { TenxMatrixMarket m(dir.string()); }, "matrix.mtx.gz: truncated gzip file");
}

TEST(TenxMatrixMarket, RejectsRowsOutOfRange) {
  auto dir = fresh_dir();
  write_folder(dir, false);
  TenxMatrixMarket m(dir.string());
  SparseRows rows;
  expect_error([&] { m.read_rows(2, 5, rows); }, "out of range");
}

}  // namespace
}  // namespace c2s
