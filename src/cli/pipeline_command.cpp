// `c2s pipeline`: the main job on a built-in default. Simulates a data set
// (or takes --data), converts it, splits it by donor, fits the inverse model,
// reconstructs expression from the sentences and reports the figures.
#include <chrono>
#include <filesystem>
#include <fstream>

#include "cli/command_context.hpp"
#include "cli/inverse_plots.hpp"
#include "core/error.hpp"
#include "core/progress.hpp"
#include "data/conversion.hpp"
#include "data/reconstruction.hpp"
#include "data/sentence_export.hpp"
#include "data/simulator.hpp"
#include "data/store_split.hpp"
#include "io/matrix_source.hpp"

namespace c2s {

void add_pipeline_command(CommandSet& set) {
  struct Args {
    std::string out_dir = "runs/default", data, split_by = "sample_id";
    SimulatorOptions sim;
    std::uint64_t seed = 42;
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
    summary["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    std::ofstream((dir / "summary.json").string()) << summary.dump(1) << "\n";
    emit_summary(g, summary);
  });
}

}  // namespace c2s
