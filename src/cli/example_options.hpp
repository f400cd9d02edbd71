// The flags that choose and format a task's prompt examples from a store,
// shared by `c2s prompts` (which writes them) and `c2s train` (which trains
// on them), so both read the same flags the same way.
#pragma once
#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

#include "text/prompt_examples.hpp"
#include "text/prompt_formatter.hpp"

namespace c2s {

struct ExampleArgs {
  std::string task, prompts, organism = "Homo sapiens", label_column, label_name, group_by, cells = "5", abstracts,
      abstract_column, condition_column = "condition", control = "ctrl", match_column = "cell_type";
  std::int64_t top_k = 200, max_examples = 0;
  std::uint64_t seed = 42;
};

// --task, --prompts, --top-k, --organism, --label-column, --label-name,
// --seed, --max-examples and the multi-cell and perturbation flags.
void add_example_options(CLI::App* cmd, ExampleArgs& args);

// The options for plan_examples (split left unset), after checking that
// every flag given applies to the task (UsageError naming the flag).
ExampleOptions example_options(const CLI::App* cmd, const ExampleArgs& args);

// The task's formatter: the built-in templates or --prompts, checked first so
// that a bad template file fails before any data is read.
PromptFormatter example_formatter(const ExampleArgs& args);

}  // namespace c2s
