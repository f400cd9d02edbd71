// Task examples from a small simulated store: every task writes valid rows
// whose prompts hold the right cells and labels; grouping, control pairing,
// splits, subsets and abstracts; thread-count independence; clear errors.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>

#include "core/thread_pool.hpp"
#include "test_support.hpp"
#include "text/builtin_prompts.hpp"
#include "text/prompt_examples.hpp"
#include "text/prompt_test_store.hpp"

namespace c2s {
using testing_support::expect_error;
using testing_support::read_jsonl;
using testing_support::slurp;
using testing_support::prompt_test_store;
using testing_support::ScratchDir;

namespace {



std::vector<nlohmann::json> run(const ExampleOptions& o, const std::string& out, ExamplePlan* plan_out = nullptr) {
  SentenceStore store(prompt_test_store());
  ExamplePlan plan = plan_examples(store, o);
  PromptFormatter f = PromptFormatter::for_task(o.task, {}, o.seed);
  EXPECT_EQ(write_prompt_examples(store, plan, f, out), std::int64_t(plan.size()));
  if (plan_out) *plan_out = plan;
  return read_jsonl(out);
}

ExampleOptions options(PromptTask task) {
  ExampleOptions o;
  o.task = task;
  o.top_k = 25;
  return o;
}

struct ThreadsGuard {
  ~ThreadsGuard() { ThreadPool::set_default_threads(0); }
};

}  // namespace

TEST(PromptExamples, CellTypePredictionRowsHoldTheCellAndItsLabel) {
  ScratchDir dir;
  SentenceStore store(prompt_test_store());
  auto rows = run(options(PromptTask::CellTypePrediction), dir.file("ct.jsonl"));
  ASSERT_EQ(rows.size(), std::size_t(store.n_cells()));
  const PromptTemplates builtin = builtin_prompts(PromptTask::CellTypePrediction);
  const Column* type = store.obs().find("cell_type");
  for (const auto& r : rows) {
    auto cell = r["cell_index"].get<std::int64_t>();
    EXPECT_EQ(r["task"], "cell_type_prediction");
    EXPECT_EQ(r["cell_name"], store.cell_names()[std::size_t(cell)]);
    EXPECT_EQ(r["label"], type->text(std::size_t(cell)));
    EXPECT_EQ(r["response"], type->text(std::size_t(cell)) + ".");
    const std::string input = r["model_input"];
    EXPECT_NE(input.find(store.sentence(cell, 25) + "."), std::string::npos);
    EXPECT_EQ(input.find(store.sentence(cell, 26)), std::string::npos);  // top-k only
    const PromptValues expected{{"cell_sentence", store.sentence(cell, 25)},
                                {"num_genes", "25"},
                                {"organism", "Homo sapiens"},
                                {"cell_type", type->text(std::size_t(cell))}};
    EXPECT_EQ(input, builtin.model_input[r["template"].get<std::size_t>()].format(expected));
  }
  EXPECT_EQ(rows.front()["cell_index"], 0);  // store order
}

TEST(PromptExamples, GenerationAndLabelPrediction) {
  ScratchDir dir;
  SentenceStore store(prompt_test_store());
  auto gen = run(options(PromptTask::CellTypeGeneration), dir.file("gen.jsonl"));
  for (const auto& r : gen) {
    auto cell = r["cell_index"].get<std::int64_t>();
    EXPECT_EQ(r["response"], store.sentence(cell, 25) + ".");
    EXPECT_NE(r["model_input"].get<std::string>().find(r["label"].get<std::string>()), std::string::npos);
  }
  ExampleOptions o = options(PromptTask::LabelPrediction);
  o.label_column = "sample_id";
  o.organism = "Mus musculus";
  ExamplePlan plan;
  auto label = run(o, dir.file("label.jsonl"), &plan);
  EXPECT_EQ(plan.options.label_name, "sample id");
  const Column* donor = store.obs().find("sample_id");
  for (const auto& r : label) {
    auto cell = std::size_t(r["cell_index"].get<std::int64_t>());
    EXPECT_EQ(r["response"], donor->text(cell) + ".");
    const std::string input = r["model_input"];
    EXPECT_NE(input.find("sample id"), std::string::npos) << input;
    EXPECT_NE(input.find("Mus musculus"), std::string::npos);
  }
}

TEST(PromptExamples, TissueGroupsAreCutIntoExamplesOfOneTissue) {
  ScratchDir dir;
  SentenceStore store(prompt_test_store());
  ExampleOptions o = options(PromptTask::TissuePrediction);
  o.min_cells = 3;
  o.max_cells = 7;
  o.top_k = 10;
  ExamplePlan plan;
  auto rows = run(o, dir.file("tissue.jsonl"), &plan);
  const PromptTemplates builtin = builtin_prompts(PromptTask::TissuePrediction);
  const Column* tissue = store.obs().find("tissue");
  std::map<std::string, std::int64_t> cells_per_group, small_examples;
  std::set<std::int64_t> seen;
  for (const auto& r : rows) {
    const auto cells = r["cell_indices"].get<std::vector<std::int64_t>>();
    ASSERT_GE(cells.size(), 1u);
    EXPECT_LE(cells.size(), 7u);
    if (cells.size() < 3) ++small_examples[r["group"]];
    cells_per_group[r["group"]] += std::int64_t(cells.size());
    std::string expected_cells;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      EXPECT_EQ(tissue->text(std::size_t(cells[i])), r["label"]);  // one tissue per example
      EXPECT_TRUE(seen.insert(cells[i]).second) << "cell used twice";
      EXPECT_EQ(r["cell_names"][i], store.cell_names()[std::size_t(cells[i])]);
      expected_cells += "Cell " + std::to_string(i + 1) + ":\n" + store.sentence(cells[i], 10) + ".\n";
    }
    const std::string input = r["model_input"];
    EXPECT_NE(input.find(expected_cells), std::string::npos);
    const PromptValues expected{{"multi_cell_sentences", expected_cells},
                                {"num_cells", std::to_string(cells.size())},
                                {"num_genes", "10"},
                                {"organism", "Homo sapiens"},
                                {"tissue", r["label"]}};
    EXPECT_EQ(input, builtin.model_input[r["template"].get<std::size_t>()].format(expected));
    EXPECT_EQ(r["response"], r["label"].get<std::string>() + ".");
    EXPECT_EQ(r["group"], r["label"]);
  }
  EXPECT_EQ(seen.size(), std::size_t(store.n_cells()));  // every cell once
  EXPECT_EQ(cells_per_group.size(), 3u);
  for (const auto& [g, n] : small_examples) EXPECT_LE(n, 1) << g;  // at most the last piece of a group
  EXPECT_EQ(plan.summary["groups"], 3);

