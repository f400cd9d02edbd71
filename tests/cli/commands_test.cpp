// Every subcommand run as a user would, on real and simulated data.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/cli_runner.hpp"

namespace c2s {
using namespace testing_support;
namespace fs = std::filesystem;

namespace {
fs::path dir() { return process_dir("c2s_commands"); }
std::string pbmc() { return std::string(C2S_SHARED_DIR) + "/data/pbmc68k_reduced_counts.h5ad"; }


std::string store() {
  static std::string s = [] {
    std::string p = (dir() / "pbmc.c2s").string();
    run_json("convert " + pbmc() + " -o " + p + " --obs bulk_labels,louvain");
    return p;
  }();
  return s;
}
}  // namespace

TEST(Commands, HelpForEverySubcommand) {
  for (std::string sub : {"simulate", "convert", "info", "export", "split", "merge", "inverse fit", "reconstruct",
                          "pipeline", "prompts", "baseline"}) {
    CliResult r = run_c2s(sub + " --help");
    EXPECT_EQ(r.exit_code, 0) << sub;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << sub;
  }
}

TEST(Commands, ConvertAndInfo) {
  nlohmann::json info = run_json("info " + store());
  EXPECT_EQ(info["cells"], 693);
  EXPECT_EQ(info["genes"], 765);
  EXPECT_EQ(info["entries"], 173061);
  EXPECT_TRUE(info["obs"].contains("bulk_labels"));
  EXPECT_FALSE(info["obs"].contains("phase"));  // not chosen with --obs
  EXPECT_NEAR(info["inverse_model"]["slope"].get<double>(), -0.5535, 5e-5);
  EXPECT_EQ(info["provenance"]["preprocessing"]["min_genes"], 200);
}

TEST(Commands, ThreadCountDoesNotChangeTheStore) {
  std::string a = (dir() / "t1.jsonl").string(), b = (dir() / "t2.jsonl").string();
  run_json("convert " + pbmc() + " -o " + (dir() / "t1.c2s").string() + " --threads 1");
  run_json("convert " + pbmc() + " -o " + (dir() / "t2.c2s").string() + " --threads 2");
  run_json("export " + (dir() / "t1.c2s").string() + " -o " + a);
  run_json("export " + (dir() / "t2.c2s").string() + " -o " + b);
  EXPECT_EQ(slurp(a), slurp(b));
  EXPECT_GT(slurp(a).size(), 100000u);
}

TEST(Commands, ExportLoadsAsJsonLines) {
  std::string out = (dir() / "s.jsonl").string();
  nlohmann::json r = run_json("export " + store() + " -o " + out + " --top-k 100");
  EXPECT_EQ(r["cells"], 693);
  // pandas.read_json(lines=True) is what datasets' json loader builds on.
  EXPECT_EQ(run_python("import pandas as pd\n"
                       "d = pd.read_json('" + out + "', lines=True)\n"
                       "assert len(d) == 693, len(d)\n"
                       "assert set(d.columns) >= {'cell_name', 'cell_sentence', 'bulk_labels'}, d.columns\n"
                       "assert d.cell_sentence.str.split(' ').map(len).max() == 100\n"),
            0);
}

TEST(Commands, SplitMergeInverseReconstruct) {
  std::string s = (dir() / "work.c2s").string();
  fs::copy_file(store(), s, fs::copy_options::overwrite_existing);
  nlohmann::json split = run_json("split " + s + " --by louvain --fractions 0.7,0.15,0.15");
  std::int64_t total = 0;
  for (auto& [k, v] : split["splits"].items()) total += v["cells"].get<std::int64_t>();
  EXPECT_EQ(total, 693);

  std::string merged = (dir() / "merged.c2s").string();
  nlohmann::json m = run_json("merge " + s + " " + store() + " -o " + merged);
  EXPECT_EQ(m["cells"], 1386);
  EXPECT_EQ(m["genes"], 765);
  EXPECT_NEAR(m["inverse_model"]["slope"].get<double>(), -0.5535, 5e-4);

  std::string plots = (dir() / "plots").string();
  nlohmann::json fit = run_json("inverse fit " + s + " --sample-cells 0 --plot-dir " + plots + " --save");
  EXPECT_NEAR(fit["inverse_model"]["r2"].get<double>(), 0.9148, 5e-5);
  EXPECT_TRUE(fs::exists(plots + "/inverse_fit.png"));
  EXPECT_TRUE(fs::exists(plots + "/reconstructed_vs_original.png"));

  std::string h5 = (dir() / "recon.h5ad").string();
  run_json("reconstruct " + s + " -o " + h5 + " --top-k 50");
  EXPECT_EQ(run_python("import anndata\n"
                       "a = anndata.read_h5ad('" + h5 + "')\n"
                       "assert a.shape == (693, 765), a.shape\n"
                       "assert (a.X.getnnz(axis=1) <= 50).all()\n"
                       "assert 'bulk_labels' in a.obs and 'split' in a.obs\n"),
            0);

  std::string text = (dir() / "generated.jsonl").string();
  std::ofstream(text) << "{\"cell_name\": \"g1\", \"cell_sentence\": \"cd74 HLA-DRA notagene CD74 FTL\", "
                         "\"cell_type\": \"B\"}\n";
  nlohmann::json rec = run_json("reconstruct " + s + " --sentences " + text + " -o " + (dir() / "gen.h5ad").string());
  EXPECT_EQ(rec["unknown_words_dropped"], 1);
  EXPECT_EQ(rec["duplicate_genes_merged"], 1);
}

TEST(Commands, SimulateAndPipeline) {
  std::string sim = (dir() / "sim.h5ad").string();
  nlohmann::json s = run_json("simulate -n 400 --genes 3000 -o " + sim);
  EXPECT_EQ(s["cells"], 400);
  nlohmann::json p = run_json("pipeline -o " + (dir() / "run").string() + " --cells 600 --genes 3000 --no-models");
  EXPECT_EQ(p["convert"]["cells"].get<std::int64_t>() > 500, true);
  EXPECT_GT(p["inverse_model"]["r2"].get<double>(), 0.6);
  EXPECT_TRUE(fs::exists(dir() / "run/summary.json"));
  EXPECT_TRUE(fs::exists(dir() / "run/reconstructed.h5ad"));
  EXPECT_FALSE(p.contains("annotation_model"));
  // The report page, and `c2s report` rebuilding it from the logged results.
  const fs::path page = dir() / "run/report/index.html";
  ASSERT_TRUE(fs::exists(page));
  EXPECT_TRUE(fs::exists(dir() / "run/report/inverse_fit.png"));
  const std::string html = slurp(page);
  EXPECT_NE(html.find("inverse model R"), std::string::npos);
  fs::remove_all(dir() / "run/report");
  nlohmann::json r = run_json("report " + (dir() / "run").string());
  EXPECT_EQ(r["figures"][0], "inverse_fit.png");
  EXPECT_EQ(slurp(page), html);
  expect_clean_failure(run_c2s("-q report " + dir().string() + "/nowhere"), "summary.json", 1);
}

// The whole main job at a small scale: both models trained briefly, the
// held-out cells annotated beside the baselines, cells generated and scored,
// and every figure of the report page there.
TEST(Commands, PipelineModelStepsAndReport) {
  const fs::path run = dir() / "full";
  nlohmann::json p = run_json("--threads 1 pipeline -o " + run.string() +
                              " --cells 600 --genes 3000 --train-steps 30 --cells-per-type 3");
  EXPECT_EQ(p["annotation_model"]["steps"], 30);
  EXPECT_GT(p["annotate"]["cells"].get<int>(), 20);
  EXPECT_TRUE(p["annotate"]["scores"]["accuracy"].is_number());
  EXPECT_GT(p["baseline"]["knn"]["accuracy"].get<double>(), 0.5);
  EXPECT_EQ(p["generation_model"]["steps"], 30);
  EXPECT_EQ(p["generate_cells"]["cells"], 3 * p["annotate"]["labels"].size());
  EXPECT_TRUE(p["evaluate_generation"]["generated"]["knn_accuracy"].is_object());
  EXPECT_NE(p["annotate"]["command"].get<std::string>().find("c2s annotate --model"), std::string::npos);
  for (const char* f : {"index.html", "inverse_fit.png", "training_curves.png", "confusion_matrix.png",
                        "generation_generated_vs_real.png"})
    EXPECT_TRUE(fs::exists(run / "report" / f)) << f;
  const std::string html = slurp(run / "report/index.html");
  EXPECT_NE(html.find("k-NN baseline"), std::string::npos);
  EXPECT_NE(html.find("c2s train --init tiny"), std::string::npos);
  run_json("report " + run.string());
  EXPECT_EQ(slurp(run / "report/index.html"), html);
}

}  // namespace c2s

