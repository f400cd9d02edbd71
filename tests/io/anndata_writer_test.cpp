// Tests of the h5ad writer: Python anndata must read what we write (checked by
// running python3 from the test), our own reader must read it back, and
// nothing may appear at the target path unless commit() succeeds.
#include <algorithm>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "test_support.hpp"
#include "core/error.hpp"
#include "io/anndata_dataframe.hpp"
#include "io/anndata_reader.hpp"
#include "io/anndata_writer.hpp"
#include "io/hdf5_file.hpp"

namespace c2s {
namespace {

namespace fs = std::filesystem;

using TempDir = testing_support::ScratchDir;

// The example matrix, 5 cells x 4 genes:
//   [1 0 2 0; 0 0 0 0; 0 3.5 0 4; 5 0 0 0; 0 0 0 6]
// appended as two blocks, rows 0-2 and 3-4.
SparseRows block(int which) {
  SparseRows r;
  r.n_cols = 4;
  if (which == 0) {
    r.first_row = 0;
    r.indptr = {0, 2, 2, 4};
    r.indices = {2, 0, 1, 3};  // unsorted within row 0 on purpose
    r.values = {2, 1, 3.5f, 4};
  } else {
    r.first_row = 3;
    r.indptr = {0, 1, 2};
    r.indices = {0, 3};
    r.values = {5, 6};
  }
  return r;
}

Column make(const std::string& name, Column::Kind kind) {
  Column c;
  c.name = name;
  c.kind = kind;
  return c;
}

DataFrame example_obs() {
  DataFrame obs;
  obs.index = {"c0", "c1", "c2", "c3", "c4"};
  Column ct = make("cell_type", Column::Kind::Categorical);
  ct.categories = {"B", "T"};
  ct.codes = {1, 0, -1, 1, 0};
  Column n = make("n_counts", Column::Kind::Numeric);
  n.numbers = {3, 0, 7.5, 5, std::nan("")};
  Column flag = make("flag", Column::Kind::Boolean);
  flag.booleans = {1, 0, 0, 1, 1};
  Column note = make("note", Column::Kind::String);
  note.strings = {"a", "", "caf\xc3\xa9", "d e", "x/y"};
  obs.columns = {ct, n, flag, note};
  return obs;
}

DataFrame example_var() {
  DataFrame var;
  var.index = {"GENE1", "GENE2", "MT-CO1", "GENE4"};
  Column stage = make("stage", Column::Kind::Categorical);
  stage.categories = {"low", "mid", "high"};
  stage.codes = {2, 0, 1, 0};
  stage.ordered = true;
  Column mean = make("mean", Column::Kind::Numeric);
  mean.numbers = {0.25, 1, 2, 3};
  var.columns = {stage, mean};
  return var;
}

void write_example(const std::string& path) {
  AnnDataWriter w(path, 4);
  w.append_rows(block(0));
  EXPECT_EQ(w.rows_written(), 3);
  w.append_rows(block(1));
  EXPECT_EQ(w.rows_written(), 5);
  w.set_obs(example_obs());
  w.set_var(example_var());
  w.add_obsm("X_umap", {0, 1, 2, 3, 4, 5, 6, 7, 8, 9.5f}, 2);
  w.add_uns("method", std::string("c2s"));
  w.add_uns("threshold", 0.5);
  w.add_uns("n_genes", std::int64_t(4));
  w.add_uns("log", true);
  w.commit();
}

// The interpreter with anndata: Debian's python3-anndata lives under
// /usr/bin/python3, which another python3 on PATH may hide.
std::string python_with_anndata() {
  for (std::string p : {"python3", "/usr/bin/python3"})
    if (std::system((p + " -c 'import anndata' >/dev/null 2>&1").c_str()) == 0) return p;
  return "";
}

const char* kCheckScript = R"PY(
import sys, warnings
warnings.filterwarnings("ignore")
import numpy as np, scipy.sparse as sp, h5py, anndata as ad

path = sys.argv[1]
a = ad.read_h5ad(path)
assert a.shape == (5, 4), a.shape
assert sp.isspmatrix_csr(a.X), type(a.X)
assert a.X.dtype == np.float32, a.X.dtype
expected = np.array([[1, 0, 2, 0], [0, 0, 0, 0], [0, 3.5, 0, 4], [5, 0, 0, 0], [0, 0, 0, 6]], dtype=np.float32)
assert (a.X.toarray() == expected).all(), a.X.toarray()
assert a.X.indices[:2].tolist() == [2, 0], "stored order kept"

assert list(a.obs_names) == ["c0", "c1", "c2", "c3", "c4"], list(a.obs_names)
assert list(a.obs.columns) == ["cell_type", "n_counts", "flag", "note"], list(a.obs.columns)
ct = a.obs["cell_type"]
assert str(ct.dtype) == "category", ct.dtype
assert list(ct.cat.categories) == ["B", "T"], list(ct.cat.categories)
assert ct.cat.codes.tolist() == [1, 0, -1, 1, 0], ct.cat.codes.tolist()
assert not ct.cat.ordered
n = a.obs["n_counts"]
assert n.dtype == np.float64, n.dtype
assert n[:4].tolist() == [3, 0, 7.5, 5] and np.isnan(n.iloc[4]), n.tolist()
assert a.obs["flag"].dtype == bool, a.obs["flag"].dtype
assert a.obs["flag"].tolist() == [True, False, False, True, True]
assert a.obs["note"].tolist() == ["a", "", "caf\u00e9", "d e", "x/y"], a.obs["note"].tolist()

assert list(a.var_names) == ["GENE1", "GENE2", "MT-CO1", "GENE4"], list(a.var_names)
st = a.var["stage"]
assert list(st.cat.categories) == ["low", "mid", "high"] and st.cat.ordered
assert st.tolist() == ["high", "low", "mid", "low"], st.tolist()
assert a.var["mean"].tolist() == [0.25, 1, 2, 3]

u = a.obsm["X_umap"]
assert u.shape == (5, 2) and u.dtype == np.float32, (u.shape, u.dtype)
assert u.ravel().tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9.5], u.tolist()
assert a.uns["method"] == "c2s", a.uns["method"]
assert a.uns["threshold"] == 0.5 and isinstance(a.uns["threshold"], (float, np.floating))
assert a.uns["n_genes"] == 4 and isinstance(a.uns["n_genes"], (int, np.integer))
assert a.uns["log"] == True and isinstance(a.uns["log"], (bool, np.bool_)), type(a.uns["log"])
assert len(a.layers) == 0 and len(a.varm) == 0 and len(a.obsp) == 0 and len(a.varp) == 0
assert a.raw is None

# The on-disk encoding exactly as anndata 0.8 writes it.
# Column slicing with scipy (fails on int64 indptr with int32 indices).
assert a[:, ["GENE1", "MT-CO1"]].X.toarray().tolist() == [[1, 2], [0, 0], [0, 0], [5, 0], [0, 0]]
with h5py.File(path, "r") as f:
    def enc(obj, t, v):
        assert obj.attrs["encoding-type"] == t, (obj.name, obj.attrs["encoding-type"])
        assert obj.attrs["encoding-version"] == v, (obj.name, obj.attrs["encoding-version"])
    enc(f, "anndata", "0.1.0")
    enc(f["X"], "csr_matrix", "0.1.0")
    assert f["X"].attrs["shape"].tolist() == [5, 4]
    assert f["X/data"].dtype == np.float32 and f["X/indices"].dtype == np.int32 and f["X/indptr"].dtype == np.int32
    assert f["X/data"].maxshape == (None,)
    for k in ["layers", "obsm", "obsp", "varm", "varp", "uns"]:
        enc(f[k], "dict", "0.1.0")
    enc(f["obs"], "dataframe", "0.2.0")
    assert f["obs"].attrs["_index"] == "_index"
    assert list(f["obs"].attrs["column-order"]) == ["cell_type", "n_counts", "flag", "note"]
    enc(f["obs/_index"], "string-array", "0.2.0")
    enc(f["obs/cell_type"], "categorical", "0.2.0")
    assert f["obs/cell_type"].attrs["ordered"] == False
    assert f["obs/cell_type/codes"].dtype == np.int8
    enc(f["obs/cell_type/codes"], "array", "0.2.0")
    enc(f["obs/cell_type/categories"], "string-array", "0.2.0")
    enc(f["obs/n_counts"], "array", "0.2.0")
    enc(f["obs/flag"], "array", "0.2.0")
    assert f["obs/flag"].dtype == bool
    enc(f["obs/note"], "string-array", "0.2.0")
    enc(f["obsm/X_umap"], "array", "0.2.0")
    enc(f["uns/method"], "string", "0.2.0")
    for k in ["threshold", "n_genes", "log"]:
        enc(f["uns/" + k], "numeric-scalar", "0.2.0")
        assert f["uns/" + k].shape == ()
print("python anndata check passed")
)PY";

