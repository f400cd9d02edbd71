// `c2s prompts` run as a user would: examples of every task from a simulated
// store, templates written out and passed back, thread-count independence,
// and bad input (one-line error, non-zero exit, no output left behind).
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
fs::path dir() { return process_dir("c2s_prompts_cli"); }


// A simulated store with a split (cell_type, sample_id, condition ctrl/stim).
std::string store() {
  static std::string s = [] {
    std::string h5ad = (dir() / "sim.h5ad").string(), p = (dir() / "sim.c2s").string();
    run_json("simulate -n 300 --genes 800 --seed 3 -o " + h5ad);
    run_json("convert " + h5ad + " -o " + p + " --min-genes 20");
    run_json("split " + p);
    return p;
  }();
  return s;
}

// Runs `c2s prompts` into an empty folder and expects a clean failure.
void prompts_fail(const std::string& args, const std::string& needle, int code) {
  fs::path out = dir() / "fail";
  fs::remove_all(out);
  fs::create_directories(out);
  CliResult r = run_c2s("prompts " + args + " -o " + (out / "x.jsonl").string() + " -q");
  expect_clean_failure(r, needle, code);
  EXPECT_EQ(entries(out), 0u) << "output left behind: " << args;
}
}  // namespace

TEST(PromptsCommand, CellTypePredictionLoadsAsJsonLines) {
  std::string out = (dir() / "ct.jsonl").string();
  nlohmann::json s = run_json("prompts " + store() + " --task cell_type_prediction -o " + out + " --top-k 50");
  ASSERT_GT(s["examples"].get<int>(), 200);
  EXPECT_EQ(s["task"], "cell_type_prediction");
  EXPECT_EQ(s["prompts"], "built-in cell_type_prediction");
  EXPECT_EQ(s["label_column"], "cell_type");
  auto rows = read_jsonl(out);
  EXPECT_EQ(rows.size(), s["examples"].get<std::size_t>());
  // Hugging Face datasets' json loader builds on pandas.read_json(lines=True).
  EXPECT_EQ(run_python("import pandas as pd\n"
                       "d = pd.read_json('" + out + "', lines=True)\n"
                       "assert len(d) == " + std::to_string(rows.size()) + ", len(d)\n"
                       "assert list(d.columns[:3]) == ['model_input', 'response', 'task'], d.columns\n"
                       "assert (d.response == d.label + '.').all()\n"
                       "assert d.model_input.str.contains('Homo sapiens').all()\n"),
            0);
}

TEST(PromptsCommand, EveryTaskFromTheCommandLine) {
  // A tissue column for the tissue tasks: the donor stands in for it.
  std::string base = store();
  std::string p = (dir() / "every.c2s").string();
  fs::copy_file(base, p, fs::copy_options::overwrite_existing);
  std::string abstracts = (dir() / "abstracts.json").string();
  std::ofstream(abstracts) << R"({"donor_1": "PBMCs of donor 1.", "donor_2": "PBMCs of donor 2.",
                                 "donor_3": "PBMCs of donor 3.", "donor_4": "PBMCs of donor 4."})";
  struct Case {
    std::string task, extra;
  };
  for (const Case& c : {Case{"cell_type_generation", ""}, Case{"label_prediction", "--label-column condition"},
                        Case{"tissue_prediction", "--label-column sample_id --cells-per-example 3-8"},
                        Case{"tissue_conditional_generation", "--label-column sample_id"},
                        Case{"natural_language_interpretation", "--group-by sample_id --abstracts " + abstracts},
                        Case{"perturbation_prediction", "--control ctrl --match-column cell_type"}}) {
    std::string out = (dir() / (c.task + ".jsonl")).string();
    nlohmann::json s = run_json("prompts " + p + " --task " + c.task + " -o " + out + " --top-k 20 --split train " +
                                c.extra);
    auto rows = read_jsonl(out);
    ASSERT_GT(rows.size(), 5u) << c.task;
    EXPECT_EQ(rows.size(), s["examples"].get<std::size_t>());
    for (const auto& r : rows) {
      EXPECT_EQ(r["task"], c.task);
      EXPECT_FALSE(r["model_input"].get<std::string>().empty());
      EXPECT_FALSE(r["response"].get<std::string>().empty());
    }
  }
}

