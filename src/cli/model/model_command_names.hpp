// The commands `c2s-model` runs, with their one-line descriptions: `c2s`
// lists them in its help and hands them over (see cli/main.cpp).
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace c2s {

inline const std::vector<std::pair<std::string, std::string>>& model_command_names() {
  static const std::vector<std::pair<std::string, std::string>> names = {
      {"forward", "Run a model on token ids: last-position logits and per-position argmax"},
      {"generate", "Generate text from prompts with a model (greedy or sampled, batched)"},
  };
  return names;
}

}  // namespace c2s
