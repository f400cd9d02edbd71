// The C2S prompt tasks and what each one's templates may and must contain,
// so that a template set is checked against its task when it is loaded.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "text/prompt_template.hpp"

namespace c2s {

enum class PromptTask {
  CellTypePrediction,             // cell sentence -> cell type
  CellTypeGeneration,             // cell type -> cell sentence
  TissuePrediction,               // several cells -> their tissue
  TissueConditionalGeneration,    // tissue -> several cells
  NaturalLanguageInterpretation,  // several cells -> an abstract
  PerturbationPrediction,         // control cell + perturbation -> perturbed cell
  LabelPrediction,                // cell sentence -> any obs label (disease, donor...)
};

struct TaskSpec {
  PromptTask task;
  std::string_view name;     // e.g. "cell_type_prediction"
  std::string_view summary;  // one line for --help and --list-tasks
  bool multi_cell = false;   // examples are groups of cells
  // Every model input must contain all of `input_required` and may also use
  // `input_optional`; likewise for responses. Anything else is an Error at
  // load time: a model input naming the answer would give it away, and a
  // response without it would teach nothing.
  std::vector<std::string_view> input_required, input_optional, response_required, response_optional;
};

const std::vector<TaskSpec>& task_specs();
const TaskSpec& task_spec(PromptTask task);
// A UsageError listing the tasks for an unknown name.
PromptTask parse_task(std::string_view name);
std::string_view task_name(PromptTask task);
std::string task_names();  // "cell_type_prediction, cell_type_generation, ..."

// Checks every template against the task (see TaskSpec) and, when the file
// names a task, that it is this one. Errors name the template and the key.
void validate_templates(const PromptTemplates& templates, PromptTask task);

}  // namespace c2s
