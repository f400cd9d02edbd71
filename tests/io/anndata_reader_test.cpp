// Golden tests of the h5ad reader on the shared data files, plus small
// hand-built files for rarer encodings and for every error the reader reports.
// Expected figures were computed once with Python (anndata 0.8, numpy, h5py):
//   a = anndata.read_h5ad(path); X = a.X (or a.raw.X, a.layers[k]) densified,
//   cast to float32 then float64; nnz = (X != 0).sum(), X.sum(), abs(X).sum(),
//   (X*X).sum(), X[i, j]; a.obs[col].value_counts(); a.obs_names / a.var_names.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <unistd.h>

#include "test_support.hpp"
#include "core/error.hpp"
#include "io/anndata_reader.hpp"
#include "io/hdf5_file.hpp"

namespace c2s {
namespace {

namespace fs = std::filesystem;

std::string shared(const std::string& name) { return std::string(C2S_SHARED_DIR) + "/data/" + name; }

struct Totals {
  std::int64_t nnz = 0;  // entries != 0
  double sum = 0, abs = 0, sumsq = 0;
};

// Reads the whole matrix in blocks, checking the block invariants on the way.
Totals totals(AnnDataReader& r, std::int64_t block = 97) {
  Totals t;
  SparseRows rows;
  for (std::int64_t b = 0; b < r.n_rows(); b += block) {
    std::int64_t e = std::min(r.n_rows(), b + block);
    r.read_rows(b, e, rows);
    EXPECT_EQ(rows.first_row, b);
    EXPECT_EQ(rows.n_rows(), e - b);
    EXPECT_EQ(rows.n_cols, r.n_cols());
    const testing_support::FlatEntries flat = testing_support::flat_entries(rows);
    EXPECT_EQ(std::int64_t(flat.values.size()), rows.nnz());
    for (std::size_t k = 0; k < flat.values.size(); ++k) {
      double v = flat.values[k];
      if (v != 0) ++t.nnz;
      t.sum += v;
      t.abs += std::fabs(v);
      t.sumsq += v * v;
    }
  }
  return t;
}

void expect_totals(AnnDataReader& r, std::int64_t nnz, double sum, double abs, double sumsq) {
  Totals t = totals(r);
  EXPECT_EQ(t.nnz, nnz);
  EXPECT_NEAR(t.sum, sum, 1e-6 * std::max(1.0, std::fabs(sum)));
  EXPECT_NEAR(t.abs, abs, 1e-6 * std::max(1.0, abs));
  EXPECT_NEAR(t.sumsq, sumsq, 1e-6 * std::max(1.0, sumsq));
}

// Dense copy of rows [b, e), for element checks and comparisons.
std::vector<float> dense_rows(AnnDataReader& r, std::int64_t b, std::int64_t e) {
  SparseRows rows;
  r.read_rows(b, e, rows);
  std::vector<float> out(std::size_t((e - b) * r.n_cols()), 0.0f);
  for (std::int64_t i = 0; i < rows.n_rows(); ++i) {
    auto idx = rows.row_indices(i);
    auto val = rows.row_values(i);
    for (std::size_t k = 0; k < idx.size(); ++k) out[std::size_t(i * r.n_cols() + idx[k])] += val[k];
  }
  return out;
}

float at(AnnDataReader& r, std::int64_t i, std::int64_t j) { return dense_rows(r, i, i + 1)[std::size_t(j)]; }

std::map<std::string, int> value_counts(const Column& c) {
  std::map<std::string, int> out;
  for (std::size_t i = 0; i < c.size(); ++i) ++out[c.text(i)];
  return out;
}

const Column& column(const DataFrame& df, const std::string& name) {
  const Column* c = df.find(name);
  if (!c) throw std::runtime_error("no column " + name);
  return *c;
}

double column_sum(const Column& c) {
  double s = 0;
  for (double v : c.numbers) s += v;
  return s;
}

TEST(AnnDataReader, Kang12kMatrixAndLabels) {
  AnnDataReader r(shared("kang2018_muscat_kang_se_12k.h5ad"));
  EXPECT_EQ(r.layout(), AnnDataReader::Layout::Csr);
  EXPECT_EQ(r.n_rows(), 12261);
  EXPECT_EQ(r.n_cols(), 1287);
  expect_totals(r, 4266127, 15334912, 15334912, 1061082568);
  EXPECT_EQ(at(r, 0, 1), 1.0f);
  EXPECT_EQ(at(r, 3, 7), 4.0f);
  EXPECT_EQ(at(r, 12260, 18), 5.0f);
  EXPECT_EQ(r.obs().index.front(), "AAACATACATTTCC-1");
  EXPECT_EQ(r.obs().index.back(), "TTTGCATGTTCATC-1");
  EXPECT_EQ(r.var().index.front(), "ISG15");
  EXPECT_EQ(r.var().index.back(), "PRMT2");
  const Column& ct = column(r.obs(), "cell_type");
  EXPECT_EQ(ct.kind, Column::Kind::Categorical);
  EXPECT_EQ(ct.categories.size(), 8u);
  std::map<std::string, int> expected{{"CD4 T cells", 5154}, {"CD14+ Monocytes", 2770}, {"B cells", 1306},
                                      {"CD8 T cells", 1082}, {"NK cells", 915},          {"FCGR3A+ Monocytes", 736},
                                      {"Dendritic cells", 203}, {"Megakaryocytes", 95}};
  EXPECT_EQ(value_counts(ct), expected);
  EXPECT_EQ(value_counts(column(r.obs(), "sample_id")).at("1015"), 2738);
  EXPECT_EQ(value_counts(column(r.obs(), "condition")), (std::map<std::string, int>{{"ctrl", 12261}}));
  const Column& tsne1 = column(r.obs(), "tsne1");
  EXPECT_EQ(tsne1.kind, Column::Kind::Numeric);
  EXPECT_DOUBLE_EQ(tsne1.numbers[0], -27.6403728343912);
  EXPECT_NEAR(column_sum(tsne1), -113141.78704871346, 1e-6);
  EXPECT_DOUBLE_EQ(column_sum(column(r.obs(), "n_counts")), 15334912.0);
  const Column& ens = column(r.var(), "ensembl");
  EXPECT_EQ(ens.kind, Column::Kind::String);
  EXPECT_EQ(ens.strings[0], "ENSG00000187608");
  // column-order is kept.
  std::vector<std::string> names;
  for (auto& c : r.obs().columns) names.push_back(c.name);
  EXPECT_EQ(names, (std::vector<std::string>{"cell_type", "sample_id", "tsne1", "tsne2", "n_counts", "condition"}));
}

TEST(AnnDataReader, KangStim2000) {
  AnnDataReader r(shared("kang2018_harmony_ctrl_stim_2000cells.h5ad"));
  EXPECT_EQ(r.n_rows(), 2000);
  EXPECT_EQ(r.n_cols(), 9015);
  expect_totals(r, 1129806, 3081827, 3081827, 179120421);
  EXPECT_EQ(at(r, 1999, 3), 77.0f);
  EXPECT_EQ(at(r, 1, 2), 1.0f);
  EXPECT_EQ(value_counts(column(r.obs(), "condition")), (std::map<std::string, int>{{"ctrl", 1000}, {"stim", 1000}}));
  EXPECT_EQ(r.obs().index[0], "TCGCAAGAGCGATT-1");
  EXPECT_EQ(r.var().index[2], "HES4");
  EXPECT_TRUE(r.var().columns.empty());  // column-order is an empty float64 array in this file
}

TEST(AnnDataReader, Pbmc68kCountsAndLognormLayer) {
  AnnDataReader r(shared("pbmc68k_reduced_counts.h5ad"));
  EXPECT_EQ(r.n_rows(), 700);
  EXPECT_EQ(r.n_cols(), 765);
  expect_totals(r, 174400, 486651, 486651, 6884645);
  EXPECT_EQ(r.obs().index[0], "AAAGCCTGGCTAAC-1");  // index dataset named "index"
  EXPECT_EQ(r.obs().index[699], "TTGAGGTGGAGAGC-8");
  EXPECT_EQ(r.var().index[764], "MT-ND3");
  auto bulk = value_counts(column(r.obs(), "bulk_labels"));
  EXPECT_EQ(bulk.size(), 10u);
  EXPECT_EQ(bulk.at("Dendritic"), 240);
  EXPECT_EQ(bulk.at("CD14+ Monocyte"), 129);
  EXPECT_EQ(value_counts(column(r.obs(), "phase")), (std::map<std::string, int>{{"G1", 501}, {"G2M", 17}, {"S", 182}}));
  EXPECT_EQ(value_counts(column(r.obs(), "louvain")).at("10"), 13);
  EXPECT_DOUBLE_EQ(column_sum(column(r.obs(), "n_genes")), 830061.0);  // int64 widened
  EXPECT_EQ(column(r.obs(), "n_genes").text(0), "1003");

  AnnDataReader layer(shared("pbmc68k_reduced_counts.h5ad"), MatrixChoice{"lognorm", false});
  EXPECT_EQ(layer.n_rows(), 700);
  expect_totals(layer, 174400, 319044.23824107647, 319044.23824107647, 664225.0026634495);
  EXPECT_FLOAT_EQ(at(layer, 1, 2), 1.55f);
  EXPECT_EQ(layer.var().index[0], "HES4");
  EXPECT_NE(layer.description().find("layers/lognorm"), std::string::npos);
}

TEST(AnnDataReader, PbmcSmallDenseCsrCscAgree) {
  AnnDataReader dense(shared("encodings/pbmc-small-x-dense.h5ad"));
  AnnDataReader csr(shared("encodings/pbmc-small-x-csr.h5ad"));
  AnnDataReader csc(shared("encodings/pbmc-small-x-csc.h5ad"));
  EXPECT_EQ(dense.layout(), AnnDataReader::Layout::Dense);
  EXPECT_EQ(csr.layout(), AnnDataReader::Layout::Csr);
  EXPECT_EQ(csc.layout(), AnnDataReader::Layout::Csc);
  for (AnnDataReader* r : {&dense, &csr, &csc}) {
    EXPECT_EQ(r->n_rows(), 80);
    EXPECT_EQ(r->n_cols(), 20);
    expect_totals(*r, 1600, 3.3974647521972656e-06, 1096.4170139431953, 1579.9999930013287);
    EXPECT_FLOAT_EQ(at(*r, 0, 0), -0.19349515438079834f);
    EXPECT_FLOAT_EQ(at(*r, 1, 2), 0.9016132950782776f);
    EXPECT_FLOAT_EQ(at(*r, 79, 19), -0.3258877396583557f);
    EXPECT_FLOAT_EQ(at(*r, 40, 6), -0.3730315864086151f);
    EXPECT_EQ(r->var().index.front(), "IGLL5");
    EXPECT_EQ(r->var().index.back(), "AKR1C3");
    EXPECT_EQ(r->obs().index[10], "AGGTCATGAGTGTC");
    const Column& groups = column(r->obs(), "groups");
    EXPECT_EQ(value_counts(groups), (std::map<std::string, int>{{"g1", 44}, {"g2", 36}}));
    EXPECT_EQ(groups.text(0), "g2");
    EXPECT_DOUBLE_EQ(column_sum(column(r->obs(), "nFeature_RNA")), 4456.0);
    EXPECT_DOUBLE_EQ(column_sum(column(r->var(), "vst.mean")), 35.6375);
  }
  // Element for element the same matrix, read in differently sized blocks.
  auto a = dense_rows(dense, 0, 80), b = dense_rows(csr, 0, 80), c = dense_rows(csc, 0, 80);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, c);
  std::vector<float> pieces;
  for (std::int64_t s = 0; s < 80; s += 13) {
    auto p = dense_rows(csc, s, std::min<std::int64_t>(80, s + 13));
    pieces.insert(pieces.end(), p.begin(), p.end());
  }
  EXPECT_EQ(pieces, a);
}

TEST(AnnDataReader, PbmcSmallRaw) {
  AnnDataReader r(shared("encodings/pbmc-small.h5ad"), MatrixChoice{"", true});
  EXPECT_EQ(r.layout(), AnnDataReader::Layout::Csr);
  EXPECT_EQ(r.n_rows(), 80);
  EXPECT_EQ(r.n_cols(), 230);
  expect_totals(r, 4456, 20440.24468111992, 20440.24468111992, 98642.65625343435);
  EXPECT_FLOAT_EQ(at(r, 0, 1), 4.968820571899414f);
  EXPECT_FLOAT_EQ(at(r, 79, 3), 5.708535194396973f);
  EXPECT_EQ(r.var().index.size(), 230u);  // raw/var, not var
  EXPECT_EQ(r.var().index[0], "MS4A1");
  EXPECT_EQ(r.var().index[100], "CTSB");
  EXPECT_EQ(r.var().index[229], "S100B");
  EXPECT_EQ(r.obs().index[0], "ATGCCAGAACGACT");
  EXPECT_NE(r.description().find("raw/X"), std::string::npos);

  AnnDataReader x(shared("encodings/pbmc-small.h5ad"));
  EXPECT_EQ(x.layout(), AnnDataReader::Layout::Dense);
  EXPECT_EQ(x.n_cols(), 20);
  EXPECT_EQ(x.description(), shared("encodings/pbmc-small.h5ad"));
}

TEST(AnnDataReader, ScaledDenseAndUnsortedRaw) {
  const std::string path = shared("encodings/pbmc68k_reduced_scaled_dense.h5ad");
  AnnDataReader r(path);
  EXPECT_EQ(r.layout(), AnnDataReader::Layout::Dense);
  EXPECT_EQ(r.n_rows(), 700);
  EXPECT_EQ(r.n_cols(), 765);
  // Only the nonzero entries of the dense matrix are emitted.
  expect_totals(r, 535433, -243.681057988666, 354330.74304077006, 536818.210995444);
  SparseRows rows;
  r.read_rows(0, 700, rows);
  EXPECT_EQ(rows.nnz(), 535433);
  EXPECT_FLOAT_EQ(at(r, 0, 0), -0.326f);
  EXPECT_FLOAT_EQ(at(r, 1, 2), 0.795f);
  EXPECT_FLOAT_EQ(at(r, 699, 764), -0.49f);
  const Column& hv = column(r.var(), "highly_variable");
  EXPECT_EQ(hv.kind, Column::Kind::Boolean);
  EXPECT_EQ(std::count(hv.booleans.begin(), hv.booleans.end(), 1), 309);
  EXPECT_EQ(hv.text(0), "True");
  EXPECT_EQ(hv.text(2), "False");

  AnnDataReader raw(path, MatrixChoice{"", true});
  EXPECT_EQ(raw.layout(), AnnDataReader::Layout::Csr);
  expect_totals(raw, 174400, 319044.23824107647, 319044.23824107647, 664225.0026634495);
  // Column indices are stored descending within rows; they come out as stored
  // (h5py: raw/X/indices[:8] and data[:8], row 5 from indptr[5]).
  raw.read_rows(0, 6, rows);
  const testing_support::FlatEntries flat = testing_support::flat_entries(rows);
  std::vector<std::int32_t> first(flat.indices.begin(), flat.indices.begin() + 8);
  EXPECT_EQ(first, (std::vector<std::int32_t>{764, 761, 760, 759, 758, 755, 753, 751}));
  EXPECT_FLOAT_EQ(flat.values[0], 2.177f);
  EXPECT_EQ(rows.indptr[1], 217);
  EXPECT_EQ(rows.indptr[2], 448);
  auto k5 = std::size_t(rows.indptr[5]);
  EXPECT_EQ(flat.indices[k5], 759);
  EXPECT_EQ(flat.indices[k5 + 5], 750);
  EXPECT_FLOAT_EQ(flat.values[k5 + 2], 1.615f);
  EXPECT_EQ(raw.var().index[1], "TNFRSF4");
}

TEST(AnnDataReader, LegacyPre07Layout) {
  const std::string path = shared("encodings/pbmc68k_reduced_legacy_pre07.h5ad");
  AnnDataReader r(path);
  EXPECT_EQ(r.layout(), AnnDataReader::Layout::Dense);
  EXPECT_EQ(r.n_rows(), 700);
  EXPECT_EQ(r.n_cols(), 765);
  expect_totals(r, 535433, -243.681057988666, 354330.74304077006, 536818.210995444);
  EXPECT_EQ(r.obs().index[0], "AAAGCCTGGCTAAC-1");
  EXPECT_EQ(r.obs().index[699], "TTGAGGTGGAGAGC-8");
  EXPECT_EQ(r.var().index[0], "HES4");
  EXPECT_EQ(r.var().index[764], "MT-ND3");
  const Column& bulk = column(r.obs(), "bulk_labels");
  EXPECT_EQ(bulk.kind, Column::Kind::Categorical);
  EXPECT_EQ(bulk.text(0), "CD14+ Monocyte");
  EXPECT_EQ(bulk.text(1), "Dendritic");
  EXPECT_EQ(bulk.text(2), "CD56+ NK");
  EXPECT_EQ(value_counts(bulk).at("Dendritic"), 240);
  EXPECT_EQ(value_counts(column(r.obs(), "louvain")).at("10"), 13);
  EXPECT_EQ(value_counts(column(r.obs(), "phase")), (std::map<std::string, int>{{"G1", 501}, {"G2M", 17}, {"S", 182}}));
  EXPECT_DOUBLE_EQ(column_sum(column(r.obs(), "n_genes")), 830061.0);
  const Column& hv = column(r.var(), "highly_variable");
  EXPECT_EQ(hv.kind, Column::Kind::Boolean);
  EXPECT_EQ(std::count(hv.booleans.begin(), hv.booleans.end(), 1), 309);
  EXPECT_NEAR(column_sum(column(r.var(), "means")), 707.2964477539062, 1e-3);

  AnnDataReader raw(path, MatrixChoice{"", true});
  EXPECT_EQ(raw.layout(), AnnDataReader::Layout::Csr);
  EXPECT_EQ(raw.n_cols(), 765);
  expect_totals(raw, 174400, 319044.23824107647, 319044.23824107647, 664225.0026634495);
  EXPECT_FLOAT_EQ(at(raw, 1, 2), 1.55f);
  EXPECT_EQ(raw.var().index[2], "SSU72");
  EXPECT_NE(raw.description().find("raw.X"), std::string::npos);
}

// ---- hand-built files ------------------------------------------------------

using TempDir = testing_support::ScratchDir;

void set_encoding(hid_t obj, const std::string& type, const std::string& version) {
  h5::write_string_attribute(obj, "encoding-type", type);
  h5::write_string_attribute(obj, "encoding-version", version);
}

void write_frame(hid_t file, const std::string& name, const std::vector<std::string>& index,
                 const std::vector<std::string>& columns = {}) {
  h5::Handle g = h5::create_group(file, name);
  set_encoding(g, "dataframe", "0.2.0");
  h5::write_string_attribute(g, "_index", "_index");
  h5::write_string_array_attribute(g, "column-order", columns);
  h5::write_strings(g, "_index", index);
}

// A 3 x 4 CSR matrix (int64 indices and indptr, int32 data):
//   [1 0 2 0; 0 0 0 0; 0 3 0 4]
struct Csr {
  std::vector<std::int32_t> data{1, 2, 3, 4};
  std::vector<std::int64_t> indices{0, 2, 1, 3};
  std::vector<std::int64_t> indptr{0, 2, 2, 4};
  std::vector<std::int64_t> shape{3, 4};
  std::string encoding = "csr_matrix";
};

h5::Handle write_small(const std::string& path, const Csr& x = {}) {
  h5::Handle f = h5::create_file(path);
  set_encoding(f, "anndata", "0.1.0");
  h5::Handle g = h5::create_group(f, "X");
  set_encoding(g, x.encoding, "0.1.0");
  h5::write_int_array_attribute(g, "shape", x.shape);
  h5::write_vector(g, "data", x.data);
  h5::write_vector(g, "indices", x.indices);
  h5::write_vector(g, "indptr", x.indptr);
  write_frame(f, "obs", {"c0", "c1", "c2"});
  write_frame(f, "var", {"g0", "g1", "g2", "g3"});
  return f;
}

// Uncompressed float32/int32 entries are used in place (memory-mapped); the
// chunks of an appended dataset are not all adjacent in the file, so rows
// that cross a gap are copied. Either way the rows must equal what HDF5
// reads from the same matrix stored compressed.
TEST(AnnDataReader, InPlaceEntriesEqualHdf5Reads) {
  TempDir dir;
  const std::int64_t n_rows = 300, n_cols = 50;
  std::vector<std::int64_t> indptr{0};
  std::vector<std::int32_t> indices;
  std::vector<float> data;
  for (std::int64_t r = 0; r < n_rows; ++r) {
    for (std::int32_t c = 0; c < n_cols; ++c)
      if ((r * 7 + c * 3) % 5 < 2) {
        indices.push_back(c);
        data.push_back(float(r + c + 1));
      }
    indptr.push_back(std::int64_t(indices.size()));
  }
  auto write = [&](const std::string& path, bool compressed) {
    h5::Handle f = h5::create_file(path);
    set_encoding(f, "anndata", "0.1.0");
    h5::Handle g = h5::create_group(f, "X");
    set_encoding(g, "csr_matrix", "0.1.0");
    h5::write_int_array_attribute(g, "shape", {n_rows, n_cols});
    if (compressed) {
      h5::write_vector(g, "data", data, true);
      h5::write_vector(g, "indices", indices, true);
    } else {
      // Appended in turns, 16-element chunks: the two datasets' chunks interleave.
      h5::Appender d(g, "data", H5T_IEEE_F32LE, 16), i(g, "indices", H5T_STD_I32LE, 16);
      for (std::size_t at = 0; at < data.size(); at += 100) {
        std::size_t n = std::min<std::size_t>(100, data.size() - at);
        d.append(data.data() + at, std::int64_t(n));
        i.append(indices.data() + at, std::int64_t(n));
      }
    }
    h5::write_vector(g, "indptr", indptr);
    std::vector<std::string> obs, var;
    for (std::int64_t r = 0; r < n_rows; ++r) obs.push_back("c" + std::to_string(r));
    for (std::int64_t c = 0; c < n_cols; ++c) var.push_back("g" + std::to_string(c));
    write_frame(f, "obs", obs);
    write_frame(f, "var", var);
  };
  write(dir.file("mapped.h5ad"), false);
  write(dir.file("packed.h5ad"), true);
  AnnDataReader mapped(dir.file("mapped.h5ad")), packed(dir.file("packed.h5ad"));
  EXPECT_TRUE(mapped.reads_in_place());
  EXPECT_FALSE(packed.reads_in_place());
  for (std::int64_t block : {1, 7, 64, 300}) {
    SparseRows a, b;
    for (std::int64_t r0 = 0; r0 < n_rows; r0 += block) {
      const std::int64_t r1 = std::min(n_rows, r0 + block);
      mapped.read_rows(r0, r1, a);
      packed.read_rows(r0, r1, b);
      ASSERT_EQ(a.indptr, b.indptr);
      for (std::int64_t r = 0; r < a.n_rows(); ++r) {
        ASSERT_TRUE(std::ranges::equal(a.row_indices(r), b.row_indices(r))) << "row " << r0 + r;
        ASSERT_TRUE(std::ranges::equal(a.row_values(r), b.row_values(r))) << "row " << r0 + r;
      }
    }
    // The whole matrix at once: some rows cross a gap and were copied.
    if (block == n_rows) EXPECT_GT(a.indices.size(), 0u);
  }
  // Reading backwards after pages were given back still sees the data.
  SparseRows again;
  mapped.read_rows(0, 5, again);
  EXPECT_EQ(again.row_values(0)[0], data[0]);
}

TEST(AnnDataReader, Int64IndicesAndIntegerData) {
  TempDir dir;
  std::string path = dir.file("small.h5ad");
  write_small(path);
  AnnDataReader r(path);
  EXPECT_EQ(r.n_rows(), 3);
  EXPECT_EQ(r.n_cols(), 4);
  auto d = dense_rows(r, 0, 3);
  EXPECT_EQ(d, (std::vector<float>{1, 0, 2, 0, 0, 0, 0, 0, 0, 3, 0, 4}));
  SparseRows rows;
  r.read_rows(1, 3, rows);
  EXPECT_EQ(rows.first_row, 1);
  EXPECT_EQ(rows.indptr, (std::vector<std::int64_t>{0, 0, 2}));
  r.read_rows(2, 2, rows);
  EXPECT_EQ(rows.n_rows(), 0);
  EXPECT_THROW(r.read_rows(2, 4, rows), Error);
  EXPECT_EQ(r.obs().index, (std::vector<std::string>{"c0", "c1", "c2"}));
}

TEST(AnnDataReader, RareColumnEncodings) {
  TempDir dir;
  std::string path = dir.file("columns.h5ad");
  {
    h5::Handle f = write_small(path);
    h5::Handle obs = h5::open_group(f, "obs");
    h5::write_string_array_attribute(obs, "column-order",
                                     {"old_cat", "nint", "nbool", "nbool_full", "fixed", "flag", "weird", "matrix",
                                      "num_cat", "absent"});
    // anndata 0.7: codes dataset whose `categories` attribute references the labels.
    h5::Handle cats_group = h5::create_group(obs, "__categories");
    h5::write_strings(cats_group, "old_cat", {"alpha", "beta"});
    h5::write_vector<std::int8_t>(obs, "old_cat", {1, -1, 0});
    {
      h5::Handle ds = h5::open_dataset(obs, "old_cat");
      hobj_ref_t ref;
      ASSERT_GE(H5Rcreate(&ref, f, "/obs/__categories/old_cat", H5R_OBJECT, -1), 0);
      h5::Handle space(H5Screate(H5S_SCALAR));
      h5::Handle attr(H5Acreate2(ds, "categories", H5T_STD_REF_OBJ, space, H5P_DEFAULT, H5P_DEFAULT));
      ASSERT_GE(H5Awrite(attr, H5T_STD_REF_OBJ, &ref), 0);
    }
    h5::Handle bt = h5::bool_type();
    std::int8_t mask[3] = {0, 1, 0};
    {
      h5::Handle g = h5::create_group(obs, "nint");
      set_encoding(g, "nullable-integer", "0.1.0");
      h5::write_vector<std::int64_t>(g, "values", {7, 0, -2});
      h5::write_raw(g, "mask", bt, bt, {3}, mask);
    }
    {
      h5::Handle g = h5::create_group(obs, "nbool");
      set_encoding(g, "nullable-boolean", "0.1.0");
      std::int8_t v[3] = {1, 0, 0};
      h5::write_raw(g, "values", bt, bt, {3}, v);
      h5::write_raw(g, "mask", bt, bt, {3}, mask);
    }
    {
      h5::Handle g = h5::create_group(obs, "nbool_full");
      set_encoding(g, "nullable-boolean", "0.1.0");
      std::int8_t v[3] = {0, 1, 1};
      h5::write_raw(g, "values", bt, bt, {3}, v);
    }
    {
      h5::Handle t(H5Tcopy(H5T_C_S1));
      H5Tset_size(t, 4);
      H5Tset_strpad(t, H5T_STR_NULLPAD);  // as h5py writes numpy 'S' arrays
      const char buf[] = "ab\0\0cdefx\0\0\0";
      h5::write_raw(obs, "fixed", t, t, {3}, buf);
    }
    {
      std::int8_t v[3] = {1, 1, 0};
      h5::write_raw(obs, "flag", bt, bt, {3}, v);
    }
    {
      h5::Handle g = h5::create_group(obs, "weird");
      set_encoding(g, "awkward-array", "0.1.0");
    }
    std::vector<double> m(6, 1.0);
    h5::write_raw(obs, "matrix", H5T_NATIVE_DOUBLE, H5T_NATIVE_DOUBLE, {3, 2}, m.data());
    {
      h5::Handle g = h5::create_group(obs, "num_cat");
      set_encoding(g, "categorical", "0.2.0");
      h5::write_bool_attribute(g, "ordered", true);
      h5::write_vector<std::int16_t>(g, "codes", {0, 1, 1});
      h5::write_vector<std::int64_t>(g, "categories", {10, 2});
    }
  }
  AnnDataReader r(path);
  const DataFrame& obs = r.obs();
  const Column& old_cat = column(obs, "old_cat");
  EXPECT_EQ(old_cat.kind, Column::Kind::Categorical);
  EXPECT_EQ(old_cat.categories, (std::vector<std::string>{"alpha", "beta"}));
  EXPECT_EQ(old_cat.codes, (std::vector<std::int32_t>{1, -1, 0}));
  EXPECT_EQ(old_cat.text(1), "");

  const Column& nint = column(obs, "nint");
  EXPECT_EQ(nint.kind, Column::Kind::Numeric);
  EXPECT_EQ(nint.numbers[0], 7.0);
  EXPECT_TRUE(std::isnan(nint.numbers[1]));
  EXPECT_EQ(nint.numbers[2], -2.0);

  const Column& nbool = column(obs, "nbool");
  EXPECT_EQ(nbool.kind, Column::Kind::Categorical);
  EXPECT_EQ(nbool.text(0), "True");
  EXPECT_EQ(nbool.text(1), "");
  EXPECT_EQ(nbool.text(2), "False");
  const Column& full = column(obs, "nbool_full");
  EXPECT_EQ(full.kind, Column::Kind::Boolean);
  EXPECT_EQ(full.booleans, (std::vector<std::uint8_t>{0, 1, 1}));

  const Column& fixed = column(obs, "fixed");
  EXPECT_EQ(fixed.kind, Column::Kind::String);
  EXPECT_EQ(fixed.strings, (std::vector<std::string>{"ab", "cdef", "x"}));
  const Column& flag = column(obs, "flag");
  EXPECT_EQ(flag.kind, Column::Kind::Boolean);
  EXPECT_EQ(flag.booleans, (std::vector<std::uint8_t>{1, 1, 0}));

  const Column& num_cat = column(obs, "num_cat");
  EXPECT_TRUE(num_cat.ordered);
  EXPECT_EQ(num_cat.categories, (std::vector<std::string>{"10", "2"}));
  EXPECT_EQ(num_cat.text(2), "2");

  // Unknown encodings, 2-D datasets and listed-but-absent columns are skipped.
  EXPECT_EQ(obs.find("weird"), nullptr);
  EXPECT_EQ(obs.find("matrix"), nullptr);
  EXPECT_EQ(obs.find("absent"), nullptr);
  EXPECT_EQ(obs.columns.size(), 7u);
}

// Expects an Error whose one-line message contains every one of `parts`.
template <class F>
void expect_error(F&& f, std::initializer_list<std::string> parts) {
  try {
    f();
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

TEST(AnnDataReader, FileErrors) {
  TempDir dir;
  expect_error([&] { AnnDataReader r(dir.file("missing.h5ad")); }, {"missing.h5ad", "no such file"});
  std::string text = dir.file("text.h5ad");
  std::ofstream(text) << "not hdf5 at all\n";
  expect_error([&] { AnnDataReader r(text); }, {"text.h5ad", "not an HDF5 file"});
  // The first half of a real file.
  std::string cut = dir.file("truncated.h5ad");
  {
    std::ifstream in(shared("kang2018_harmony_ctrl_stim_2000cells.h5ad"), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(cut, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size() / 2));
  }
  expect_error(
      [&] {
        AnnDataReader r(cut);
        SparseRows rows;
        r.read_rows(0, r.n_rows(), rows);
      },
      {"truncated.h5ad"});
  std::string no_x = dir.file("no_x.h5ad");
  {
    h5::Handle f = h5::create_file(no_x);
    write_frame(f, "obs", {"a"});
  }
  expect_error([&] { AnnDataReader r(no_x); }, {"no_x.h5ad", "X", "no X"});
}

TEST(AnnDataReader, MatrixErrors) {
  TempDir dir;
  auto check = [&](const std::string& name, Csr x, std::initializer_list<std::string> parts) {
    std::string path = dir.file(name);
    write_small(path, x);
    expect_error(
        [&] {
          AnnDataReader r(path);
          SparseRows rows;
          r.read_rows(0, r.n_rows(), rows);
        },
        parts);
  };
  Csr unknown;
  unknown.encoding = "coo_matrix";
  check("unknown.h5ad", unknown, {"unknown.h5ad", "/X", "coo_matrix"});
  Csr short_ptr;
  short_ptr.indptr = {0, 2, 4};
  check("short_ptr.h5ad", short_ptr, {"short_ptr.h5ad", "/X/indptr", "3 entries", "expected 4"});
  Csr bad_index;
  bad_index.indices = {0, 2, 1, 4};
  check("bad_index.h5ad", bad_index, {"bad_index.h5ad", "/X/indices", "4 out of range", "row 2"});
  Csr negative;
  negative.indices = {0, -1, 1, 3};
  check("negative.h5ad", negative, {"negative.h5ad", "indices", "row 0"});
  Csr csc_bad;
  csc_bad.encoding = "csc_matrix";
  csc_bad.indptr = {0, 1, 2, 3, 4};  // one entry per column; row index 9 of 3 rows in column 3
  csc_bad.indices = {0, 2, 1, 9};
  check("csc_bad.h5ad", csc_bad, {"csc_bad.h5ad", "/X/indices", "9 out of range (3)", "column 3"});
  Csr ptr_end;
  ptr_end.indptr = {0, 2, 2, 5};
  check("ptr_end.h5ad", ptr_end, {"ptr_end.h5ad", "indptr", "ends at 5"});
  Csr no_shape;
  no_shape.shape = {3};
  check("shape.h5ad", no_shape, {"shape.h5ad", "shape"});
  Csr wrong_obs;
  wrong_obs.shape = {2, 4};
  wrong_obs.indptr = {0, 2, 4};
  check("obs_rows.h5ad", wrong_obs, {"obs_rows.h5ad", "/obs", "3 rows", "2 rows"});

  std::string path = dir.file("choices.h5ad");
  write_small(path);
  expect_error([&] { AnnDataReader r(path, MatrixChoice{"counts", false}); }, {"choices.h5ad", "layers/counts"});
  expect_error([&] { AnnDataReader r(path, MatrixChoice{"", true}); }, {"choices.h5ad", "raw"});
}

}  // namespace
}  // namespace c2s