namespace c2s {

TEST(Commands, ConvertOtherInputsAndMatrices) {
  // Legacy layout, raw matrix, already normalised.
  nlohmann::json legacy = run_json("convert " + std::string(C2S_SHARED_DIR) +
                                   "/data/encodings/pbmc68k_reduced_legacy_pre07.h5ad -o " +
                                   (dir() / "legacy.c2s").string() + " --raw --no-preprocess");
  EXPECT_EQ(legacy["cells"], 700);
  EXPECT_EQ(legacy["preprocessing"]["cells_kept"], 700);
  // A layer of the h5ad.
  nlohmann::json layer = run_json("convert " + pbmc() + " -o " + (dir() / "layer.c2s").string() +
                                  " --layer lognorm --no-preprocess");
  EXPECT_EQ(layer["cells"], 700);
  // A CSV with genes in rows (3 genes x 4 cells), no filtering.
  std::string csv = (dir() / "m.csv").string();
  std::ofstream(csv) << "gene,c1,c2,c3,c4\nCD3E,1,0,2,5\nMS4A1,0,3,0,1\nNKG7,4,4,0,0\n";
  nlohmann::json c = run_json("convert " + csv + " --genes-in-rows --min-genes 1 --min-cells 1 -o " +
                              (dir() / "csv.c2s").string());
  EXPECT_EQ(c["cells"], 4);
  EXPECT_EQ(c["genes"], 3);
  EXPECT_EQ(c["entries"], 7);
  std::string txt = (dir() / "csv.txt").string();
  run_json("export " + (dir() / "csv.c2s").string() + " -o " + txt);
  EXPECT_EQ(slurp(txt), "NKG7 CD3E\nNKG7 MS4A1\nCD3E\nCD3E MS4A1\n");
}

}  // namespace c2s
