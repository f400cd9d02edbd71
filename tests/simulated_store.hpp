// A simulated data set converted into a sentence store (at least 10 genes
// per cell and 1 cell per gene kept) in the test process's own temporary
// folder `name`_<pid> (process_dir): the start of every test store built from the
// simulator in-process.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "data/conversion.hpp"
#include "data/simulator.hpp"
#include "io/matrix_source.hpp"
#include "test_support.hpp"

namespace c2s::testing_support {

inline std::string simulated_store(const std::string& name, const SimulatorOptions& sim) {
  const auto dir = process_dir(name);
  const std::string h5ad = (dir / "sim.h5ad").string(), store = (dir / "sim.c2s").string();
  simulate_h5ad(sim, h5ad);
  ConvertOptions convert;
  convert.preprocess.min_genes = 10;
  convert.preprocess.min_cells = 1;
  auto source = open_matrix(h5ad);
  convert_to_store(*source, store, convert);
  return store;
}

}  // namespace c2s::testing_support
