// c2s_task.json: a perturbation model's record keeps what `c2s perturb` needs
// (condition column, control value, perturbations, match column); other tasks
// carry none of it; the store genes a model knows, and a store of other
// genes refused.
#include "text/model_task.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/json_file.hpp"
#include "prompt_test_store.hpp"
#include "test_support.hpp"
#include "text/builtin_prompts.hpp"

namespace c2s {
namespace {

using testing_support::ScratchDir;

TEST(ModelTask, APerturbationRecordRoundTrips) {
  ScratchDir dir;
  ModelTask t;
  t.task = PromptTask::PerturbationPrediction;
  t.templates = builtin_prompts(t.task);
  t.label_column = "treatment";
  t.labels = {"IFN-beta", "LPS"};
  t.condition_column = "treatment";
  t.control_value = "untreated";
  t.match_column = "";
  t.top_k = 100;
  t.genes = {"CD3E", "ISG15"};
  const nlohmann::json j = model_task_json(t, "cells.c2s");
  EXPECT_EQ(j["perturbations"], nlohmann::json::array({"IFN-beta", "LPS"}));
  EXPECT_EQ(j["control"], "untreated");
  write_json_file(dir.path() / "c2s_task.json", j);
  const auto back = read_model_task(dir.path());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->task, PromptTask::PerturbationPrediction);
  EXPECT_EQ(back->condition_column, "treatment");
  EXPECT_EQ(back->control_value, "untreated");
  EXPECT_EQ(back->match_column, "");
  EXPECT_EQ(back->labels, (std::vector<std::string>{"IFN-beta", "LPS"}));
  EXPECT_EQ(back->top_k, 100);

  // The matching column, when there was one.
  t.match_column = "cell_type";
  write_json_file(dir.path() / "c2s_task.json", model_task_json(t, "cells.c2s"));
  EXPECT_EQ(read_model_task(dir.path())->match_column, "cell_type");
}

TEST(ModelTask, OtherTasksCarryNoPerturbationFields) {
  ModelTask t;
  t.task = PromptTask::CellTypePrediction;
  t.templates = builtin_prompts(t.task);
  t.labels = {"B cells"};
  const nlohmann::json j = model_task_json(t, "cells.c2s");
  for (const char* key : {"condition_column", "control", "perturbations", "match_column"})
    EXPECT_FALSE(j.contains(key)) << key;
}

TEST(ModelTask, TheStoreGenesTheModelKnowsAndAStoreOfOtherGenesRefused) {
  const SentenceStore store(testing_support::prompt_test_store());
  const std::size_t n = store.genes().size();
  ModelTask t;
  EXPECT_EQ(check_store_genes(t, store, "s.c2s"), std::vector<std::uint8_t>(n, 1));  // no genes recorded: all
  t.genes = store.genes();
  EXPECT_EQ(check_store_genes(t, store, "s.c2s"), std::vector<std::uint8_t>(n, 1));
  t.genes.resize(n / 2);  // the model knows half the store's genes: the others flagged
  std::vector<std::uint8_t> expected(n, 0);
  std::fill(expected.begin(), expected.begin() + std::ptrdiff_t(n / 2), 1);
  EXPECT_EQ(check_store_genes(t, store, "s.c2s"), expected);
  for (std::size_t i = 0; i < n; ++i) t.genes.push_back("NOT_A_GENE_" + std::to_string(i));  // most model genes absent
  testing_support::expect_error([&] { check_store_genes(t, store, "s.c2s"); }, "genes are in the data");
}

}  // namespace
}  // namespace c2s