TEST(AnnDataWriter, PythonAnndataReadsEveryFeature) {
  std::string python = python_with_anndata();
  ASSERT_FALSE(python.empty()) << "python3 with anndata is required (Debian package python3-anndata)";
  TempDir dir;
  std::string path = dir.file("example.h5ad");
  write_example(path);
  std::string script = dir.file("check.py");
  std::ofstream(script) << kCheckScript;
  int rc = std::system((python + " " + script + " " + path).c_str());
  EXPECT_EQ(rc, 0) << "python's checks of " << path << " failed (see its output above)";
}

TEST(AnnDataWriter, OurReaderReadsItBack) {
  TempDir dir;
  std::string path = dir.file("example.h5ad");
  write_example(path);
  AnnDataReader r(path);
  EXPECT_EQ(r.layout(), AnnDataReader::Layout::Csr);
  EXPECT_EQ(r.n_rows(), 5);
  EXPECT_EQ(r.n_cols(), 4);
  SparseRows rows;
  r.read_rows(0, 5, rows);
  EXPECT_EQ(rows.indptr, (std::vector<std::int64_t>{0, 2, 2, 4, 5, 6}));
  EXPECT_EQ(testing_support::flat_entries(rows).indices, (std::vector<std::int32_t>{2, 0, 1, 3, 0, 3}));
  EXPECT_EQ(testing_support::flat_entries(rows).values, (std::vector<float>{2, 1, 3.5f, 4, 5, 6}));
  r.read_rows(3, 5, rows);
  EXPECT_EQ(rows.indptr, (std::vector<std::int64_t>{0, 1, 2}));
  EXPECT_EQ(testing_support::flat_entries(rows).values, (std::vector<float>{5, 6}));

  DataFrame obs = example_obs();
  EXPECT_EQ(r.obs().index, obs.index);
  ASSERT_EQ(r.obs().columns.size(), 4u);
  for (std::size_t c = 0; c < 4; ++c) {
    const Column& got = r.obs().columns[c];
    EXPECT_EQ(got.name, obs.columns[c].name);
    EXPECT_EQ(got.kind, obs.columns[c].kind);
    for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(got.text(i), obs.columns[c].text(i)) << got.name << " " << i;
  }
  EXPECT_EQ(r.obs().find("cell_type")->codes, obs.columns[0].codes);
  DataFrame var = example_var();
  EXPECT_EQ(r.var().index, var.index);
  const Column* stage = r.var().find("stage");
  ASSERT_NE(stage, nullptr);
  EXPECT_TRUE(stage->ordered);
  EXPECT_EQ(stage->categories, var.columns[0].categories);
  EXPECT_EQ(stage->codes, var.columns[0].codes);
}

