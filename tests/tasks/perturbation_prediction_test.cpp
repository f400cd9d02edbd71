// The perturbed sentence taken out of a generated response (the response
// template's text before and after it removed), and the task checks.
#include "tasks/perturbation_prediction.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"
#include "text/builtin_prompts.hpp"

namespace c2s {
namespace {

using testing_support::expect_error;

TEST(PerturbationPrediction, SentenceInTheBuiltInResponse) {
  const PromptTemplate t("{perturbed_cell_sentence}.", "test");
  EXPECT_EQ(sentence_in_response(t, {}, "ISG15 IFI6 MX1."), "ISG15 IFI6 MX1");
  EXPECT_EQ(sentence_in_response(t, {}, " ISG15 IFI6 MX1.\n"), "ISG15 IFI6 MX1");
  // Cut at the token limit: no final period to take off.
  EXPECT_EQ(sentence_in_response(t, {}, "ISG15 IFI6 MX"), "ISG15 IFI6 MX");
  EXPECT_EQ(sentence_in_response(t, {}, ""), "");
}

TEST(PerturbationPrediction, SentenceInATemplateWithTextAroundIt) {
  const PromptTemplate t("After {perturbation_name}: {perturbed_cell_sentence} (top {num_genes}).", "test");
  const PromptValues v{{"perturbation_name", "IFN-beta"}, {"num_genes", "3"}};
  EXPECT_EQ(sentence_in_response(t, v, "After IFN-beta: ISG15 IFI6 MX1 (top 3)."), "ISG15 IFI6 MX1");
  // Text the model did not reproduce stays (the parser drops unknown words later).
  EXPECT_EQ(sentence_in_response(t, v, "ISG15 IFI6 MX1 (top 3)."), "ISG15 IFI6 MX1");
  EXPECT_EQ(sentence_in_response(t, v, "After IFN-beta: ISG15 IFI6"), "ISG15 IFI6");
  EXPECT_EQ(sentence_in_response(t, v, "After IFN-gamma: ISG15"), "After IFN-gamma: ISG15");
}

TEST(PerturbationPrediction, OnlyPerturbationModelsAndKnownPerturbations) {
  ModelTask task;
  task.task = PromptTask::PerturbationPrediction;
  task.templates = builtin_prompts(task.task);
  task.labels = {"stim", "IFN-gamma"};
  check_perturbation_task(task);
  check_perturbation_task(task, "stim");
  expect_error([&] { check_perturbation_task(task, "LPS"); }, "'LPS' was not seen in training (the model knows 'stim', 'IFN-gamma')");
  task.task = PromptTask::CellTypePrediction;
  expect_error([&] { check_perturbation_task(task, "stim"); }, "trained for cell_type_prediction, not perturbation_prediction");
}

}  // namespace
}  // namespace c2s
