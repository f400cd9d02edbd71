// `c2s baseline` as a user runs it: a simulated store split by donor, the
// summary, the files of -o, and bad input (one line, nothing written).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli/cli_runner.hpp"

namespace c2s {
using namespace testing_support;
namespace fs = std::filesystem;

namespace {
fs::path dir() { return process_dir("c2s_baseline"); }

// 600 simulated cells x 500 genes, 5 cell types, 4 donors; split by donor.
std::string store() {
  static std::string s = [] {
    const std::string h5ad = (dir() / "sim.h5ad").string(), path = (dir() / "sim.c2s").string();
    run_json("simulate -n 600 --genes 500 --cell-types 5 --donors 4 --seed 3 -o " + h5ad);
    run_json("convert " + h5ad + " -o " + path + " --min-genes 10 --min-cells 1");
    run_json("split " + path + " --by sample_id");
    return path;
  }();
  return s;
}

std::vector<std::string> lines_of(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}
}  // namespace

TEST(BaselineCommand, ScoresBothMethodsAndWritesTheirFiles) {
  const fs::path out = dir() / "baseline";
  const nlohmann::json s = run_json("baseline " + store() + " --label-column cell_type --k 5 --pcs 20 -o " +
                                    out.string());
  EXPECT_EQ(s["classes"], 5);
  EXPECT_EQ(s["features"]["selection"], "all genes");
  EXPECT_EQ(s["features"]["values"], "ln(1 + normalised count)");
  EXPECT_EQ(s["knn"]["k"], 5);
  EXPECT_EQ(s["knn"]["pcs"], 20);
  // Simulated cell types are well apart: both baselines nearly always right.
  EXPECT_GT(s["knn"]["accuracy"].get<double>(), 0.9);
  EXPECT_GT(s["logreg"]["accuracy"].get<double>(), 0.9);
  EXPECT_GT(s["logreg"]["macro_f1"].get<double>(), 0.8);
  EXPECT_TRUE(s["logreg"]["converged"].get<bool>());
  EXPECT_GT(s["seconds"].get<double>(), 0);
  const std::int64_t test_cells = s["test_cells"];
  EXPECT_GT(test_cells, 0);

  const auto predictions = lines_of(out / "predictions.csv");
  ASSERT_EQ(std::int64_t(predictions.size()), test_cells + 1);
  EXPECT_EQ(predictions[0], "cell,truth,knn,knn_confidence,logreg,logreg_confidence");
  for (const char* f : {"knn_confusion.csv", "knn_confusion.png", "knn_per_class.csv", "logreg_confusion.csv",
                        "logreg_confusion.png", "logreg_per_class.csv", "summary.json"})
    EXPECT_TRUE(fs::exists(out / f)) << f;
  EXPECT_EQ(entries(out), 8u);
  EXPECT_EQ(lines_of(out / "knn_confusion.csv").size(), 6u);  // header + 5 true classes
  EXPECT_EQ(lines_of(out / "logreg_per_class.csv").size(), 6u);
  const nlohmann::json summary = nlohmann::json::parse(slurp(out / "summary.json"));
  EXPECT_EQ(summary["knn"]["report"]["cells"], test_cells);
  EXPECT_DOUBLE_EQ(summary["logreg"]["report"]["accuracy"].get<double>(), s["logreg"]["accuracy"].get<double>());
  // pandas reads the predictions; their accuracy is the summary's.
  EXPECT_EQ(run_python("import pandas as pd\n"
                       "d = pd.read_csv('" + (out / "predictions.csv").string() + "')\n"
                       "acc = (d.truth == d.logreg).mean()\n"
                       "assert abs(acc - " + s["logreg"]["accuracy"].dump() + ") < 1e-12, acc\n"
                       "assert ((d.knn_confidence > 0) & (d.knn_confidence <= 1)).all()\n"),
            0);

  // Run again over the same folder (named with a trailing slash): replaced as a whole.
  run_json("baseline " + store() + " --label-column cell_type --k 5 --pcs 20 -o " + out.string() + "/");
  EXPECT_EQ(entries(out), 8u);
}

TEST(BaselineCommand, SameResultForAnyThreadCount) {
  const nlohmann::json one = run_json("baseline " + store() + " --label-column cell_type --pcs 10 --threads 1");
  const nlohmann::json two = run_json("baseline " + store() + " --label-column cell_type --pcs 10 --threads 3");
  EXPECT_EQ(one["knn"]["accuracy"], two["knn"]["accuracy"]);
  EXPECT_EQ(one["knn"]["explained_variance_ratio"], two["knn"]["explained_variance_ratio"]);
  EXPECT_EQ(one["logreg"]["accuracy"], two["logreg"]["accuracy"]);
  EXPECT_EQ(one["logreg"]["iterations"], two["logreg"]["iterations"]);
}

TEST(BaselineCommand, BadInputIsOneLineAndWritesNothing) {
  const fs::path out = dir() / "bad";
  const std::string base = "baseline " + store() + " -o " + out.string() + " ";
  expect_clean_failure(run_c2s(base + "--label-column nope"), "no obs column 'nope'");
  expect_clean_failure(run_c2s(base + "--label-column cell_type --test-split holdout"), "no cells in split 'holdout'");
  expect_clean_failure(run_c2s(base + "--label-column split"), "single 'split' label");  // all "train"
  expect_clean_failure(run_c2s(base + "--label-column cell_type --k 0"), "--k must be at least 1", 2);
  expect_clean_failure(run_c2s(base + "--label-column cell_type --pcs 0"), "--pcs must be at least 1", 2);
  expect_clean_failure(run_c2s(base + "--label-column cell_type --k 100000"), "more than the");
  expect_clean_failure(run_c2s(base + "--label-column cell_type --pcs 100000"), "--pcs 100000 is more than");
  expect_clean_failure(run_c2s("baseline " + store() + " --label-column cell_type -o " + (dir() / "no/such").string()),
                       "does not exist");
  EXPECT_FALSE(fs::exists(out));

  // A store without a split, and one whose test split is empty.
  const std::string unsplit = (dir() / "unsplit.c2s").string();
  run_json("convert " + (dir() / "sim.h5ad").string() + " -o " + unsplit + " --min-genes 10 --min-cells 1");
  expect_clean_failure(run_c2s("baseline " + unsplit + " --label-column cell_type"), "no split yet");
  const std::string no_test = (dir() / "no_test.c2s").string();
  fs::copy_file(unsplit, no_test);
  run_json("split " + no_test + " --fractions 0.9,0.1,0");
  expect_clean_failure(run_c2s("baseline " + no_test + " --label-column cell_type -o " + out.string()),
                       "no cells in split 'test'");
  EXPECT_FALSE(fs::exists(out));

  // A folder holding other files is not replaced.
  fs::create_directories(out);
  std::ofstream(out / "notes.txt") << "mine\n";
  expect_clean_failure(run_c2s(base + "--label-column cell_type"), "holds other files (notes.txt)");
  EXPECT_EQ(entries(out), 1u);
  for (const auto& e : fs::directory_iterator(dir()))
    EXPECT_EQ(e.path().filename().string().rfind(".baseline", 0), std::string::npos) << "temporary left: " << e.path();
}

}  // namespace c2s