TEST(AnnDataWriter, DefaultsAndManyCategories) {
  TempDir dir;
  std::string path = dir.file("defaults.h5ad");
  {
    AnnDataWriter w(path, 3);
    SparseRows rows;
    rows.clear(0, 3);
    for (int i = 0; i < 200; ++i) {
      rows.indices.push_back(i % 3);
      rows.values.push_back(float(i));
      rows.indptr.push_back(std::int64_t(rows.indices.size()));
    }
    w.append_rows(rows);
    DataFrame obs;
    Column many = make("many", Column::Kind::Categorical);
    for (int i = 0; i < 200; ++i) {
      obs.index.push_back("cell" + std::to_string(i));
      many.categories.push_back("k" + std::to_string(i));
      many.codes.push_back(199 - i);
    }
    obs.columns = {many};
    w.set_obs(obs);
    w.commit();  // no var: anndata's default names
  }
  AnnDataReader r(path);
  EXPECT_EQ(r.n_rows(), 200);
  EXPECT_EQ(r.var().index, (std::vector<std::string>{"0", "1", "2"}));
  EXPECT_EQ(r.obs().find("many")->text(0), "k199");  // codes stored as int16
  SparseRows rows;
  r.read_rows(199, 200, rows);
  EXPECT_EQ(testing_support::flat_entries(rows).values, (std::vector<float>{199}));

  std::string empty = dir.file("empty.h5ad");
  {
    AnnDataWriter w(empty, 2);
    w.commit();
  }
  AnnDataReader e(empty);
  EXPECT_EQ(e.n_rows(), 0);
  EXPECT_EQ(e.n_cols(), 2);
  EXPECT_TRUE(e.obs().index.empty());
}

