// What every c2s subcommand shares: the global flags and the one way results
// are reported (JSON on stdout with --json, a readable summary otherwise).
#pragma once
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace c2s {

struct GlobalOptions {
  int threads = 0;  // 0 = all cores
  bool quiet = false;
  bool json = false;
};

// Prints `summary` as one JSON document (--json) or as indented key: value lines.
void emit_summary(const GlobalOptions& g, const nlohmann::json& summary);

// The subcommands and what each runs once its flags are parsed (after the
// global flags have been applied).
struct CommandSet {
  CLI::App& app;
  GlobalOptions& global;
  std::vector<std::pair<CLI::App*, std::function<void()>>> commands;
  void add(CLI::App* sub, std::function<void()> run) { commands.emplace_back(sub, std::move(run)); }
};

// Each adds its subcommand(s) (the torch-free ones; see cli/model/ for the rest).
void add_simulate_command(CommandSet& set);
void add_convert_command(CommandSet& set);
void add_info_command(CommandSet& set);
void add_export_command(CommandSet& set);
void add_split_command(CommandSet& set);
void add_merge_command(CommandSet& set);
void add_inverse_command(CommandSet& set);
void add_reconstruct_command(CommandSet& set);
void add_pipeline_command(CommandSet& set);
void add_report_command(CommandSet& set);
void add_baseline_command(CommandSet& set);
void add_evaluate_generation_command(CommandSet& set);
void add_prompts_command(CommandSet& set);
void add_tokenize_command(CommandSet& set);
void add_tokenizer_command(CommandSet& set);

}  // namespace c2s
