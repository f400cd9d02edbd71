// `c2s annotate` run as a user would, on a tiny model trained from scratch on
// a simulated split store: constrained and free modes, their files and
// scores, and bad input refused in one line.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli_runner.hpp"
#include "test_support.hpp"

namespace c2s {
namespace {

using namespace testing_support;
namespace fs = std::filesystem;
using nlohmann::json;

fs::path dir() { return process_dir("c2s_annotate_cli"); }

// A store of 4 well separated simulated cell types, split by cells, and a
// tiny model trained on it (once for the whole file).
struct Trained {
  std::string store, model;
};
const Trained& trained() {
  static Trained t = [] {
    const fs::path d = dir();
    Trained r{(d / "sim.c2s").string(), (d / "run" / "checkpoint-best").string()};
    run_json("simulate -n 400 --genes 400 --cell-types 4 --seed 5 -o " + (d / "sim.h5ad").string());
    run_json("convert " + (d / "sim.h5ad").string() + " -o " + r.store + " --min-genes 20");
    run_json("split " + r.store);
    run_json("--threads 2 train --init tiny --data " + r.store + " --task cell_type_prediction --top-k 30 -o " +
             (d / "run").string() + " --batch-size 8 --lr 3e-3 --epochs 2 --warmup-steps 4 --eval-every 20");
    return r;
  }();
  return t;
}

std::vector<std::string> csv_lines(const fs::path& p) {
  std::vector<std::string> lines;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(AnnotateCli, ConstrainedModeScoresEveryLabelAndReportsTheTruth) {
  const Trained& t = trained();
  const fs::path out = dir() / "constrained";
  const json s = run_json("--threads 2 annotate --model " + t.model + " --data " + t.store + " -o " + out.string());
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
}

TEST(AnnotateCli, LabelsFromAFileAreTheCandidates) {
  const Trained& t = trained();
  const json task = json::parse(slurp(fs::path(t.model) / "c2s_task.json"));
  const std::string first = task["labels"][0], second = task["labels"][1];
  const fs::path labels = dir() / "two_labels.txt";
  std::ofstream(labels) << first << "\r\n\n" << second << "\n" << first << "\n";  // CRLF, a blank line, a repeat
  const fs::path out = dir() / "two";
  const json s = run_json("--threads 2 annotate --model " + t.model + " --data " + t.store + " --labels " +
                          labels.string() + " -o " + out.string());
  EXPECT_EQ(s["labels"], json::array({first, second}));
  for (const auto& line : csv_lines(out / "annotations.csv"))
    if (line.rfind("cell,", 0) != 0)
      EXPECT_TRUE(line.find("," + first + ",") != std::string::npos || line.find("," + second + ",") != std::string::npos)
          << line;
}

TEST(AnnotateCli, FreeModeMatchesGeneratedAnswersToLabels) {
  const Trained& t = trained();
  const fs::path out = dir() / "free";
  const json s = run_json("--threads 2 annotate --mode free --model " + t.model + " --data " + t.store + " -o " +
                          out.string());
  EXPECT_EQ(s["mode"], "free");
  EXPECT_GT(s["exact_matches"].get<int>(), 0);
  EXPECT_GE(s["scores"]["accuracy"].get<double>(), 0.5) << s.dump();
  EXPECT_TRUE(fs::exists(out / "confusion_matrix.png"));
}

TEST(AnnotateCli, BadInputIsOneLine) {
  const Trained& t = trained();
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
  for (const char* name : {"a", "b", "c", "d", "e", "f"}) EXPECT_FALSE(fs::exists(d / name)) << name;
}

}  // namespace
}  // namespace c2s
