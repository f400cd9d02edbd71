// `c2s prompts STORE --task T -o OUT.jsonl`: prompt examples of a C2S task
// (model_input, response, provenance) from a store; `--show-templates TASK`
// writes a built-in template set out to edit; `--list-tasks` lists the tasks.
#include <fstream>
#include <iostream>

#include "cli/command_context.hpp"
#include "cli/example_options.hpp"
#include "core/atomic_output.hpp"
#include "core/error.hpp"
#include "text/builtin_prompts.hpp"
#include "text/prompt_examples.hpp"

namespace c2s {

namespace {

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
    std::string store, output, show_templates, split;
    ExampleArgs examples;
    bool list_tasks = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = set.app.add_subcommand(
      "prompts", "Build prompt examples of a C2S task (JSONL: model_input, response), or show the built-in templates");
  cmd->add_option("store", args->store, "Sentence store");
  cmd->add_option("-o,--output", args->output, "Examples to write (.jsonl); with --show-templates, the JSON file");
  cmd->add_option("--show-templates", args->show_templates, "Print (or write with -o) the built-in templates of TASK");
  cmd->add_flag("--list-tasks", args->list_tasks, "List the tasks and the placeholders their templates use");
  cmd->add_option("--split", args->split, "Only cells of this split (train, validation, test)");
  add_example_options(cmd, args->examples);

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
    const ExampleArgs& e = a.examples;
    if (a.store.empty() || e.task.empty() || a.output.empty())
      throw UsageError("prompts: give STORE, --task TASK and -o OUT.jsonl (or --show-templates TASK, --list-tasks)");
    const PromptFormatter formatter = example_formatter(e);  // a bad template file fails before any data is read
    ExampleOptions options = example_options(cmd, e);
    if (!a.split.empty()) options.split = a.split;

    SentenceStore store(a.store);
    ExamplePlan plan = plan_examples(store, options);
    std::int64_t n = write_prompt_examples(store, plan, formatter, a.output);
    nlohmann::json summary = {{"output", a.output},
                              {"task", e.task},
                              {"examples", n},
                              {"prompts", formatter.templates().origin},
                              {"model_input_templates", formatter.templates().model_input.size()},
                              {"top_k", e.top_k},
                              {"seed", e.seed}};
    if (!plan.options.label_column.empty() && options.task != PromptTask::NaturalLanguageInterpretation &&
        options.task != PromptTask::PerturbationPrediction)
      summary["label_column"] = plan.options.label_column;
    for (const auto& [key, value] : plan.summary.items())
      if (!summary.contains(key)) summary[key] = value;
    emit_summary(g, summary);
  });
}

}  // namespace c2s
