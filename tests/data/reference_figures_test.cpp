// Golden checks on the real data of ../shared/data: the inverse-model figures
// of the data README's table (3 decimals) and sentences verified by an
// independent numpy computation.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "data/conversion.hpp"
#include "data/sentence_export.hpp"
#include "data/sentence_store.hpp"
#include "data/simulator.hpp"
#include "io/anndata_reader.hpp"

namespace c2s {
namespace fs = std::filesystem;

namespace {
struct Reference {
  const char* file;
  std::int64_t cells, genes, nonzeros;
  double slope, intercept, r2, pearson, spearman;
};

// ../shared/data/README.md, "Reference figures (C2S method)".
const Reference kReferences[] = {
    {"kang2018_muscat_kang_se_12k", 12100, 1287, 4236299, -0.6079, 1.7213, 0.9162, 0.9572, 0.9077},
    {"kang2018_harmony_ctrl_stim_2000cells", 1988, 9015, 1129152, -0.5104, 1.5713, 0.8658, 0.9306, 0.8420},
    {"pbmc68k_reduced_counts", 693, 765, 173061, -0.5535, 1.5482, 0.9148, 0.9565, 0.8738},
};

void PrintTo(const Reference& r, std::ostream* os) { *os << r.file; }

std::string data_path(const std::string& name) { return std::string(C2S_SHARED_DIR) + "/data/" + name + ".h5ad"; }

fs::path temp(const std::string& name) {
  fs::path dir = fs::path(::testing::TempDir()) / "c2s_reference";
  fs::create_directories(dir);
  return dir / name;
}
}  // namespace

class ReferenceFigures : public ::testing::TestWithParam<Reference> {};

TEST_P(ReferenceFigures, InverseFitMatchesTheTable) {
  const Reference& ref = GetParam();
  AnnDataReader reader(data_path(ref.file));
  ConvertOptions options;
  options.fit_sample_cells = 0;  // all cells, as the table
  ConvertResult r = convert_to_store(reader, temp(std::string(ref.file) + ".c2s").string(), options);
  EXPECT_EQ(r.cells, ref.cells);
  EXPECT_EQ(r.genes, ref.genes);
  EXPECT_EQ(r.entries, ref.nonzeros);
  EXPECT_EQ(r.model.points, ref.nonzeros);
  // Equal to 3 decimals: the table's 4-decimal figures within half a unit of
  // the 4th decimal.
  EXPECT_NEAR(r.model.slope, ref.slope, 5e-5);
  EXPECT_NEAR(r.model.intercept, ref.intercept, 5e-5);
  EXPECT_NEAR(r.model.r2, ref.r2, 5e-5);
  EXPECT_NEAR(r.model.pearson, ref.pearson, 5e-5);
  EXPECT_NEAR(r.model.spearman, ref.spearman, 5e-5);
}

INSTANTIATE_TEST_SUITE_P(SharedData, ReferenceFigures, ::testing::ValuesIn(kReferences),
                         [](const auto& info) { return std::string(info.param.file); });

TEST(ReferenceSentences, AgreeWithAnIndependentComputation) {
  // A simulated file too: it has genes that filter_genes drops (the real
  // files keep all theirs), which must leave the sentences of their cells.
  SimulatorOptions sim;
  sim.n_cells = 800;
  sim.n_genes = 3000;
  sim.seed = 5;
  const std::string simulated = temp("simulated.h5ad").string();
  simulate_h5ad(sim, simulated);
  for (std::string input : {data_path("pbmc68k_reduced_counts"), data_path("kang2018_harmony_ctrl_stim_2000cells"),
                            simulated}) {
    const std::string name = fs::path(input).stem().string();
    AnnDataReader reader(input);
    ConvertResult r = convert_to_store(reader, temp(name + ".sentences.c2s").string(), {});
    if (input == simulated) EXPECT_GT(r.preprocessing["genes_below_min_cells"].get<int>(), 0);
    fs::path store = temp(name + ".sentences.c2s"), jsonl = temp(name + ".jsonl");
    ExportOptions o;
    o.columns = {};
    export_sentences(SentenceStore(store.string()), jsonl.string(), o);
    std::string cmd = std::string("/usr/bin/python3 ") + C2S_SOURCE_DIR + "/tests/data/check_sentences.py " +
                      input + " " + jsonl.string() + " " + store.string();
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
}

}  // namespace c2s
