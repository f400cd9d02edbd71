#include "train/training_checkpoint.hpp"

#include <ATen/ATen.h>

#include "core/atomic_output.hpp"
#include "core/error.hpp"
#include "core/json_file.hpp"
#include "model/checkpoint.hpp"

namespace c2s {

namespace fs = std::filesystem;

void save_training_checkpoint(const fs::path& folder, const std::function<void(const fs::path&)>& write_model,
                              const std::vector<fs::path>& tokenizer, const nlohmann::json& task_metadata,
                              const Trainer& trainer, const nlohmann::json& extra_state) {
  AtomicOutput output(folder);
  fs::create_directories(output.temp_path());
  write_model(output.temp_path());
  for (const auto& file : tokenizer) fs::copy_file(file, output.temp_path() / file.filename());
  write_json_file(output.temp_path() / "c2s_task.json", task_metadata);
  save_safetensors_file(output.temp_path() / "optimizer.safetensors", trainer.optimizer().state());
  nlohmann::json state = trainer.state();
  state["extra"] = extra_state;
  write_json_file(output.temp_path() / "trainer_state.json", state);
  output.commit();
}

TrainerCheckpointState read_trainer_state(const fs::path& folder) {
  for (const char* name : {"trainer_state.json", "optimizer.safetensors"})
    if (!fs::exists(folder / name))
      throw Error(folder.string(), std::string("not a training checkpoint (no ") + name + ")");
  TrainerCheckpointState s;
  s.trainer = read_json_file(folder / "trainer_state.json");
  const auto file = Checkpoint::open_file(folder / "optimizer.safetensors");
  for (const auto& name : file.names()) s.optimizer.emplace_back(name, file.tensor(name, file.stored_dtype(name)).clone());
  return s;
}

}  // namespace c2s
