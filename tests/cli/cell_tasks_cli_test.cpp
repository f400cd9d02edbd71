// The cell tasks on a tiny model trained from scratch on a simulated split
// store, run as a user would: `c2s annotate` (constrained and free modes,
// their files and scores, an h5ad annotated into a copy) and `c2s embed
// --data` (cells embedded in the model's own prompt format, k-NN label
// transfer, obsm in an h5ad copy); bad input refused in one line.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "cli_runner.hpp"
#include "test_support.hpp"

namespace c2s {
namespace {

using namespace testing_support;
namespace fs = std::filesystem;
using nlohmann::json;

fs::path dir() { return process_dir("c2s_cell_tasks_cli"); }

// A store of 4 well separated simulated cell types, split by cells, and a
// tiny model trained on it (once for the whole file).
const TrainedOnSimulated& trained() {
  static const TrainedOnSimulated t = train_on_simulated(
      dir(), "-n 400 --genes 400 --cell-types 4 --seed 5", "",
      "--threads 1 train --init tiny --task cell_type_prediction --top-k 30 --batch-size 8 --lr 3e-3 --epochs 2 "
      "--warmup-steps 4 --eval-every 20",
      "checkpoint-best");
  return t;
}

std::vector<std::string> csv_lines(const fs::path& p) {
  std::vector<std::string> lines;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(AnnotateCli, ConstrainedModeScoresEveryLabelAndReportsTheTruth) {
  const TrainedOnSimulated& t = trained();
  const fs::path out = dir() / "constrained";
  const json s = run_json("--threads 1 annotate --model " + t.model + " --data " + t.store + " -o " + out.string());
  EXPECT_EQ(s["mode"], "constrained");
  EXPECT_EQ(s["split"], "test");
  const int cells = s["cells"].get<int>();
  EXPECT_GT(cells, 20);
  EXPECT_EQ(s["labels"].size(), 4u);
  // Four simulated types with distinct markers: a trained model tells them apart.
  EXPECT_GE(s["scores"]["accuracy"].get<double>(), 0.8) << s.dump();
  for (const char* f : {"annotations.csv", "summary.json", "per_class.csv", "confusion_matrix.csv", "confusion_matrix.png"})
    EXPECT_TRUE(fs::exists(out / f)) << f;
  const auto lines = csv_lines(out / "annotations.csv");
  ASSERT_EQ(lines.size(), std::size_t(cells) + 1);
  EXPECT_EQ(lines[0], "cell,prediction,confidence,text,cell_type");
  EXPECT_EQ(json::parse(slurp(out / "summary.json"))["scores"], s["scores"]);
  // Every label's probability for every cell; the prediction is the most
  // probable label, with that probability as its confidence.
  const auto probs = csv_lines(out / "label_probabilities.csv");
  ASSERT_EQ(probs.size(), lines.size());
  std::string header = "cell";
  for (const auto& l : s["labels"]) header += "," + l.get<std::string>();
  EXPECT_EQ(probs[0], header);
  for (std::size_t i = 1; i < probs.size(); ++i) {
    std::stringstream row(probs[i]);
    std::string cell, field;
    std::getline(row, cell, ',');
    double sum = 0, best = -1;
    while (std::getline(row, field, ',')) sum += std::stod(field), best = std::max(best, std::stod(field));
    EXPECT_NEAR(sum, 1.0, 1e-4) << probs[i];
    EXPECT_EQ(lines[i].substr(0, cell.size() + 1), cell + ",");
    std::stringstream ann(lines[i]);
    std::getline(ann, field, ',');
    std::getline(ann, field, ',');
    std::getline(ann, field, ',');
    EXPECT_NEAR(std::stod(field), best, 1e-5) << lines[i];
  }
}

// --adjust-proportions: the model records its training label counts; the
// store's validation cells calibrate the probabilities; the cells'
// proportions are estimated (a distribution over the labels) and the files
// follow the re-weighted probabilities. Uncalibrated, this undertrained
// model's probabilities drove EM to give one type's share to another
// (accuracy 0.825 -> 0.600); calibrated, the accuracy stays near the plain
// run's.
TEST(AnnotateCli, AdjustingForLabelShiftEstimatesTheCellsProportions) {
  const TrainedOnSimulated& t = trained();
  const json task = json::parse(slurp(fs::path(t.model) / "c2s_task.json"));
  ASSERT_EQ(task["label_counts"].size(), task["labels"].size());
  int counted = 0;
  for (const auto& c : task["label_counts"]) counted += c.get<int>();
  EXPECT_GT(counted, 100);  // the training split's cells
  const fs::path out = dir() / "adjusted";
  const json s = run_json("--threads 1 annotate --adjust-proportions --model " + t.model + " --data " + t.store +
                          " -o " + out.string());
  const json plain = run_json("--threads 1 annotate --model " + t.model + " --data " + t.store + " -o " +
                              (dir() / "not-adjusted").string());
  ASSERT_TRUE(s.contains("label_shift")) << s.dump();
  const json& shift = s["label_shift"];
  double sum = 0, training_sum = 0;
  for (const auto& l : s["labels"]) {
    const std::string label = l.get<std::string>();
    const double est = shift["estimated_proportions"][label].get<double>();
    EXPECT_GE(est, 0) << label;
    sum += est;
    const double training = shift["training_proportions"][label].get<double>();
    EXPECT_GT(training, 0) << label;
    training_sum += training;
  }
  EXPECT_NEAR(sum, 1.0, 1e-9);
  EXPECT_NEAR(training_sum, 1.0, 1e-9);
  EXPECT_GE(shift["em_iterations"].get<int>(), 1);
  // The predictions and confidences are the re-weighted probabilities' best.
  const auto ann = csv_lines(out / "annotations.csv"), probs = csv_lines(out / "label_probabilities.csv");
  ASSERT_EQ(ann.size(), probs.size());
  for (std::size_t i = 1; i < ann.size(); ++i) {
    std::stringstream a(ann[i]), p(probs[i]);
    std::string cell, prediction, confidence, field;
    std::getline(a, cell, ',');
    std::getline(a, prediction, ',');
    std::getline(a, confidence, ',');
    std::getline(p, field, ',');
    ASSERT_EQ(field, cell);
    std::vector<double> row;
    while (std::getline(p, field, ',')) row.push_back(std::stod(field));
    const auto best = std::size_t(std::max_element(row.begin(), row.end()) - row.begin());
    EXPECT_EQ(prediction, s["labels"][best].get<std::string>()) << ann[i];
    EXPECT_NEAR(std::stod(confidence), row[best], 1e-5) << ann[i];
  }
  EXPECT_EQ(plain.count("label_shift"), 0u);
  const json& calibration = shift["calibration"];
  ASSERT_TRUE(calibration.is_object()) << shift.dump();
  EXPECT_EQ(calibration["split"], "validation");
  EXPECT_GT(calibration["cells"].get<int>(), 10);
  EXPECT_LE(calibration["nll_after"].get<double>(), calibration["nll_before"].get<double>());
  EXPECT_GE(s["scores"]["accuracy"].get<double>(), plain["scores"]["accuracy"].get<double>() - 0.1);
  expect_clean_failure(run_c2s("-q annotate --adjust-proportions --mode free --model " + t.model + " --data " +
                               t.store + " -o " + (dir() / "adjusted-free").string()),
                       "constrained", 2);
  EXPECT_FALSE(fs::exists(dir() / "adjusted-free"));
}

TEST(AnnotateCli, LabelsFromAFileAreTheCandidates) {
  const TrainedOnSimulated& t = trained();
  const json task = json::parse(slurp(fs::path(t.model) / "c2s_task.json"));
  const std::string first = task["labels"][0], second = task["labels"][1];
  const fs::path labels = dir() / "two_labels.txt";
  std::ofstream(labels) << first << "\r\n\n" << second << "\n" << first << "\n";  // CRLF, a blank line, a repeat
  const fs::path out = dir() / "two";
  const json s = run_json("--threads 1 annotate --model " + t.model + " --data " + t.store + " --labels " +
                          labels.string() + " -o " + out.string());
  EXPECT_EQ(s["labels"], json::array({first, second}));
  for (const auto& line : csv_lines(out / "annotations.csv"))
    if (line.rfind("cell,", 0) != 0)
      EXPECT_TRUE(line.find("," + first + ",") != std::string::npos || line.find("," + second + ",") != std::string::npos)
          << line;
}

TEST(AnnotateCli, FreeModeMatchesGeneratedAnswersToLabels) {
  const TrainedOnSimulated& t = trained();
  const fs::path out = dir() / "free";
  const json s = run_json("--threads 1 annotate --mode free --model " + t.model + " --data " + t.store + " -o " +
                          out.string());
  EXPECT_EQ(s["mode"], "free");
  EXPECT_GT(s["exact_matches"].get<int>(), 0);
  EXPECT_GE(s["scores"]["accuracy"].get<double>(), 0.5) << s.dump();
  EXPECT_TRUE(fs::exists(out / "confusion_matrix.png"));
}

// A user's h5ad: every cell is annotated (none filtered), and the copy with
// the predictions in obs reads back in Python anndata beside the truth.
TEST(AnnotateCli, AnH5adIsAnnotatedIntoACopyThatAnndataReads) {
  const TrainedOnSimulated& t = trained();
  const fs::path out = dir() / "h5ad";
  const std::string h5ad = (dir() / "sim.h5ad").string();
  const json s = run_json("--threads 1 annotate --model " + t.model + " --data " + h5ad + " -o " + out.string());
  EXPECT_EQ(s["split"], "all");
  EXPECT_EQ(s["cells"], 400);
  EXPECT_TRUE(s["input"]["converted"].get<bool>());
  EXPECT_GE(s["scores"]["accuracy"].get<double>(), 0.8) << s.dump();
  EXPECT_EQ(s["obs_columns"], json::array({"c2s_cell_type", "c2s_cell_type_confidence"}));
  ASSERT_TRUE(fs::exists(out / "annotated.h5ad"));
  const fs::path script = dir() / "read_annotated.py";
  std::ofstream(script) << "import sys, anndata, numpy as np\n"
                           "a = anndata.read_h5ad(sys.argv[1]); b = anndata.read_h5ad(sys.argv[2])\n"
                           "assert a.shape == b.shape and list(a.obs_names) == list(b.obs_names)\n"
                           "assert list(a.obs.columns[:-2]) == list(b.obs.columns)\n"
                           "p = a.obs['c2s_cell_type']; c = a.obs['c2s_cell_type_confidence']\n"
                           "assert str(p.dtype) == 'category' and p.notna().all()\n"
                           "assert ((c > 0) & (c <= 1)).all()\n"
                           "assert (a.X != b.X).nnz == 0\n"
                           "print((p.astype(str) == a.obs['cell_type'].astype(str)).mean())\n";
  const std::string cmd = "/usr/bin/python3 " + script.string() + " " + (out / "annotated.h5ad").string() + " " +
                          h5ad + " > " + (dir() / "read_annotated.out").string();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << slurp(dir() / "read_annotated.out");
  EXPECT_NEAR(std::stod(slurp(dir() / "read_annotated.out")), s["scores"]["accuracy"].get<double>(), 1e-9);
  // Annotating again into the same folder replaces it whole.
  const json again = run_json("--threads 1 annotate --model " + t.model + " --data " + h5ad + " --max-cells 10 -o " +
                              out.string());
  EXPECT_EQ(again["cells"], 10);
}

// Cells embedded as the model reads them: the train split's embeddings label
// the test split's (k-NN); an h5ad comes back with obsm["X_c2s"] that anndata reads.
// A multi-cell model (tissue_prediction, the simulated cell type standing in
// for the tissue) is asked once per group of cells; each cell gets its
// group's answer.
TEST(AnnotateCli, AMultiCellModelAnnotatesGroupsOfCells) {
  const TrainedOnSimulated t = train_on_simulated(
      process_dir("c2s_multi_cell_cli"), "-n 400 --genes 400 --cell-types 4 --seed 5", "",
      "--threads 1 train --init tiny --task tissue_prediction --label-column cell_type --top-k 20 --batch-size 8 "
      "--lr 3e-3 --epochs 20 --warmup-steps 4 --eval-every 1000",
      "checkpoint-last");
  const fs::path out = dir() / "multi", free = dir() / "multi_free", bysample = dir() / "multi_by_sample";
  const json s = run_json("--threads 1 annotate --model " + t.model + " --data " + t.store + " -o " + out.string());
  EXPECT_EQ(s["task"], "tissue_prediction");
  const int cells = s["cells"].get<int>();
  const int groups = s["groups"]["count"].get<int>();
  EXPECT_EQ(s["groups"]["by"], json::array({"cell_type"}));
  EXPECT_GE(groups * 5, cells);       // at most 5 cells a group
  EXPECT_LT(groups, cells);
  EXPECT_GE(s["scores"]["accuracy"].get<double>(), 0.75) << s.dump();  // 4 types: chance is 0.25
  // annotations.csv: a group column; the cells of a group share its answer.
  const auto lines = csv_lines(out / "annotations.csv");
  ASSERT_EQ(lines.size(), std::size_t(cells) + 1);
  EXPECT_EQ(lines[0], "cell,prediction,confidence,text,group,cell_type");
  std::map<std::string, std::string> answer_of_group;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> f;
    std::stringstream line(lines[i]);
    for (std::string x; std::getline(line, x, ',');) f.push_back(x);
    ASSERT_EQ(f.size(), 6u) << lines[i];
    auto [it, fresh] = answer_of_group.emplace(f[4], f[1] + "|" + f[2]);
    if (!fresh) EXPECT_EQ(it->second, f[1] + "|" + f[2]) << lines[i];
  }
  EXPECT_EQ(answer_of_group.size(), std::size_t(groups));
  // Free mode and other groupings.
  const json f = run_json("--threads 1 annotate --mode free --model " + t.model + " --data " + t.store + " -o " +
                          free.string());
  EXPECT_EQ(f["groups"]["count"], groups);
  const json b = run_json("--threads 1 annotate --model " + t.model + " --data " + t.store +
                          " --group-by sample_id,cell_type --cells-per-group 3 -o " + bysample.string());
  EXPECT_EQ(b["groups"]["by"], json::array({"sample_id", "cell_type"}));
  EXPECT_GT(b["groups"]["count"].get<int>(), groups);
  // Bad input: a column that is not there; grouping options for a single-cell model.
  expect_clean_failure(run_c2s("-q annotate --model " + t.model + " --data " + t.store + " --group-by tissue -o " +
                               (dir() / "never1").string()),
                       "no obs column 'tissue'", 2);
  expect_clean_failure(run_c2s("-q annotate --model " + trained().model + " --data " + t.store +
                               " --cells-per-group 3 -o " + (dir() / "never2").string()),
                       "for multi-cell models", 2);
  EXPECT_FALSE(fs::exists(dir() / "never1"));
  EXPECT_FALSE(fs::exists(dir() / "never2"));
}

// An interpretation model (natural_language_interpretation, trained with an
// abstract per simulated cell type) writes an abstract for each group of
// cells, grouped as in training, scored by ROUGE-1 against the references.
TEST(AnnotateCli, AnInterpretationModelWritesAnAbstractPerGroup) {
  const fs::path d = process_dir("c2s_interpret_cli");
  fs::create_directories(d);
  const json abstracts = {{"CD14+ Monocytes", "Classical monocytes express lysozyme and S100 proteins."},
                          {"CD4 T cells", "Helper T cells express IL7R and the CD3 complex."},
                          {"NK cells", "Natural killer cells express granzymes and NKG7."},
                          {"B cells", "B lymphocytes express MS4A1 and immunoglobulin genes."}};
  const fs::path file = d / "abstracts.json";
  std::ofstream(file) << abstracts.dump();
  const TrainedOnSimulated t = train_on_simulated(
      d, "-n 400 --genes 400 --cell-types 4 --seed 5", "",
      "--threads 1 train --init tiny --task natural_language_interpretation --abstracts " + file.string() +
          " --group-by cell_type --top-k 10 --batch-size 8 --lr 3e-3 --epochs 20 --warmup-steps 4 --eval-every 1000",
      "checkpoint-last");
  const json task = json::parse(slurp(fs::path(t.model) / "c2s_task.json"));
  EXPECT_EQ(task["group_by"], json::array({"cell_type"}));
  const fs::path out = d / "interpret";
  const json s = run_json("--threads 1 annotate --model " + t.model + " --data " + t.store + " --abstracts " +
                          file.string() + " -o " + out.string());
  EXPECT_EQ(s["task"], "natural_language_interpretation");
  EXPECT_EQ(s["mode"], "free");
  EXPECT_EQ(s["groups"]["by"], json::array({"cell_type"}));
  const int cells = s["cells"].get<int>(), groups = s["groups"]["count"].get<int>();
  EXPECT_GE(groups * 5, cells);
  EXPECT_EQ(s["scores"]["groups_scored"], groups);
  // The four abstracts are learnt: most of their words come back.
  EXPECT_GE(s["scores"]["rouge1_f"].get<double>(), 0.6) << s.dump();
  const auto rows = csv_lines(out / "interpretations.csv");
  ASSERT_EQ(rows.size(), std::size_t(groups) + 1);
  EXPECT_EQ(rows[0], "group,key,cells,abstract,reference,rouge1_precision,rouge1_recall,rouge1_f");
  EXPECT_EQ(csv_lines(out / "annotations.csv").size(), std::size_t(cells) + 1);
  // Bad input: constrained mode, labels, --abstracts for a label model.
  const std::string base = "-q annotate --model " + t.model + " --data " + t.store;
  expect_clean_failure(run_c2s(base + " --mode constrained -o " + (d / "never1").string()), "--mode free", 2);
  expect_clean_failure(run_c2s(base + " --label-column cell_type -o " + (d / "never2").string()), "--abstracts", 2);
  expect_clean_failure(run_c2s("-q annotate --model " + trained().model + " --data " + t.store + " --abstracts " +
                               file.string() + " -o " + (d / "never3").string()),
                       "interpretation models", 2);
  for (const char* n : {"never1", "never2", "never3"}) EXPECT_FALSE(fs::exists(d / n)) << n;
}

TEST(EmbedCells, StoreCellsGiveALabelTransferScoreAndAnH5adGetsObsm) {
  const TrainedOnSimulated& t = trained();
  const fs::path npy = dir() / "cells.npy";
  const json s = run_json("--threads 1 embed --model " + t.model + " --data " + t.store + " -o " + npy.string());
  EXPECT_EQ(s["prompts"], run_json("info " + t.store)["cells"]) << s.dump();  // every cell (--split all)
  ASSERT_TRUE(s["label_transfer"].is_object()) << s.dump();
  EXPECT_EQ(s["label_transfer"]["label_column"], "cell_type");
  EXPECT_GT(s["label_transfer"]["test_cells"].get<int>(), 20);
  EXPECT_GE(s["label_transfer"]["accuracy"].get<double>(), 0.8) << s.dump();
  EXPECT_TRUE(fs::exists(npy));
  // Only the test split: nothing to transfer from.
  const json test_only = run_json("--threads 1 embed --model " + t.model + " --data " + t.store +
                                  " --split test -o " + (dir() / "test.npy").string());
  EXPECT_TRUE(test_only["label_transfer"].is_null());

  const std::string h5ad = (dir() / "sim.h5ad").string();
  const fs::path out = dir() / "embedded.h5ad";
  const json e = run_json("--threads 1 embed --model " + t.model + " --data " + h5ad + " -o " + out.string());
  EXPECT_EQ(e["obsm"], "X_c2s");
  const fs::path script = dir() / "read_embedded.py";
  std::ofstream(script) << "import sys, anndata, numpy as np\n"
                           "a = anndata.read_h5ad(sys.argv[1]); e = np.load(sys.argv[2])\n"
                           "m = a.obsm['X_c2s']\n"
                           "assert m.shape == (a.n_obs, e.shape[1]) and np.isfinite(m).all()\n"
                           "print(m.shape[1])\n";
  const std::string cmd = "/usr/bin/python3 " + script.string() + " " + out.string() + " " + npy.string() + " > " +
                          (dir() / "read_embedded.out").string();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << slurp(dir() / "read_embedded.out");
  EXPECT_EQ(std::stoi(slurp(dir() / "read_embedded.out")), e["hidden_size"].get<int>());
}

TEST(EmbedCells, BadInputIsOneLine) {
  const TrainedOnSimulated& t = trained();
  const fs::path d = dir() / "bad_embed";
  fs::create_directories(d);
  auto fails = [&](const std::string& args, const std::string& needle, int code) {
    expect_clean_failure(run_c2s("-q embed " + args), needle, code);
  };
  fails("--model " + t.model + " --data " + t.store + " --prompt hello -o " + (d / "a.npy").string(), "not both", 2);
  fails("--model " + t.model + " --data " + t.store + " -o " + (d / "b.h5ad").string(), "h5ad", 2);
  fails("--model " + (fs::path(C2S_SHARED_DIR) / "golden" / "models" / "neox-tiny").string() + " --data " + t.store +
            " -o " + (d / "c.npy").string(),
        "c2s_task.json", 1);
  fails("--model " + t.model + " --data " + (d / "missing.h5ad").string() + " -o " + (d / "d.npy").string(),
        "missing.h5ad", 1);
  for (const char* name : {"a.npy", "b.h5ad", "c.npy", "d.npy"}) EXPECT_FALSE(fs::exists(d / name)) << name;
}

TEST(AnnotateCli, BadInputIsOneLine) {
  const TrainedOnSimulated& t = trained();
  const fs::path d = dir() / "bad";
  fs::create_directories(d);
  auto fails = [&](const std::string& args, const std::string& needle, int code) {
    expect_clean_failure(run_c2s("-q annotate " + args), needle, code);
  };
  const std::string base = "--model " + t.model + " --data " + t.store;
  fails(base + " --mode psychic -o " + (d / "a").string(), "--mode", 2);
  fails(base + " --split nowhere -o " + (d / "b").string(), "nowhere", 1);
  fails(base + " --label-column no_such_column -o " + (d / "c").string(), "no_such_column", 2);
  fails("--model " + (fs::path(C2S_SHARED_DIR) / "golden" / "models" / "neox-tiny").string() + " --data " + t.store + " -o " + (d / "d").string(), "c2s_task.json",
        1);
  std::ofstream(d / "blank.txt") << "\n  \n";
  fails(base + " --labels " + (d / "blank.txt").string() + " -o " + (d / "f").string(), "no labels", 1);
  // A store of other genes than the model's.
  const std::string other = (d / "other.c2s").string();
  run_json("convert " + (fs::path(C2S_SHARED_DIR) / "data" / "pbmc68k_reduced_counts.h5ad").string() + " -o " + other);
  fails("--model " + t.model + " --data " + other + " -o " + (d / "e").string(), "genes", 1);
  // An h5ad of other genes fails before any output.
  fails("--model " + t.model + " --data " + (fs::path(C2S_SHARED_DIR) / "data" / "pbmc68k_reduced_counts.h5ad").string() +
            " -o " + (d / "g").string(),
        "genes", 1);
  for (const char* name : {"a", "b", "c", "d", "e", "f", "g"}) EXPECT_FALSE(fs::exists(d / name)) << name;
}

}  // namespace
}  // namespace c2s
