// What the evaluation tests share: numpy / scikit-learn reference results
// (tests/evaluation/sklearn_reference.py under Debian's python3), random
// feature matrices, and a small simulated store split by donor.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/json_file.hpp"
#include "core/random.hpp"
#include "data/sentence_store.hpp"
#include "data/store_split.hpp"
#include "evaluation/dense_matrix.hpp"
#include "io/npy_writer.hpp"
#include "simulated_store.hpp"
#include "test_support.hpp"

namespace c2s::testing_support {

inline void write_npy(const std::filesystem::path& path, const DenseMatrix& m) {
  write_npy_float32(path, m.values.data(), std::int64_t(m.rows), std::int64_t(m.cols));
}

inline void write_npy(const std::filesystem::path& path, const std::vector<std::int32_t>& v) {
  std::vector<float> f(v.begin(), v.end());
  write_npy_float32(path, f.data(), std::int64_t(f.size()), 1);
}

// Runs sklearn_reference.py MODE with `args` and returns its JSON answer
// (written into `dir`).
inline nlohmann::json sklearn_reference(const ScratchDir& dir, const std::string& mode,
                                        const std::vector<std::string>& args) {
  const std::string out = dir.file(mode + "_reference.json");
  std::string cmd = std::string("/usr/bin/python3 ") + C2S_SOURCE_DIR + "/tests/evaluation/sklearn_reference.py " +
                    mode + " " + out;
  for (const auto& a : args) cmd += " " + a;
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  return read_json_file(out);
}

// Gaussian blobs: `n` cells in `d` dimensions around `k` centres (class i
// % k) drawn from `centre_seed`, spread `noise`, cells drawn from
// `cell_seed` (training and test cells: same centres, other cell seeds).
struct Blobs {
  DenseMatrix x;
  std::vector<std::int32_t> y;
};
inline double standard_normal(Rng& rng) {
  const double u = 1 - rng.uniform(), v = rng.uniform();
  return std::sqrt(-2 * std::log(u)) * std::cos(2 * M_PI * v);
}
inline Blobs blobs(std::size_t n, std::size_t d, std::size_t k, double noise, std::uint64_t centre_seed,
                   std::uint64_t cell_seed = 0) {
  Rng centre_rng(centre_seed, 1000003);
  std::vector<double> centres(k * d);
  for (auto& c : centres) c = 2 * standard_normal(centre_rng);
  Blobs b{DenseMatrix(n, d), std::vector<std::int32_t>(n)};
  for (std::size_t i = 0; i < n; ++i) {
    Rng rng(cell_seed * 1000003 + centre_seed, i);
    b.y[i] = std::int32_t(i % k);
    for (std::size_t j = 0; j < d; ++j) b.x(i, j) = float(centres[(i % k) * d + j] + noise * standard_normal(rng));
  }
  return b;
}

// 500 simulated PBMC-like cells x 400 genes (5 cell types, 4 donors),
// converted and split by donor; built once per test process.
inline const std::string& evaluation_test_store() {
  static const std::string path = [] {
    SimulatorOptions sim;
    sim.n_cells = 500;
    sim.n_genes = 400;
    sim.n_cell_types = 5;
    sim.n_donors = 4;
    sim.seed = 11;
    const std::string store = simulated_store("c2s_evaluation_store", sim);
    Column split;
    {
      SentenceStore s(store);
      SplitOptions options;
      options.by = "sample_id";
      split = assign_splits(s, options);
    }
    set_store_obs_column(store, split);
    return store;
  }();
  return path;
}

}  // namespace c2s::testing_support
