// `c2s prompts STORE --task T -o OUT.jsonl`: prompt examples of a C2S task
// (model_input, response, provenance) from a store; `--show-templates TASK`
// writes a built-in template set out to edit; `--list-tasks` lists the tasks.
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "cli/command_context.hpp"
#include "cli/list_option.hpp"
#include "core/atomic_output.hpp"
#include "core/error.hpp"
#include "text/builtin_prompts.hpp"
#include "text/prompt_examples.hpp"

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

void write_text_atomically(const std::string& path, const std::string& text) {
  AtomicOutput output(path);
  {
    std::ofstream out(output.temp_path(), std::ios::binary);
    out << text;
    if (!out.flush()) throw Error(path, "write failed (disk full?)");
  }
  output.commit();
}

nlohmann::json describe_tasks() {
  nlohmann::json tasks = nlohmann::json::object();
  for (const auto& spec : task_specs()) {
    auto names = [](const std::vector<std::string_view>& v) {
      std::vector<std::string> out(v.begin(), v.end());
      return out;
    };
    tasks[std::string(spec.name)] = {{"summary", spec.summary},
                                     {"multi_cell", spec.multi_cell},
                                     {"model_input_requires", names(spec.input_required)},
                                     {"model_input_may_use", names(spec.input_optional)},
                                     {"response_requires", names(spec.response_required)},
                                     {"response_may_use", names(spec.response_optional)}};
  }
  return tasks;
}

}  // namespace

void add_prompts_command(CommandSet& set) {
  struct Args {
    std::string store, output, task, prompts, show_templates, organism = "Homo sapiens", label_column, label_name,
        split, group_by, cells = "5", abstracts, abstract_column, condition_column = "condition", control = "ctrl",
        match_column = "cell_type";
    std::int64_t top_k = 200, max_examples = 0;
    std::uint64_t seed = 42;
    bool list_tasks = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = set.app.add_subcommand(
      "prompts", "Build prompt examples of a C2S task (JSONL: model_input, response), or show the built-in templates");
  cmd->add_option("store", args->store, "Sentence store");
  cmd->add_option("-o,--output", args->output, "Examples to write (.jsonl); with --show-templates, the JSON file");
  cmd->add_option("--task", args->task, "Task: " + task_names());
  cmd->add_option("--prompts", args->prompts, "Template file (C2S JSON format) instead of the built-in templates");
  cmd->add_option("--show-templates", args->show_templates, "Print (or write with -o) the built-in templates of TASK");
  cmd->add_flag("--list-tasks", args->list_tasks, "List the tasks and the placeholders their templates use");
  cmd->add_option("--top-k", args->top_k, "Genes per cell sentence (0 = all)")->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--organism", args->organism, "The organism named in the prompts ({organism})")->capture_default_str();
  cmd->add_option("--label-column", args->label_column,
                  "obs column of the labels (default: cell_type; tissue for the tissue tasks)");
  cmd->add_option("--label-name", args->label_name, "label_prediction: {label_name} (default: the column, _ as spaces)");
  cmd->add_option("--split", args->split, "Only cells of this split (train, validation, test)");
  cmd->add_option("--seed", args->seed, "Seed of template choice, grouping, control cells, subsets")
      ->capture_default_str();
  cmd->add_option("--max-examples", args->max_examples, "A seeded random subset of this many examples (0 = all)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--group-by", args->group_by,
                  "Multi-cell tasks: comma-separated obs columns whose groups of cells make examples "
                  "(tissue tasks group by the tissue column too)");
  cmd->add_option("--cells-per-example", args->cells, "Multi-cell tasks: N or MIN-MAX cells per example")
      ->capture_default_str();
  cmd->add_option("--abstracts", args->abstracts,
                  "natural_language_interpretation: JSON object mapping group keys to abstracts");
  cmd->add_option("--abstract-column", args->abstract_column,
                  "natural_language_interpretation: obs column holding each cell's abstract (groups cells too)");
  cmd->add_option("--condition-column", args->condition_column, "perturbation_prediction: obs column of conditions")
      ->capture_default_str();
  cmd->add_option("--control", args->control, "perturbation_prediction: the condition value of control cells")
      ->capture_default_str();
  cmd->add_option("--match-column", args->match_column,
                  "perturbation_prediction: pair with a control of the same value of this column ('none': any)")
      ->capture_default_str();

  set.add(cmd, [args, cmd, &g = set.global] {
    const Args& a = *args;
    if (a.list_tasks) {
      nlohmann::json tasks = describe_tasks();
      if (g.json) {
        std::cout << tasks.dump(1) << "\n";
      } else {
        for (const auto& spec : task_specs()) std::cout << spec.name << ": " << spec.summary << "\n";
      }
      return;
    }
    if (!a.show_templates.empty()) {
      PromptTask task = parse_task(a.show_templates);
      std::string text = builtin_prompts(task).to_json().dump(2) + "\n";
      if (a.output.empty()) {
        std::cout << text;
        return;
      }
      write_text_atomically(a.output, text);
      const auto t = builtin_prompts(task);
      emit_summary(g, {{"output", a.output},
                       {"task", a.show_templates},
                       {"model_input_templates", t.model_input.size()},
                       {"response_templates", t.response.size()}});
      return;
    }
    if (a.store.empty() || a.task.empty() || a.output.empty())
      throw UsageError("prompts: give STORE, --task TASK and -o OUT.jsonl (or --show-templates TASK, --list-tasks)");

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

    // Templates first: a bad template file fails before any data is read.
    PromptFormatter formatter = PromptFormatter::for_task(task, a.prompts, a.seed);

    ExampleOptions options;
    options.task = task;
    options.top_k = a.top_k;
    options.organism = a.organism;
    options.label_column = a.label_column;
    options.label_name = a.label_name;
    if (!a.split.empty()) options.split = a.split;
    options.seed = a.seed;
    options.max_examples = a.max_examples;
    options.group_by = split_list(a.group_by);
    std::tie(options.min_cells, options.max_cells) = parse_cell_range(a.cells);
    options.abstract_column = a.abstract_column;
    if (!a.abstracts.empty()) options.abstracts = load_abstracts(a.abstracts);
    options.condition_column = a.condition_column;
    options.control_value = a.control;
    options.match_column = a.match_column == "none" ? "" : a.match_column;

    SentenceStore store(a.store);
    ExamplePlan plan = plan_examples(store, options);
    std::int64_t n = write_prompt_examples(store, plan, formatter, a.output);
    nlohmann::json summary = {{"output", a.output},
                              {"task", a.task},
                              {"examples", n},
                              {"prompts", formatter.templates().origin},
                              {"model_input_templates", formatter.templates().model_input.size()},
                              {"top_k", a.top_k},
                              {"seed", a.seed}};
    if (!nli && !perturbation) summary["label_column"] = plan.options.label_column;
    for (const auto& [key, value] : plan.summary.items())
      if (!summary.contains(key)) summary[key] = value;
    emit_summary(g, summary);
  });
}

}  // namespace c2s
