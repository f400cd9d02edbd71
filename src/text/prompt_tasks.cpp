#include "text/prompt_tasks.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace c2s {

const std::vector<TaskSpec>& task_specs() {
  static const std::vector<TaskSpec> specs{
      {PromptTask::CellTypePrediction, "cell_type_prediction", "predict a cell's type from its sentence", false,
       {"cell_sentence"}, {"num_genes", "organism"}, {"cell_type"}, {"organism"}},
      {PromptTask::CellTypeGeneration, "cell_type_generation", "generate a cell sentence of a given cell type", false,
       {"cell_type"}, {"num_genes", "organism"}, {"cell_sentence"}, {}},
      {PromptTask::TissuePrediction, "tissue_prediction", "predict the tissue of a group of cells", true,
       {"multi_cell_sentences"}, {"num_genes", "num_cells", "organism"}, {"tissue"}, {"organism"}},
      {PromptTask::TissueConditionalGeneration, "tissue_conditional_generation",
       "generate a group of cells from a given tissue", true, {"tissue"}, {"num_genes", "num_cells", "organism"},
       {"multi_cell_sentences"}, {}},
      {PromptTask::NaturalLanguageInterpretation, "natural_language_interpretation",
       "summarise a group of cells in natural language (an abstract)", true, {"multi_cell_sentences"},
       {"num_genes", "num_cells", "organism"}, {"abstract"}, {}},
      {PromptTask::PerturbationPrediction, "perturbation_prediction",
       "predict a perturbed cell from a control cell and the perturbation", false,
       {"control_cell_sentence", "perturbation_name"}, {"num_genes", "organism", "cell_type"},
       {"perturbed_cell_sentence"}, {}},
      {PromptTask::LabelPrediction, "label_prediction", "predict any obs label (disease, donor, condition...)", false,
       {"cell_sentence"}, {"num_genes", "organism", "label_name"}, {"label"}, {"label_name"}},
  };
  return specs;
}

const TaskSpec& task_spec(PromptTask task) {
  for (const auto& s : task_specs())
    if (s.task == task) return s;
  throw Error("unknown prompt task");
}

std::string task_names() {
  std::string s;
  for (const auto& spec : task_specs()) s += (s.empty() ? "" : ", ") + std::string(spec.name);
  return s;
}

PromptTask parse_task(std::string_view name) {
  for (const auto& s : task_specs())
    if (s.name == name) return s.task;
  throw UsageError("unknown task '" + std::string(name) + "' (tasks: " + task_names() + ")");
}

std::string_view task_name(PromptTask task) { return task_spec(task).name; }

namespace {

bool contains(const std::vector<std::string_view>& list, std::string_view name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

std::string braced(const std::vector<std::string_view>& names) {
  std::string s;
  for (auto n : names) s += (s.empty() ? "{" : ", {") + std::string(n) + "}";
  return s.empty() ? "none" : s;
}

void check(const std::vector<PromptTemplate>& templates, const TaskSpec& spec, bool input) {
  const auto& required = input ? spec.input_required : spec.response_required;
  const auto& optional = input ? spec.input_optional : spec.response_optional;
  const char* part = input ? "model input" : "response";
  for (const auto& t : templates) {
    for (auto r : required)
      if (!t.uses(r))
        throw Error(t.where(), "a " + std::string(part) + " of task " + std::string(spec.name) + " must contain {" +
                                   std::string(r) + "}");
    for (const auto& p : t.placeholders()) {
      if (contains(required, p) || contains(optional, p)) continue;
      if (input && contains(spec.response_required, p))
        throw Error(t.where(), "{" + p + "} is the answer of task " + std::string(spec.name) +
                                   "; a model input must not contain it");
      std::vector<std::string_view> allowed = required;
      allowed.insert(allowed.end(), optional.begin(), optional.end());
      throw Error(t.where(), "{" + p + "} is not available to a " + part + " of task " + std::string(spec.name) +
                                 " (available: " + braced(allowed) + ")");
    }
  }
}

}  // namespace

void validate_templates(const PromptTemplates& templates, PromptTask task) {
  const TaskSpec& spec = task_spec(task);
  if (!templates.task.empty() && templates.task != spec.name)
    throw UsageError(templates.origin, "the file's templates are for task " + templates.task + ", not " +
                                           std::string(spec.name));
  check(templates.model_input, spec, true);
  check(templates.response, spec, false);
}

}  // namespace c2s