TEST(PromptsCommand, TemplatesWrittenOutAndPassedBack) {
  std::string templates = (dir() / "ct_templates.json").string();
  nlohmann::json shown = run_json("prompts --show-templates cell_type_prediction -o " + templates);
  EXPECT_EQ(shown["model_input_templates"], 10);
  CliResult printed = run_c2s("prompts --show-templates cell_type_prediction");
  EXPECT_EQ(printed.out, slurp(templates));
  std::string a = (dir() / "builtin.jsonl").string(), b = (dir() / "file.jsonl").string();
  run_json("prompts " + store() + " --task cell_type_prediction -o " + a);
  nlohmann::json s = run_json("prompts " + store() + " --task cell_type_prediction -o " + b + " --prompts " + templates);
  EXPECT_EQ(s["prompts"], templates);
  EXPECT_EQ(slurp(a), slurp(b));
  // The reference package's own file works as it is.
  std::string ref = std::string(C2S_SHARED_DIR) + "/prompts/c2s-reference/single_cell_cell_type_prediction_prompts.json";
  nlohmann::json r = run_json("prompts " + store() + " --task cell_type_prediction -o " + b + " --prompts " + ref);
  EXPECT_EQ(r["model_input_templates"], 15);
  nlohmann::json tasks = run_json("prompts --list-tasks");
  EXPECT_EQ(tasks.size(), 7u);
  EXPECT_EQ(tasks["perturbation_prediction"]["response_requires"][0], "perturbed_cell_sentence");
}

TEST(PromptsCommand, ThreadCountDoesNotChangeTheExamples) {
  for (std::string task : {"cell_type_prediction", "perturbation_prediction"}) {
    std::string a = (dir() / "t1.jsonl").string(), b = (dir() / "t2.jsonl").string();
    run_json("prompts " + store() + " --task " + task + " -o " + a + " --threads 1");
    run_json("prompts " + store() + " --task " + task + " -o " + b + " --threads 2");
    EXPECT_EQ(slurp(a), slurp(b)) << task;
  }
}

TEST(PromptsCommand, BadInput) {
  const std::string s = store();
  prompts_fail(s + " --task cell_typing", "unknown task 'cell_typing' (tasks: cell_type_prediction", 2);
  prompts_fail(s + " --task tissue_prediction", "no obs column 'tissue' for the tissue", 2);
  prompts_fail(s + " --task label_prediction --label-column disease", "no obs column 'disease'", 2);
  prompts_fail(s + " --task cell_type_prediction --split holdout", "no cells in split 'holdout'", 1);
  prompts_fail(s + " --task natural_language_interpretation", "needs an abstract per group", 2);
  prompts_fail(s + " --task cell_type_prediction --abstracts x.json", "--abstracts applies to", 2);
  prompts_fail(s + " --task tissue_prediction --label-column sample_id --cells-per-example 5-2", "MAX below MIN", 2);
  prompts_fail(s + " --task perturbation_prediction --control untreated", "no control cells", 1);
  prompts_fail((dir() / "missing.c2s").string() + " --task cell_type_prediction", "missing.c2s", 1);
  prompts_fail("--task cell_type_prediction", "give STORE", 2);

  fs::path bad = dir() / "templates_bad.json";
  std::ofstream(bad) << R"({"model_input": ["{cell_sentence}", "Type of {cel_type}?"], "response": ["{cell_type}."]})";
  prompts_fail(s + " --task cell_type_prediction --prompts " + bad.string(),
               bad.string() + ": model_input[1]: unknown placeholder {cel_type}", 1);
  std::ofstream(bad) << R"({"model_input": ["{cell_sentence}"], "response": ["Done."]})";
  prompts_fail(s + " --task cell_type_prediction --prompts " + bad.string(), "must contain {cell_type}", 1);
  std::ofstream(bad) << R"({"model_input": ["{cell_sentence}"], )";
  prompts_fail(s + " --task cell_type_prediction --prompts " + bad.string(), "malformed JSON", 1);
  // Templates for another task are refused before any data is read.
  std::string tissue = std::string(C2S_SHARED_DIR) + "/prompts/c2s-reference/multi_cell_tissue_prediction_prompts.json";
  prompts_fail(s + " --task cell_type_prediction --prompts " + tissue, "must contain {cell_sentence}", 1);
}

}  // namespace c2s
