// `c2s simulate -o OUT.h5ad`: a realistic count matrix with known labels.
#include "cli/command_context.hpp"
#include "data/simulator.hpp"

namespace c2s {

void add_simulate_command(CommandSet& set) {
  struct Args {
    std::string output;
    SimulatorOptions options;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = set.app.add_subcommand("simulate", "Simulate a UMI count h5ad (cell types with marker programs, donors, "
                                                 "stimulation)");
  auto& o = args->options;
  cmd->add_option("-o,--output", args->output, "Output .h5ad")->required();
  cmd->add_option("-n,--cells", o.n_cells, "Cells")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--genes", o.n_genes, "Genes (>= 200)")->capture_default_str()->check(CLI::Range(200, 1000000));
  cmd->add_option("--cell-types", o.n_cell_types, "Cell types")->capture_default_str()->check(CLI::Range(1, 1000));
  cmd->add_option("--donors", o.n_donors, "Donors (obs sample_id)")->capture_default_str()->check(CLI::Range(1, 10000));
  cmd->add_option("--mean-counts", o.mean_counts, "Mean UMIs per cell")->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--mean-genes", o.mean_genes, "Mean detected genes per cell (0: 9% of the genes)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--stimulated", o.stimulated_fraction, "Fraction of cells with condition 'stim'")
      ->capture_default_str()->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--seed", o.seed, "Seed")->capture_default_str();
  set.add(cmd, [args, &g = set.global] {
    simulate_h5ad(args->options, args->output);
    emit_summary(g, {{"output", args->output},
                     {"cells", args->options.n_cells},
                     {"genes", args->options.n_genes},
                     {"cell_types", args->options.n_cell_types},
                     {"donors", args->options.n_donors},
                     {"seed", args->options.seed}});
  });
}

}  // namespace c2s
