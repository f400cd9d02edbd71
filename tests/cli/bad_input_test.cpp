// Bad input through the `c2s` binary: one-line error, non-zero exit, and no
// output file left behind.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "cli/cli_runner.hpp"

namespace c2s {
using namespace testing_support;
namespace fs = std::filesystem;

namespace {
fs::path dir() { return process_dir("c2s_bad_input"); }

std::string shared(const std::string& rel) { return std::string(C2S_SHARED_DIR) + "/" + rel; }

void convert_fails(const std::string& input, const std::string& needle, const std::string& extra = "") {
  fs::path out = dir() / "out";
  fs::remove_all(out);
  fs::create_directories(out);
  CliResult r = run_c2s("convert " + input + " -o " + (out / "x.c2s").string() + " -q " + extra);
  expect_clean_failure(r, needle);
  EXPECT_EQ(entries(out), 0u) << "output left behind for " << input;
}
}  // namespace

TEST(BadInput, MissingFile) { convert_fails((dir() / "nope.h5ad").string(), "no such file"); }

TEST(BadInput, NotHdf5) {
  fs::path p = dir() / "text.h5ad";
  std::ofstream(p) << "cell,gene\n1,2\n";
  convert_fails(p.string(), "not an HDF5 file");
}

TEST(BadInput, TruncatedH5ad) {
  fs::path p = dir() / "truncated.h5ad";
  fs::copy_file(shared("data/pbmc68k_reduced_counts.h5ad"), p, fs::copy_options::overwrite_existing);
  fs::resize_file(p, fs::file_size(p) / 2);
  convert_fails(p.string(), "truncated.h5ad");
}

TEST(BadInput, UnknownEncoding) {
  fs::path p = dir() / "weird.h5ad";
  ASSERT_EQ(run_python("import h5py, numpy as np\n"
                       "f = h5py.File('" + p.string() + "', 'w')\n"
                       "f.attrs['encoding-type'] = 'anndata'; f.attrs['encoding-version'] = '0.1.0'\n"
                       "g = f.create_group('X'); g.attrs['encoding-type'] = 'coo_matrix'\n"
                       "g.attrs['encoding-version'] = '0.1.0'; g.attrs['shape'] = np.array([2, 2])\n"
                       "g['data'] = np.ones(2, 'f4'); g['row'] = np.array([0, 1]); g['col'] = np.array([0, 1])\n"),
            0);
  convert_fails(p.string(), "coo_matrix");
}

TEST(BadInput, ScaledDataIsNotCounts) {
  convert_fails(shared("data/encodings/pbmc68k_reduced_scaled_dense.h5ad"), "negative");
}

TEST(BadInput, NaNInX) {
  fs::path p = dir() / "nan.h5ad";
  ASSERT_EQ(run_python("import anndata, numpy as np\n"
                       "X = np.ones((300, 250), 'f4'); X[7, 3] = np.nan\n"
                       "anndata.AnnData(X).write_h5ad('" + p.string() + "')\n"),
            0);
  convert_fails(p.string(), "cell 7");
}

TEST(BadInput, EmptyMatrix) {
  fs::path p = dir() / "empty.h5ad";
  ASSERT_EQ(run_python("import anndata, numpy as np\n"
                       "anndata.AnnData(np.zeros((0, 5), 'f4')).write_h5ad('" + p.string() + "')\n"),
            0);
  convert_fails(p.string(), "empty");
}

TEST(BadInput, OutputFolderNotWritable) {
  const std::string input = shared("data/pbmc68k_reduced_counts.h5ad");
  CliResult r = run_c2s("convert " + input + " -o " + (dir() / "no/such/x.c2s").string());
  expect_clean_failure(r, "does not exist");
  EXPECT_FALSE(fs::exists(dir() / "no"));
  if (getuid() != 0) {  // root writes into read-only folders
    fs::path ro = dir() / "readonly";
    fs::create_directories(ro);
    fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec);
    r = run_c2s("convert " + input + " -o " + (ro / "x.c2s").string());
    fs::permissions(ro, fs::perms::owner_all);
    expect_clean_failure(r, "not writable");
    EXPECT_EQ(entries(ro), 0u);
  }
}

TEST(BadInput, ImpossibleFlagsAreUsageErrors) {
  CliResult r = run_c2s("convert " + shared("data/pbmc68k_reduced_counts.h5ad") + " -o " + (dir() / "f.c2s").string() +
                        " --raw --layer lognorm");
  expect_clean_failure(r, "--raw", 2);
  r = run_c2s("split " + (dir() / "none.c2s").string() + " --fractions 0.5,0.6,0.1");
  EXPECT_NE(r.exit_code, 0);
  r = run_c2s("convert");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
}

TEST(BadInput, MalformedSentencesJson) {
  fs::path store = dir() / "ok.c2s";
  ASSERT_EQ(run_c2s("convert " + shared("data/pbmc68k_reduced_counts.h5ad") + " -o " + store.string() + " -q")
                .exit_code,
            0);
  fs::path bad = dir() / "bad.jsonl";
  std::ofstream(bad) << "{\"cell_sentence\": \"CD3E MS4A1\"}\n{oops\n";
  fs::path out = dir() / "recon.h5ad";
  CliResult r = run_c2s("reconstruct " + store.string() + " --sentences " + bad.string() + " -o " + out.string());
  expect_clean_failure(r, "bad.jsonl:2");
  EXPECT_FALSE(fs::exists(out));
}

TEST(BadInput, NotAStore) {
  CliResult r = run_c2s("info " + shared("data/pbmc68k_reduced_counts.h5ad"));
  expect_clean_failure(r, "not a c2s sentence store");
}

}  // namespace c2s
