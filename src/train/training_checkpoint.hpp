// A training checkpoint: a Hugging Face model folder (config.json,
// generation_config.json, model.safetensors, the tokenizer files and c2s's
// task metadata, c2s_task.json) that anything loading models reads as is,
// plus the trainer's state (trainer_state.json, optimizer.safetensors) that
// --resume continues from exactly. The folder is written as a whole beside
// its target and moved into place, so an interrupted save leaves the
// previous checkpoint whole.
#pragma once
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "train/trainer.hpp"

namespace c2s {

// `write_model` writes the model's files into the folder it is given (the
// whole model, or LoRA adapters); `extra_state` goes into trainer_state.json
// under "extra" (e.g. the best validation loss so far).
void save_training_checkpoint(const std::filesystem::path& folder,
                              const std::function<void(const std::filesystem::path&)>& write_model,
                              const std::vector<std::filesystem::path>& tokenizer, const nlohmann::json& task_metadata,
                              const Trainer& trainer, const nlohmann::json& extra_state);

struct TrainerCheckpointState {
  nlohmann::json trainer;  // trainer_state.json
  std::vector<std::pair<std::string, at::Tensor>> optimizer;
};
// Errors name the folder and the missing or unreadable file.
TrainerCheckpointState read_trainer_state(const std::filesystem::path& folder);

}  // namespace c2s
