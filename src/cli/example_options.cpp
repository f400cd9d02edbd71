#include "cli/example_options.hpp"

#include <cstdlib>

#include "cli/list_option.hpp"
#include "core/error.hpp"

namespace c2s {

namespace {

// "5" or "5-20".
std::pair<std::int64_t, std::int64_t> parse_cell_range(const std::string& s) {
  auto number = [&](const std::string& part) {
    char* end = nullptr;
    long long v = std::strtoll(part.c_str(), &end, 10);
    if (part.empty() || end == part.c_str() || *end != '\0' || v < 1)
      throw UsageError("--cells-per-example: '" + s + "' is not N or MIN-MAX (cells, at least 1)");
    return std::int64_t(v);
  };
  auto dash = s.find('-');
  if (dash == std::string::npos) {
    auto n = number(s);
    return {n, n};
  }
  auto lo = number(s.substr(0, dash)), hi = number(s.substr(dash + 1));
  if (hi < lo) throw UsageError("--cells-per-example: '" + s + "' has MAX below MIN");
  return {lo, hi};
}

}  // namespace

void add_example_options(CLI::App* cmd, ExampleArgs& args) {
  cmd->add_option("--task", args.task, "Task: " + task_names());
  cmd->add_option("--prompts", args.prompts, "Template file (C2S JSON format) instead of the built-in templates");
  cmd->add_option("--top-k", args.top_k, "Genes per cell sentence (0 = all)")->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--organism", args.organism, "The organism named in the prompts ({organism})")->capture_default_str();
  cmd->add_option("--label-column", args.label_column,
                  "obs column of the labels (default: cell_type; tissue for the tissue tasks)");
  cmd->add_option("--label-name", args.label_name, "label_prediction: {label_name} (default: the column, _ as spaces)");
  cmd->add_option("--seed", args.seed, "Seed of template choice, grouping, control cells, subsets")
      ->capture_default_str();
  cmd->add_option("--max-examples", args.max_examples, "A seeded random subset of this many examples (0 = all)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--group-by", args.group_by,
                  "Multi-cell tasks: comma-separated obs columns whose groups of cells make examples "
                  "(tissue tasks group by the tissue column too)");
  cmd->add_option("--cells-per-example", args.cells, "Multi-cell tasks: N or MIN-MAX cells per example")
      ->capture_default_str();
  cmd->add_option("--abstracts", args.abstracts,
                  "natural_language_interpretation: JSON object mapping group keys to abstracts");
  cmd->add_option("--abstract-column", args.abstract_column,
                  "natural_language_interpretation: obs column holding each cell's abstract (groups cells too)");
  cmd->add_option("--condition-column", args.condition_column, "perturbation_prediction: obs column of conditions")
      ->capture_default_str();
  cmd->add_option("--control", args.control, "perturbation_prediction: the condition value of control cells")
      ->capture_default_str();
  cmd->add_option("--match-column", args.match_column,
                  "perturbation_prediction: pair with a control of the same value of this column ('none': any)")
      ->capture_default_str();
}

ExampleOptions example_options(const CLI::App* cmd, const ExampleArgs& a) {
  const PromptTask task = parse_task(a.task);
  const TaskSpec& spec = task_spec(task);
  auto only_for = [&](const char* flag, bool applies, const std::string& which) {
    if (cmd->count(flag) && !applies)
      throw UsageError(std::string(flag) + " applies to " + which + " only, not to task " + a.task);
  };
  const bool perturbation = task == PromptTask::PerturbationPrediction;
  const bool nli = task == PromptTask::NaturalLanguageInterpretation;
  only_for("--group-by", spec.multi_cell, "the multi-cell tasks");
  only_for("--cells-per-example", spec.multi_cell, "the multi-cell tasks");
  only_for("--abstracts", nli, "natural_language_interpretation");
  only_for("--abstract-column", nli, "natural_language_interpretation");
  only_for("--condition-column", perturbation, "perturbation_prediction");
  only_for("--control", perturbation, "perturbation_prediction");
  only_for("--match-column", perturbation, "perturbation_prediction");
  only_for("--label-name", task == PromptTask::LabelPrediction, "label_prediction");
  only_for("--label-column", !nli && !perturbation, "the prediction, generation and tissue tasks");
  if (!a.abstracts.empty() && !a.abstract_column.empty())
    throw UsageError("give --abstracts FILE or --abstract-column COL, not both");

  ExampleOptions options;
  options.task = task;
  options.top_k = a.top_k;
  options.organism = a.organism;
  options.label_column = a.label_column;
  options.label_name = a.label_name;
  options.seed = a.seed;
  options.max_examples = a.max_examples;
  options.group_by = split_list(a.group_by);
  std::tie(options.min_cells, options.max_cells) = parse_cell_range(a.cells);
  options.abstract_column = a.abstract_column;
  if (!a.abstracts.empty()) options.abstracts = load_abstracts(a.abstracts);
  options.condition_column = a.condition_column;
  options.control_value = a.control;
  options.match_column = a.match_column == "none" ? "" : a.match_column;
  return options;
}

PromptFormatter example_formatter(const ExampleArgs& args) {
  return PromptFormatter::for_task(parse_task(args.task), args.prompts, args.seed);
}

}  // namespace c2s
