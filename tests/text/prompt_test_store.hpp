// A small simulated sentence store for the prompt tests (built once per test
// process): simulated PBMC-like cells with cell_type, sample_id and condition
// (ctrl/stim), plus a `tissue` column derived from the donor and a split.
#pragma once
#include <gtest/gtest.h>

#include <string>

#include "data/sentence_store.hpp"
#include "data/store_split.hpp"
#include "simulated_store.hpp"

namespace c2s::testing_support {

inline const std::string& prompt_test_store() {
  static const std::string path = [] {
    SimulatorOptions sim;
    sim.n_cells = 400;
    sim.n_genes = 600;
    sim.n_donors = 3;
    sim.seed = 7;
    const std::string store = simulated_store("c2s_prompt_store", sim);
    // Tissue follows the donor, so each tissue group spans one donor's cells.
    Column tissue{.name = "tissue", .kind = Column::Kind::Categorical};
    tissue.categories = {"blood", "bone marrow", "spleen"};
    {
      SentenceStore s(store);
      const Column* donor = s.obs().find("sample_id");
      EXPECT_NE(donor, nullptr);
      for (std::size_t i = 0; i < std::size_t(s.n_cells()); ++i) {
        std::string d = donor->text(i);
        tissue.codes.push_back(d.empty() ? -1 : std::int32_t((d.back() - '0') % 3));
      }
    }
    set_store_obs_column(store, tissue);
    Column split;
    {
      SentenceStore s(store);
      split = assign_splits(s, SplitOptions{});
    }
    set_store_obs_column(store, split);
    return store;
  }();
  return path;
}

}  // namespace c2s::testing_support