  // Grouped by donor too, and generation from a tissue.
  o.group_by = {"condition"};
  o.task = PromptTask::TissueConditionalGeneration;
  auto gen = run(o, dir.file("tissue_gen.jsonl"));
  std::set<std::string> groups;
  const Column* condition = store.obs().find("condition");
  for (const auto& r : gen) {
    groups.insert(r["group"]);
    const auto cells = r["cell_indices"].get<std::vector<std::int64_t>>();
    EXPECT_EQ(r["group"], r["label"].get<std::string>() + " | " + condition->text(std::size_t(cells[0])));
    std::vector<std::string> sentences;
    for (auto c : cells) sentences.push_back(store.sentence(c, 10));
    EXPECT_EQ(r["response"], join_multi_cell_sentences(sentences));
    EXPECT_NE(r["model_input"].get<std::string>().find(r["label"].get<std::string>()), std::string::npos);
  }
  EXPECT_EQ(groups.size(), 6u);
}

TEST(PromptExamples, NaturalLanguageInterpretationTakesAbstractsPerGroup) {
  ScratchDir dir;
  SentenceStore store(prompt_test_store());
  ExampleOptions o = options(PromptTask::NaturalLanguageInterpretation);
  o.group_by = {"sample_id"};
  o.abstracts = {{"donor_1", "Blood of donor one."}, {"donor_2", "Blood of donor two, {with braces}."}};
  ExamplePlan plan;
  auto rows = run(o, dir.file("nli.jsonl"), &plan);
  const Column* donor = store.obs().find("sample_id");
  for (const auto& r : rows) {
    const std::string g = r["group"];
    EXPECT_EQ(r["response"], o.abstracts.at(g));  // abstracts are values: braces stay as written
    for (auto c : r["cell_indices"].get<std::vector<std::int64_t>>()) EXPECT_EQ(donor->text(std::size_t(c)), g);
    EXPECT_FALSE(r.contains("label"));
  }
  EXPECT_EQ(plan.summary["skipped"]["groups_without_abstract"], 1);  // donor_3
  EXPECT_GT(plan.summary["skipped"]["cells_without_abstract"].get<int>(), 0);

  // From an obs column instead.
  ExampleOptions c = options(PromptTask::NaturalLanguageInterpretation);
  c.abstract_column = "tissue";
  auto by_column = run(c, dir.file("nli2.jsonl"));
  for (const auto& r : by_column) EXPECT_EQ(r["response"], r["group"]);

  ExampleOptions none = options(PromptTask::NaturalLanguageInterpretation);
  expect_error([&] { plan_examples(store, none); }, "needs an abstract per group");
  none.abstracts = {{"nobody", "x"}};
  expect_error([&] { plan_examples(store, none); }, "--group-by");
  none.group_by = {"sample_id"};
  expect_error([&] { plan_examples(store, none); }, "none of the 3 groups has an abstract");
}

