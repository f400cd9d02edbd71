// Tests of the count simulator: the h5ad it writes reads back as plausible
// UMI counts with the promised labels, markers mark their types, and the
// output depends on the seed only (not on threads or block boundaries).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include "test_support.hpp"
#include "core/error.hpp"
#include "core/thread_pool.hpp"
#include "data/simulator.hpp"
#include "io/anndata_reader.hpp"

namespace c2s {
namespace {

namespace fs = std::filesystem;

std::string temp_file(const std::string& name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return (fs::path(::testing::TempDir()) /
          (std::string("c2s_sim_") + info->name() + "_" + std::to_string(getpid()) + "_" + name))
      .string();
}

SimulatorOptions small(std::int64_t cells = 500, std::int64_t genes = 2000) {
  SimulatorOptions o;
  o.n_cells = cells;
  o.n_genes = genes;
  o.seed = 42;
  return o;
}

std::int64_t column_of(const DataFrame& var, const std::string& gene) {
  auto it = std::find(var.index.begin(), var.index.end(), gene);
  EXPECT_NE(it, var.index.end()) << gene;
  return it - var.index.begin();
}

// Restores the default pool size whatever a test set.
struct ThreadsGuard {
  ~ThreadsGuard() { ThreadPool::set_default_threads(0); }
};

TEST(Simulator, WritesPlausibleCountsWithLabels) {
  auto path = temp_file("sim.h5ad");
  simulate_h5ad(small(), path);
  AnnDataReader reader(path);
  ASSERT_EQ(reader.n_rows(), 500);
  ASSERT_EQ(reader.n_cols(), 2000);

  const auto& var = reader.var();
  EXPECT_EQ(std::set<std::string>(var.index.begin(), var.index.end()).size(), var.index.size());
  EXPECT_EQ(std::count_if(var.index.begin(), var.index.end(), [](auto& g) { return g.rfind("MT-", 0) == 0; }), 13);
  for (const char* g : {"CD3E", "CD14", "MS4A1", "NKG7", "CD8A", "FCGR3A", "FCER1A", "PPBP"}) column_of(var, g);
  ASSERT_NE(var.find("gene_ids"), nullptr);

  const auto& obs = reader.obs();
  EXPECT_EQ(std::set<std::string>(obs.index.begin(), obs.index.end()).size(), obs.index.size());
  for (const char* name : {"cell_type", "sample_id", "condition"}) {
    ASSERT_NE(obs.find(name), nullptr) << name;
    EXPECT_EQ(obs.find(name)->kind, Column::Kind::Categorical) << name;
  }
  EXPECT_EQ(obs.find("cell_type")->categories.size(), 8u);
  EXPECT_EQ(obs.find("sample_id")->categories.size(), 4u);
  EXPECT_EQ(obs.find("condition")->categories, (std::vector<std::string>{"ctrl", "stim"}));
  const Column* n_counts = obs.find("n_counts");
  ASSERT_NE(n_counts, nullptr);
  ASSERT_EQ(n_counts->kind, Column::Kind::Numeric);

  SparseRows rows;
  reader.read_rows(0, 500, rows);
  double genes = 0, counts = 0;
  for (std::int64_t r = 0; r < 500; ++r) {
    double total = 0;
    auto idx = rows.row_indices(r);
    auto val = rows.row_values(r);
    for (std::size_t k = 0; k < idx.size(); ++k) {
      const float v = val[k];
      ASSERT_GT(v, 0);
      ASSERT_EQ(v, std::floor(v));
      if (k > 0) {
        ASSERT_LT(idx[k - 1], idx[k]);
      }
      total += v;
    }
    EXPECT_EQ(total, n_counts->numbers[std::size_t(r)]);
    genes += double(rows.indptr[std::size_t(r) + 1] - rows.indptr[std::size_t(r)]);
    counts += total;
  }
  // Defaults: 9% of the genes detected per cell, 6000 UMIs per cell.
  EXPECT_NEAR(genes / 500, 180, 40);
  EXPECT_NEAR(counts / 500, 6000, 900);
}

TEST(Simulator, MarkersMarkTheirTypes) {
  Simulator sim(small(3000));
  SparseRows rows;
  std::vector<SimulatedCell> cells;
  sim.generate(0, 3000, rows, cells);
  const auto& types = sim.cell_type_names();
  ASSERT_EQ(types.size(), 8u);
  EXPECT_EQ(types[0], "CD4 T cells");

  // Mean share of each gene's UMIs per type (counts per 10k).
  auto mean_share = [&](std::int64_t gene, auto&& in_group) {
    double sum = 0;
    int n = 0;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      if (!in_group(cells[c])) continue;
      ++n;
      for (auto k = rows.indptr[c]; k < rows.indptr[c + 1]; ++k)
        if (rows.indices[std::size_t(k)] == gene) sum += 1e4 * rows.values[std::size_t(k)] / cells[c].n_counts;
    }
    return n ? sum / n : 0.0;
  };
  const std::map<std::string, std::string> marker = {
      {"CD4 T cells", "IL7R"},     {"CD14+ Monocytes", "CD14"},   {"B cells", "MS4A1"},
      {"NK cells", "NKG7"},        {"CD8 T cells", "CD8A"},       {"FCGR3A+ Monocytes", "FCGR3A"},
      {"Dendritic cells", "FCER1A"}, {"Megakaryocytes", "PPBP"}};
  std::vector<int> per_type(types.size(), 0);
  for (const auto& c : cells) ++per_type[std::size_t(c.cell_type)];
  for (std::size_t t = 0; t < types.size(); ++t) {
    EXPECT_GT(per_type[t], 10) << types[t];
    const auto gene = column_of(sim.var(), marker.at(types[t]));
    const double in = mean_share(gene, [&](auto& c) { return c.cell_type == std::int32_t(t); });
    const double out = mean_share(gene, [&](auto& c) { return c.cell_type != std::int32_t(t); });
    EXPECT_GT(in, 5 * out) << types[t] << " " << marker.at(types[t]);
  }
  const auto isg15 = column_of(sim.var(), "ISG15");
  EXPECT_GT(mean_share(isg15, [](auto& c) { return c.condition == 1; }),
            5 * mean_share(isg15, [](auto& c) { return c.condition == 0; }));

