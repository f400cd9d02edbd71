// What tests of every layer share: scratch folders, error expectations, and
// reading a whole MatrixSource back as a dense table.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "io/matrix_source.hpp"

namespace c2s::testing_support {

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// One JSON value per non-empty line.
inline std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::vector<nlohmann::json> rows;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

// A fresh folder for the running test (named after it and the process, so
// tests run in parallel by CTest never share one), removed afterwards.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& prefix = "c2s") {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string test = info ? std::string(info->test_suite_name()) + "." + info->name() : "global";
    for (char& c : test)
      if (c == '/') c = '_';
    path_ = std::filesystem::path(::testing::TempDir()) / (prefix + "-" + test + "-" + std::to_string(getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::size_t entries() const {
    return std::size_t(std::distance(std::filesystem::directory_iterator(path_), {}));
  }

 private:
  std::filesystem::path path_;
};

// A folder per name for this test process (`name`_<pid> in the test temp
// folder, shared by the tests that ask for that name, e.g. to reuse a
// converted store), emptied when first asked for and removed when the
// process ends (kept when C2S_KEEP_TEST_DIRS is set, to look into a failure).
inline std::filesystem::path process_dir(const std::string& name) {
  struct Folders {
    std::map<std::string, std::filesystem::path> paths;
    ~Folders() {
      if (std::getenv("C2S_KEEP_TEST_DIRS")) return;
      std::error_code ec;
      for (const auto& [n, p] : paths) std::filesystem::remove_all(p, ec);
    }
  };
  static Folders folders;
  auto it = folders.paths.find(name);
  if (it != folders.paths.end()) return it->second;
  auto p = std::filesystem::path(::testing::TempDir()) / (name + "_" + std::to_string(getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return folders.paths.emplace(name, p).first->second;
}

// Expects f() to throw c2s::Error whose message contains `part`.
template <class F>
void expect_error(F&& f, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one containing: " << part;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

// A block's entries in row order, wherever the reader left them.
struct FlatEntries {
  std::vector<std::int32_t> indices;
  std::vector<float> values;
};
inline FlatEntries flat_entries(const SparseRows& rows) {
  FlatEntries f;
  for (std::int64_t r = 0; r < rows.n_rows(); ++r) {
    auto i = rows.row_indices(r);
    auto v = rows.row_values(r);
    f.indices.insert(f.indices.end(), i.begin(), i.end());
    f.values.insert(f.values.end(), v.begin(), v.end());
  }
  return f;
}

// The whole matrix read in blocks of `block` rows, checking each block's
// bookkeeping; duplicate entries add up.
inline std::vector<std::vector<float>> read_dense(MatrixSource& m, std::int64_t block) {
  std::vector<std::vector<float>> out(std::size_t(m.n_rows()), std::vector<float>(std::size_t(m.n_cols()), 0));
  SparseRows rows;
  for (std::int64_t b = 0; b < m.n_rows(); b += block) {
    std::int64_t e = std::min(m.n_rows(), b + block);
    m.read_rows(b, e, rows);
    EXPECT_EQ(rows.first_row, b);
    EXPECT_EQ(rows.n_cols, m.n_cols());
    EXPECT_EQ(rows.n_rows(), e - b);
    for (std::int64_t r = 0; r < rows.n_rows(); ++r) {
      auto idx = rows.row_indices(r);
      auto val = rows.row_values(r);
      for (std::size_t k = 0; k < idx.size(); ++k) out[std::size_t(b + r)][std::size_t(idx[k])] += val[k];
    }
  }
  return out;
}

}  // namespace c2s::testing_support
