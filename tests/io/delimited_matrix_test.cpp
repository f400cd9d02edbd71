// Tests of the dense CSV/TSV reader: delimiters, gzip, both orientations,
// header styles, and errors that name the line.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "test_support.hpp"
#include "core/error.hpp"
#include "io/delimited_matrix.hpp"

namespace c2s {
namespace {

using testing_support::expect_error;
using testing_support::read_dense;

namespace fs = std::filesystem;

// 3 cells x 4 genes.
const std::vector<std::vector<float>> kCells = {
    {0, 2, 0, 1.5},
    {3, 0, 0, 0},
    {0, 0, 0, 0},
};

std::string temp_file(const std::string& name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return (fs::path(::testing::TempDir()) /
          (std::string("c2s_delim_") + info->name() + "_" + std::to_string(getpid()) + "_" + name))
      .string();
}

std::string write_file(const std::string& name, const std::string& text) {
  std::string path = temp_file(name);
  if (path.ends_with(".gz")) {
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, text.data(), unsigned(text.size()));
    gzclose(f);
  } else {
    std::ofstream(path, std::ios::binary) << text;
  }
  return path;
}

const std::vector<std::string> kCellNames = {"c1", "c2", "c3"};
const std::vector<std::string> kGeneNames = {"CD3E", "CD14", "MS4A1", "NKG7"};

TEST(DelimitedMatrix, ReadsCsvWithCellsInRows) {
  auto path = write_file("m.csv", "cell,CD3E,CD14,MS4A1,NKG7\nc1,0,2,0,1.5\nc2,3,0,0,0\nc3,0,0,0,0\n");
  DelimitedMatrix m(path, false);
  EXPECT_EQ(m.obs().index, kCellNames);
  EXPECT_EQ(m.var().index, kGeneNames);
  EXPECT_EQ(read_dense(m, 2), kCells);
}

TEST(DelimitedMatrix, ReadsGzippedTsvWithGenesInRows) {
  auto path = write_file("m.tsv.gz", "gene\tc1\tc2\tc3\nCD3E\t0\t3\t0\nCD14\t2\t0\t0\nMS4A1\t0\t0\t0\nNKG7\t1.5\t0\t0\n");
  DelimitedMatrix m(path, true);
  EXPECT_EQ(m.obs().index, kCellNames);
  EXPECT_EQ(m.var().index, kGeneNames);
  EXPECT_EQ(read_dense(m, 2), kCells);
}

TEST(DelimitedMatrix, ReadsRStyleHeaderQuotesAndCrlf) {
  auto path = write_file("m.csv", "\"CD3E\",\"CD14\",\"MS4A1\",\"NKG7\"\r\n\"c1\",0,2,0,1.5e0\r\n\"c2\",3,0,0,0\r\n\"c3\",0,0,0,0\r\n");
  DelimitedMatrix m(path, false);
  EXPECT_EQ(m.obs().index, kCellNames);
  EXPECT_EQ(m.var().index, kGeneNames);
  EXPECT_EQ(read_dense(m, 2), kCells);
}

TEST(DelimitedMatrix, DetectsTxtDelimiterFromHeader) {
  auto tab = write_file("m.txt", "x\tCD3E\tCD14\tMS4A1\tNKG7\nc1\t0\t2\t0\t1.5\nc2\t3\t0\t0\t0\nc3\t0\t0\t0\t0\n");
  DelimitedMatrix t(tab, false);
  EXPECT_EQ(read_dense(t, 2), kCells);
  auto blanks = write_file("b.txt.gz", "CD3E  CD14 MS4A1 NKG7\nc1 0 2  0 1.5\nc2 3 0 0 0\nc3 0 0 0 0\n");
  DelimitedMatrix b(blanks, false);
  EXPECT_EQ(b.var().index, kGeneNames);
  EXPECT_EQ(read_dense(b, 2), kCells);
}

TEST(DelimitedMatrix, RejectsRaggedRowsWithLineNumber) {
  auto path = write_file("m.csv", "cell,A,B\nc1,1,2\nc2,1\n");
  expect_error([&] { DelimitedMatrix m(path, false); }, "m.csv:3: has 2 fields, expected 3");
  auto header = write_file("h.csv", "cell,A,B\nc1,1,2,3,4\n");
  expect_error([&] { DelimitedMatrix m(header, false); }, "h.csv:2: has 5 fields but the header has 3");
}

TEST(DelimitedMatrix, RejectsNonNumericValues) {
  auto path = write_file("m.tsv", "cell\tA\tB\nc1\t1\t2\nc2\t1\tNA\n");
  expect_error([&] { DelimitedMatrix m(path, false); }, "m.tsv:3: column 3 ('B'): not a finite number: 'NA'");
  auto empty = write_file("e.csv", "cell,A,B\nc1,,2\n");
  expect_error([&] { DelimitedMatrix m(empty, false); }, "e.csv:2: column 2 ('A'): not a finite number: ''");
}

TEST(DelimitedMatrix, RejectsEmptyInputs) {
  auto empty = write_file("e.csv", "");
  expect_error([&] { DelimitedMatrix m(empty, false); }, "empty file");
  auto header_only = write_file("h.csv", "cell,A,B\n");
  expect_error([&] { DelimitedMatrix m(header_only, false); }, "no data rows");
}

}  // namespace
}  // namespace c2s