TEST(PromptExamples, PerturbedCellsPairWithControlsOfTheSameType) {
  ScratchDir dir;
  SentenceStore store(prompt_test_store());
  const Column* type = store.obs().find("cell_type");
  const Column* condition = store.obs().find("condition");
  auto rows = run(options(PromptTask::PerturbationPrediction), dir.file("pert.jsonl"));
  ASSERT_GT(rows.size(), 50u);
  std::set<std::int64_t> controls;
  for (const auto& r : rows) {
    auto p = std::size_t(r["cell_index"].get<std::int64_t>()), c = std::size_t(r["control_index"].get<std::int64_t>());
    EXPECT_EQ(condition->text(p), "stim");
    EXPECT_EQ(condition->text(c), "ctrl");
    EXPECT_EQ(type->text(p), type->text(c));
    EXPECT_EQ(r["match"], type->text(p));
    EXPECT_EQ(r["perturbation"], "stim");
    EXPECT_EQ(r["response"], store.sentence(std::int64_t(p), 25) + ".");
    const std::string input = r["model_input"];
    EXPECT_NE(input.find(store.sentence(std::int64_t(c), 25) + "."), std::string::npos);
    EXPECT_NE(input.find("stim"), std::string::npos);
    controls.insert(std::int64_t(c));
  }
  EXPECT_GT(controls.size(), 10u);  // random controls, not always the same one

  ExampleOptions o = options(PromptTask::PerturbationPrediction);
  o.match_column = "";
  EXPECT_GE(run(o, dir.file("any.jsonl")).size(), rows.size());
  o.control_value = "untreated";
  expect_error([&] { plan_examples(store, o); }, "no control cells: no cell has condition 'untreated' (values: 'ctrl', 'stim'");
  o.control_value = "ctrl";
  o.condition_column = "treatment";
  expect_error([&] { plan_examples(store, o); }, "no obs column 'treatment'");
}

TEST(PromptExamples, SplitsSubsetsAndSeeds) {
  ScratchDir dir;
  SentenceStore store(prompt_test_store());
  const Column* split = store.obs().find("split");
  ExampleOptions o = options(PromptTask::CellTypePrediction);
  o.split = "test";
  auto test_rows = run(o, dir.file("test.jsonl"));
  ASSERT_GT(test_rows.size(), 10u);
  for (const auto& r : test_rows) EXPECT_EQ(split->text(std::size_t(r["cell_index"].get<std::int64_t>())), "test");

  o.split.reset();
  o.max_examples = 17;
  ExamplePlan plan;
  auto subset = run(o, dir.file("subset.jsonl"), &plan);
  ASSERT_EQ(subset.size(), 17u);
  EXPECT_EQ(plan.summary["examples_available"], store.n_cells());
  for (std::size_t i = 1; i < subset.size(); ++i) EXPECT_LT(subset[i - 1]["cell_index"], subset[i]["cell_index"]);
  EXPECT_GT(subset.back()["cell_index"].get<std::int64_t>(), 100);  // spread, not the first 17

  // A cell keeps its template whatever the subset (keyed by cell index).
  auto all = run(options(PromptTask::CellTypePrediction), dir.file("all.jsonl"));
  for (const auto& r : subset) EXPECT_EQ(all[r["cell_index"].get<std::size_t>()]["model_input"], r["model_input"]);

  ExampleOptions other = options(PromptTask::CellTypePrediction);
  other.seed = 1;
  auto reseeded = run(other, dir.file("seed1.jsonl"));
  std::size_t differ = 0;
  for (std::size_t i = 0; i < all.size(); ++i) differ += all[i]["template"] != reseeded[i]["template"];
  EXPECT_GT(differ, all.size() / 2);

  o.split = "holdout";
  o.max_examples = 0;
  expect_error([&] { plan_examples(store, o); }, "no cells in split 'holdout'");
}

