// `c2s init-model --preset pythia-410m -o DIR`: a Hugging Face model folder
// with random weights (the shape of a released model, or of a config.json),
// for benchmarks, tests and as the start of training from scratch.
#include <filesystem>

#include "cli/model/model_command_names.hpp"
#include "cli/model/model_commands.hpp"
#include "core/atomic_output.hpp"
#include "core/error.hpp"
#include "core/json_file.hpp"
#include "model/causal_lm.hpp"
#include "model/compute_options.hpp"
#include "model/model_config.hpp"
#include "text/tokenizer.hpp"

namespace c2s {

namespace fs = std::filesystem;

namespace {

// The files of the tokenizer at `source` (a folder, or a tokenizer.json /
// tokenizer.model file), after checking that it loads and that its ids fit
// the model's vocabulary.
std::vector<fs::path> checked_tokenizer_files(const fs::path& source, std::int64_t vocab_size) {
  auto tokenizer = load_tokenizer(source);
  if (std::int64_t(tokenizer->vocab_size()) > vocab_size)
    throw Error(source.string(), "tokenizer has " + std::to_string(tokenizer->vocab_size()) +
                                     " tokens, more than the model's vocab_size " + std::to_string(vocab_size));
  return tokenizer_files(source);
}

}  // namespace

void add_init_model_command(CommandSet& set) {
  struct Args {
    std::string preset, config, tokenizer, output, dtype = "fp32";
    std::uint64_t seed = 0;
    double max_shard_gb = 0;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = set.app.add_subcommand("init-model", model_command_description("init-model"));
  std::string presets;
  for (const auto& n : preset_model_names()) presets += (presets.empty() ? "" : ", ") + n;
  auto* preset = cmd->add_option("--preset", args->preset, "Shape of a released model: " + presets);
  auto* config = cmd->add_option("--config", args->config, "A config.json (gpt_neox, gemma2 or gpt2) to take the shape from");
  preset->excludes(config);
  cmd->add_option("--tokenizer", args->tokenizer,
                  "Tokenizer folder (or tokenizer.json / tokenizer.model) to copy into the model folder");
  cmd->add_option("--dtype", args->dtype, "Stored dtype of the weights: fp32, bf16 or fp16")->capture_default_str();
  cmd->add_option("--seed", args->seed, "Seed of the random weights")->capture_default_str();
  cmd->add_option("--max-shard-gb", args->max_shard_gb,
                  "Split the weights into shards of at most this many GB (0: one file)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("-o,--output", args->output, "Model folder to write (replaced if it exists)")->required();
  set.add(cmd, [args, &g = set.global] {
    if (args->preset.empty() && args->config.empty()) throw UsageError("give --preset or --config");
    const ModelConfig shape = args->preset.empty() ? parse_model_config(read_json_file(args->config), args->config)
                                                   : preset_model_config(args->preset);
    const ComputeOptions options{parse_compute_dtype(args->dtype), at::kCPU};
    const auto tokenizer = args->tokenizer.empty() ? std::vector<fs::path>{}
                                                   : checked_tokenizer_files(args->tokenizer, shape.vocab_size);
    AtomicOutput output(args->output);  // checks the parent folder before any work
    set_compute_threads(g.threads);
    auto model = random_causal_lm(shape, options, args->seed);
    save_causal_lm(*model, output.temp_path(), std::uint64_t(args->max_shard_gb * 1e9));
    for (const auto& file : tokenizer) fs::copy_file(file, output.temp_path() / file.filename());
    output.commit();
    emit_summary(g, {{"output", args->output},
                     {"model_type", shape.model_type},
                     {"dtype", dtype_name(options.dtype)},
                     {"parameters", shape.parameter_count()},
                     {"weights_bytes", model->parameter_bytes()},
                     {"seed", args->seed},
                     {"tokenizer", args->tokenizer.empty() ? nlohmann::json(nullptr) : nlohmann::json(args->tokenizer)}});
  });
}

}  // namespace c2s
