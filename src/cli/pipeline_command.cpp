// `c2s pipeline`: the main job on a built-in default. Simulates a data set
// (or takes --data), converts it, splits it by donor, fits the inverse model,
// reconstructs expression from the sentences; then trains a small model from
// scratch (gene tokenizer) to annotate the held-out donors' cells, beside the
// expression baselines, and another to generate cells, evaluated against the
// held-out cells; and writes the report page (cli/run_report). The model
// steps run as the commands a user would type (`c2s train`, `c2s annotate`,
// ...), each logged in RUN/logs/, with its command line in summary.json.
#include <chrono>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "cli/command_context.hpp"
#include "cli/inverse_plots.hpp"
#include "cli/run_report.hpp"
#include "core/error.hpp"
#include "core/json_file.hpp"
#include "core/progress.hpp"
#include "core/subprocess.hpp"
#include "data/conversion.hpp"
#include "data/reconstruction.hpp"
#include "data/sentence_export.hpp"
#include "data/simulator.hpp"
#include "data/store_split.hpp"
#include "io/matrix_source.hpp"

namespace c2s {

namespace {

namespace fs = std::filesystem;

// Settings of the model steps.
struct ModelSteps {
  bool enabled = true;
  std::string size = "tiny";
  std::int64_t top_k = 50, batch_size = 16, train_steps = 2000, eval_every = 100, cells_per_type = 25;
  double lr = 3e-3, train_minutes = 4;
};

std::string shell_line(const std::vector<std::string>& args) {
  std::string line = "c2s";
  for (const auto& a : args) line += " " + (a.find(' ') == std::string::npos && !a.empty() ? a : "'" + a + "'");
  return line;
}

// Runs one step as `c2s ARGS --json`; returns its summary with the command
// line added. Progress and errors go to RUN/logs/<name>.log; a failed step
// is an Error quoting the step's own error line.
nlohmann::json run_step(const fs::path& dir, const std::string& name, const std::vector<std::string>& args,
                        const GlobalOptions& g) {
  const fs::path logs = dir / "logs";
  fs::create_directories(logs);
  std::vector<std::string> argv = {own_executable().string(), "--json"};
  if (g.threads > 0) argv.insert(argv.end(), {"--threads", std::to_string(g.threads)});
  argv.insert(argv.end(), args.begin(), args.end());
  Progress::note("pipeline: " + shell_line(args));
  const auto t0 = std::chrono::steady_clock::now();
  const fs::path out = logs / (name + ".json"), err = logs / (name + ".log");
  const int code = run_subprocess(argv, out, err);
  if (code != 0) {
    std::ifstream in(err);
    std::string line, last;
    while (std::getline(in, line))
      if (!line.empty()) last = line;
    if (last.rfind("c2s: error: ", 0) == 0) last.erase(0, 12);
    throw Error("pipeline step " + name, (last.empty() ? "failed with exit code " + std::to_string(code) : last) +
                                             " (log: " + err.string() + ")");
  }
  nlohmann::json summary = read_json_file(out);
  summary["command"] = shell_line(args);
  summary["step_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return summary;
}

// The training command of one model (both share the recipe).
std::vector<std::string> train_args(const ModelSteps& m, const std::string& store, const std::string& task,
                                    const std::string& out, std::uint64_t seed) {
  return {"train", "--init", m.size, "--data", store, "--task", task,
          "--top-k", std::to_string(m.top_k), "--batch-size", std::to_string(m.batch_size),
          "--lr", fmt::format("{}", m.lr), "--warmup-steps", std::to_string(std::max<std::int64_t>(1, m.train_steps / 20)),
          "--schedule", "cosine", "--epochs", "100", "--max-steps", std::to_string(m.train_steps),
          "--max-minutes", fmt::format("{}", m.train_minutes), "--eval-every", std::to_string(m.eval_every),
          "--seed", std::to_string(seed), "-o", out};
}

}  // namespace

void add_pipeline_command(CommandSet& set) {
  struct Args {
    std::string out_dir = "runs/default", data, split_by = "sample_id";
    SimulatorOptions sim;
    std::uint64_t seed = 42;
    ModelSteps models;
  };
  auto args = std::make_shared<Args>();
  args->sim.n_cells = 6000;
  args->sim.n_genes = 20000;
  auto* cmd = set.app.add_subcommand("pipeline", "The main job: simulate (or --data), convert, split, fit the inverse "
                                                 "model, reconstruct, report");
  cmd->add_option("-o,--output", args->out_dir, "Run folder")->capture_default_str();
  cmd->add_option("--data", args->data, "Use this input instead of a simulated data set");
  cmd->add_option("--cells", args->sim.n_cells, "Simulated cells")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--genes", args->sim.n_genes, "Simulated genes")->capture_default_str()
      ->check(CLI::Range(200, 1000000));
  cmd->add_option("--split-by", args->split_by, "obs column whose groups stay within one split ('' = by cells)")
      ->capture_default_str();
  cmd->add_option("--seed", args->seed, "Seed")->capture_default_str();
  ModelSteps& m = args->models;
  cmd->add_flag("!--no-models", m.enabled, "Stop after the data steps (no training, annotation or generation)");
  cmd->add_option("--model-size", m.size, "Model preset trained from scratch: shallow, tiny, small or base")
      ->capture_default_str();
  cmd->add_option("--top-k", m.top_k, "Genes per cell sentence for the models")->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--train-steps", m.train_steps, "Optimiser steps per model")->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--train-minutes", m.train_minutes, "Training time budget per model (stops cleanly)")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--lr", m.lr, "Peak learning rate")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--cells-per-type", m.cells_per_type, "Cells generated per cell type")->capture_default_str()
      ->check(CLI::PositiveNumber);
  set.add(cmd, [args, &g = set.global] {
    namespace fs = std::filesystem;
    auto t0 = std::chrono::steady_clock::now();
    std::error_code ec;
    fs::create_directories(args->out_dir, ec);
    if (ec) throw Error(args->out_dir, "cannot create the run folder: " + ec.message());
    const fs::path dir(args->out_dir);
    nlohmann::json summary = {{"run_folder", args->out_dir}};

    std::string input = args->data;
    if (input.empty()) {
      input = (dir / "simulated.h5ad").string();
      SimulatorOptions sim = args->sim;
      sim.seed = args->seed;
      Progress::note("pipeline: simulating " + std::to_string(sim.n_cells) + " cells x " +
                     std::to_string(sim.n_genes) + " genes");
      simulate_h5ad(sim, input);
      summary["simulated"] = {{"cells", sim.n_cells}, {"genes", sim.n_genes}, {"cell_types", sim.n_cell_types},
                              {"donors", sim.n_donors}, {"file", input}};
    }

    const std::string store_path = (dir / "cells.c2s").string();
    ConvertOptions convert;
    convert.seed = args->seed;
    convert.provenance_extra["pipeline"] = true;
    auto source = open_matrix(input);
    ConvertResult converted = convert_to_store(*source, store_path, convert);
    source.reset();
    summary["convert"] = {{"store", store_path},
                          {"cells", converted.cells},
                          {"genes", converted.genes},
                          {"entries", converted.entries},
                          {"mean_genes_per_cell", double(converted.entries) / double(converted.cells)},
                          {"seconds", converted.seconds}};
    summary["inverse_model"] = converted.model.to_json();
    summary["plots"] = write_inverse_plots(converted.model, converted.fit_points, (dir / "plots").string());

    SplitOptions split_options;
    split_options.seed = args->seed;
    {
      SentenceStore store(store_path);
      if (!args->split_by.empty() && store.obs().find(args->split_by)) split_options.by = args->split_by;
      Column split = assign_splits(store, split_options);
      summary["split"] = describe_splits(store, split, split_options.by);
      set_store_obs_column(store_path, split);
    }

    SentenceStore store(store_path);
    const std::string sentences = (dir / "sentences.jsonl").string();
    summary["export"] = {{"file", sentences},
                         {"cells", export_sentences(store, sentences, ExportOptions{.top_k = 200})}};
    const std::string reconstructed = (dir / "reconstructed.h5ad").string();
    summary["reconstruct"] = reconstruct_store(store, reconstructed, {});

    if (args->models.enabled) {
      const ModelSteps& ms = args->models;
      const std::string label = "cell_type";
      if (!store.obs().find(label))
        throw Error(input, "has no obs column 'cell_type' for the model steps (run with --no-models)");
      const std::string annotation_model = (dir / "annotation_model").string();
      // summary.json grows step by step: a run that stops part way keeps what
      // it logged, and `c2s report` can show it.
      auto step = [&](const std::string& key, const std::string& name, const std::vector<std::string>& step_args) {
        write_json_file(dir / "summary.json", summary);
        summary[key] = run_step(dir, name, step_args, g);
      };
      step("annotation_model", "train_annotation",
           train_args(ms, store_path, "cell_type_prediction", annotation_model, args->seed));
      step("annotate", "annotate",
           {"annotate", "--model", annotation_model + "/checkpoint-best", "--data", store_path, "-o",
            (dir / "annotate").string()});
      step("baseline", "baseline",
           {"baseline", store_path, "--label-column", label, "-o", (dir / "baseline").string()});
      const std::string generation_model = (dir / "generation_model").string();
      step("generation_model", "train_generation",
           train_args(ms, store_path, "cell_type_generation", generation_model, args->seed));
      step("generate_cells", "generate_cells",
           {"generate-cells", "--model", generation_model + "/checkpoint-best", "--data", store_path, "--all-types",
            "-n", std::to_string(ms.cells_per_type), "--seed", std::to_string(args->seed), "-o",
            (dir / "generated.h5ad").string()});
      step("evaluate_generation", "evaluate_generation",
           {"evaluate-generation", "--generated", (dir / "generated.h5ad").string(), "--data", store_path, "-o",
            (dir / "generation_eval").string()});
    }
    summary["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    write_json_file(dir / "summary.json", summary);
    summary["report"] = write_run_report(dir);
    emit_summary(g, summary);
  });
}

}  // namespace c2s