TEST(PromptExamples, OutputDoesNotDependOnThreadCount) {
  ThreadsGuard guard;
  ScratchDir dir;
  for (PromptTask task : {PromptTask::CellTypePrediction, PromptTask::TissuePrediction,
                          PromptTask::PerturbationPrediction}) {
    ExampleOptions o = options(task);
    o.min_cells = 2;
    o.max_cells = 9;
    ThreadPool::set_default_threads(1);
    run(o, dir.file("t1.jsonl"));
    ThreadPool::set_default_threads(3);
    run(o, dir.file("t3.jsonl"));
    EXPECT_EQ(slurp(dir.file("t1.jsonl")), slurp(dir.file("t3.jsonl"))) << task_name(task);
  }
}

TEST(PromptExamples, MissingColumnsAndLabels) {
  SentenceStore store(prompt_test_store());
  ExampleOptions o = options(PromptTask::CellTypePrediction);
  o.label_column = "disease";
  try {
    plan_examples(store, o);
    ADD_FAILURE() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("no obs column 'disease' for the labels (choose one with --label-column) "
                                         "(obs columns: cell_type"),
              std::string::npos)
        << e.what();
  }
  ExampleOptions g = options(PromptTask::TissuePrediction);
  g.group_by = {"donor"};
  expect_error([&] { plan_examples(store, g); }, "no obs column 'donor' to group cells by");
  g.group_by.clear();
  g.min_cells = 4;
  g.max_cells = 2;
  expect_error([&] { plan_examples(store, g); }, "cells per example: 4-2");
}

TEST(PromptExamples, CellsWithoutALabelAreSkipped) {
  ScratchDir dir;
  // A copy of the store where a third of the cells have no label.
  std::string path = dir.file("partial.c2s");
  std::filesystem::copy_file(prompt_test_store(), path);
  Column partial{.name = "disease", .kind = Column::Kind::Categorical};
  partial.categories = {"healthy", "COVID-19"};
  std::int64_t n_cells = SentenceStore(path).n_cells();
  for (std::int64_t i = 0; i < n_cells; ++i) partial.codes.push_back(i % 3 == 0 ? -1 : std::int32_t(i % 2));
  set_store_obs_column(path, partial);
  SentenceStore store(path);
  ExampleOptions o = options(PromptTask::LabelPrediction);
  o.label_column = "disease";
  ExamplePlan plan = plan_examples(store, o);
  EXPECT_EQ(plan.summary["skipped"]["missing_label"], (n_cells + 2) / 3);
  EXPECT_EQ(std::int64_t(plan.size()), n_cells - (n_cells + 2) / 3);
  PromptValues v = example_values(plan, 0, std::vector<std::string>{"A B"});
  EXPECT_EQ(v.at("label_name"), "disease");
  EXPECT_EQ(v.at("num_genes"), "2");
  EXPECT_EQ(v.at("label"), plan.labels[std::size_t(plan.label[0])]);
}

}  // namespace c2s

namespace c2s {

TEST(PromptExamples, ATrainerFormatsPlannedExamplesOnTheFly) {
  ScratchDir dir;
  SentenceStore store(prompt_test_store());
  ExampleOptions o = options(PromptTask::TissuePrediction);
  ExamplePlan plan;
  auto rows = run(o, dir.file("written.jsonl"), &plan);
  StoreSentences sentences;
  sentences.load(store, plan.cells, o.top_k);
  PromptFormatter same = PromptFormatter::for_task(o.task, {}, o.seed), epoch2 = PromptFormatter::for_task(o.task, {}, 1000);
  std::size_t other_templates = 0;
  for (std::size_t i = 0; i < plan.size(); ++i) {
    FormattedPrompt p = format_example(plan, i, sentences, same);
    EXPECT_EQ(p.model_input, rows[i]["model_input"]);
    EXPECT_EQ(p.response, rows[i]["response"]);
    other_templates += format_example(plan, i, sentences, epoch2).input_template != p.input_template;
  }
  EXPECT_GT(other_templates, plan.size() / 2);
  StoreSentences few;
  few.load(store, {5, 3, 5}, 4);
  EXPECT_EQ(few.sentence(5), store.sentence(5, 4));
  expect_error([&] { few.sentence(4); }, "cell 4 was not loaded");
}

}  // namespace c2s