  double mt = 0;
  std::vector<std::uint8_t> is_mt(std::size_t(sim.var().index.size()));
  for (std::size_t g = 0; g < is_mt.size(); ++g) is_mt[g] = sim.var().index[g].rfind("MT-", 0) == 0;
  for (std::size_t c = 0; c < cells.size(); ++c) {
    double m = 0;
    for (auto k = rows.indptr[c]; k < rows.indptr[c + 1]; ++k)
      if (is_mt[std::size_t(rows.indices[std::size_t(k)])]) m += rows.values[std::size_t(k)];
    mt += m / cells[c].n_counts;
  }
  mt /= double(cells.size());
  EXPECT_GT(mt, 0.01);
  EXPECT_LT(mt, 0.1);
}

TEST(Simulator, SameSeedSameFileAnyThreadCount) {
  ThreadsGuard guard;
  auto a = temp_file("a.h5ad"), b = temp_file("b.h5ad"), c = temp_file("c.h5ad");
  ThreadPool::set_default_threads(1);
  simulate_h5ad(small(300), a);
  ThreadPool::set_default_threads(2);
  simulate_h5ad(small(300), b);
  auto other = small(300);
  other.seed = 43;
  simulate_h5ad(other, c);

  auto content = [](const std::string& path) {
    AnnDataReader r(path);
    SparseRows rows;
    r.read_rows(0, r.n_rows(), rows);
    std::vector<std::string> labels = r.obs().index;
    for (const auto& col : r.obs().columns)
      for (std::size_t i = 0; i < col.size(); ++i) labels.push_back(col.text(i));
    testing_support::FlatEntries flat = testing_support::flat_entries(rows);
    return std::make_tuple(std::vector<std::int64_t>(rows.indptr.begin(), rows.indptr.end()), flat.indices,
                           flat.values, labels, r.var().index);
  };
  EXPECT_EQ(content(a), content(b));
  EXPECT_NE(std::get<2>(content(a)), std::get<2>(content(c)));
}

TEST(Simulator, CellsDependOnIndexOnly) {
  ThreadsGuard guard;
  Simulator sim(small(1000));
  SparseRows whole, part;
  std::vector<SimulatedCell> whole_cells, part_cells;
  ThreadPool::set_default_threads(2);
  sim.generate(0, 1000, whole, whole_cells);
  ThreadPool::set_default_threads(1);
  sim.generate(700, 900, part, part_cells);
  EXPECT_EQ(part.first_row, 700);
  const auto p0 = whole.indptr[700];
  ASSERT_EQ(part.nnz(), whole.indptr[900] - p0);
  for (std::size_t i = 0; i <= 200; ++i) EXPECT_EQ(part.indptr[i], whole.indptr[700 + i] - p0);
  EXPECT_TRUE(std::equal(part.indices.begin(), part.indices.end(), whole.indices.begin() + p0));
  EXPECT_TRUE(std::equal(part.values.begin(), part.values.end(), whole.values.begin() + p0));
  for (std::size_t i = 0; i < 200; ++i) EXPECT_EQ(part_cells[i].cell_type, whole_cells[700 + i].cell_type);
}

TEST(Simulator, NamesTypesBeyondTheImmuneOnes) {
  auto o = small(100);
  o.n_cell_types = 12;
  Simulator sim(o);
  ASSERT_EQ(sim.cell_type_names().size(), 12u);
  EXPECT_EQ(sim.cell_type_names()[9], "Plasma cells");
  EXPECT_EQ(sim.cell_type_names()[10], "type_11");
  EXPECT_EQ(sim.cell_type_names()[11], "type_12");
  o.n_cell_types = 3;
  EXPECT_EQ(Simulator(o).cell_type_names(),
            (std::vector<std::string>{"CD4 T cells", "CD14+ Monocytes", "B cells"}));
}

TEST(Simulator, RejectsImpossibleOptions) {
  auto o = small();
  o.n_genes = 50;
  EXPECT_THROW(Simulator{o}, UsageError);
  o = small();
  o.n_cell_types = 0;
  EXPECT_THROW(Simulator{o}, UsageError);
  o = small();
  o.mean_genes = 1900;
  EXPECT_THROW(Simulator{o}, UsageError);
}

}  // namespace
}  // namespace c2s
