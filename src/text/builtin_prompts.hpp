// The prompt templates c2s ships for every task, built into the binary in the
// C2S JSON format (`c2s prompts --show-templates TASK` writes one out to edit).
#pragma once
#include <string_view>

#include "text/prompt_tasks.hpp"
#include "text/prompt_template.hpp"

namespace c2s {

// The task's template file as JSON text.
std::string_view builtin_prompts_json(PromptTask task);
// Parsed and validated; origin "built-in <task>".
PromptTemplates builtin_prompts(PromptTask task);

}  // namespace c2s
