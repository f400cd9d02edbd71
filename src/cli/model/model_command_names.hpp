// The commands `c2s-model` runs, with their one-line descriptions: `c2s`
// lists them in its help and hands them over (see cli/main.cpp).
#pragma once
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace c2s {

inline const std::vector<std::pair<std::string, std::string>>& model_command_names() {
  static const std::vector<std::pair<std::string, std::string>> names = {
      {"forward", "Run a model on token ids: last-position logits and per-position argmax"},
      {"generate", "Generate text from prompts with a model (greedy or sampled, batched)"},
      {"score", "Log-likelihood of candidate continuations (labels) after each prompt"},
      {"embed", "Embed prompts: mean (or last-token) of the model's last hidden states"},
      {"init-model", "Write a Hugging Face model folder with random weights (a released model's shape or a config.json)"},
      {"train", "Fine-tune a model (all weights or LoRA) or train one from scratch on a task's examples"},
      {"annotate", "Predict each cell's label (cell type...) with a trained model, scored against the truth when known"},
      {"generate-cells", "Generate cells of given types with a trained model, reconstructed to expression (h5ad)"},
      {"perturb", "Predict control cells' perturbed state with a trained model, reconstructed to expression (and scored)"},
  };
  return names;
}

// The description of one of them (the same line in both programs' help).
inline const std::string& model_command_description(const std::string& name) {
  for (const auto& [command, description] : model_command_names())
    if (command == name) return description;
  throw std::logic_error("no model command named " + name);
}

}  // namespace c2s