TEST(AnnDataWriter, NothingAppearsWithoutCommit) {
  TempDir dir;
  std::string path = dir.file("out.h5ad");
  {
    AnnDataWriter w(path, 4);
    w.append_rows(block(0));
    EXPECT_EQ(dir.entries(), 1u);  // the hidden temporary
    EXPECT_FALSE(fs::exists(path));
  }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(dir.entries(), 0u);

  // A failed commit leaves no file either, and an older file stays as it was.
  std::ofstream(path) << "old";
  {
    AnnDataWriter w(path, 4);
    w.append_rows(block(0));
    w.set_obs(example_obs());  // 5 names for 3 rows
    EXPECT_THROW(w.commit(), Error);
  }
  EXPECT_EQ(dir.entries(), 1u);
  EXPECT_EQ(fs::file_size(path), 3u);
  // A successful commit replaces it.
  write_example(path);
  EXPECT_EQ(AnnDataReader(path).n_rows(), 5);
  EXPECT_EQ(dir.entries(), 1u);
}

// The dataframe encoding on its own, as the sentence store uses it.
TEST(AnnDataWriter, DataFrameGroupRoundTrip) {
  TempDir dir;
  std::string path = dir.file("frame.h5");
  DataFrame obs = example_obs();
  {
    h5::Handle f = h5::create_file(path);
    write_anndata_dataframe(f, "obs", obs);
    DataFrame bad = obs;
    bad.columns[1].numbers.pop_back();
    EXPECT_THROW(write_anndata_dataframe(f, "bad", bad), Error);
    EXPECT_FALSE(h5::exists(f, "bad"));  // checked before anything is written
  }
  h5::Handle f = h5::open_file(path);
  DataFrame back = read_anndata_dataframe(f, "obs");
  EXPECT_EQ(back.index, obs.index);
  ASSERT_EQ(back.columns.size(), obs.columns.size());
  for (std::size_t c = 0; c < obs.columns.size(); ++c) {
    EXPECT_EQ(back.columns[c].name, obs.columns[c].name);
    EXPECT_EQ(back.columns[c].kind, obs.columns[c].kind);
    for (std::size_t i = 0; i < obs.n_rows(); ++i) EXPECT_EQ(back.columns[c].text(i), obs.columns[c].text(i));
  }
  EXPECT_THROW(read_anndata_dataframe(f, "var"), Error);
}

template <class F>
void expect_error(F&& f, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(part), std::string::npos) << "'" << part << "' not in: " << msg;
    EXPECT_NE(msg.find("bad.h5ad"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

TEST(AnnDataWriter, ChecksItsInputs) {
  TempDir dir;
  std::string path = dir.file("bad.h5ad");
  AnnDataWriter w(path, 4);
  SparseRows wrong = block(0);
  wrong.n_cols = 5;
  expect_error([&] { w.append_rows(wrong); }, "5 columns");
  SparseRows out_of_range = block(1);
  out_of_range.indices[1] = 4;
  expect_error([&] { w.append_rows(out_of_range); }, "column index 4");
  DataFrame var = example_var();
  var.index.pop_back();
  expect_error([&] { w.set_var(var); }, "var");
  expect_error([&] { w.add_obsm("X_pca", {1, 2, 3}, 2); }, "obsm/X_pca");
  expect_error([&] { w.add_obsm("a/b", {1, 2}, 2); }, "'/'");
  w.add_uns("k", 1.0);
  expect_error([&] { w.add_uns("k", 2.0); }, "uns/k");

  w.append_rows(block(0));
  w.add_obsm("X_pca", {1, 2}, 2);  // 1 row for 3 cells
  expect_error([&] { w.commit(); }, "obsm/X_pca");
  EXPECT_FALSE(fs::exists(path));

  AnnDataWriter w2(path, 4);
  w2.append_rows(block(0));
  w2.append_rows(block(1));
  DataFrame obs = example_obs();
  obs.columns[0].name = "_index";
  w2.set_obs(obs);
  expect_error([&] { w2.commit(); }, "_index");
  obs = example_obs();
  obs.columns[1].name = "cell_type";
  w2.set_obs(obs);
  expect_error([&] { w2.commit(); }, "duplicate column 'cell_type'");
  EXPECT_FALSE(fs::exists(path));
}

}  // namespace
}  // namespace c2s
