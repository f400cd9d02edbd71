// `c2s convert IN -o STORE`: expression matrix -> sentence store.
#include "cli/command_context.hpp"
#include "cli/inverse_plots.hpp"
#include "cli/list_option.hpp"
#include "core/error.hpp"
#include "data/conversion.hpp"

namespace c2s {

void add_convert_command(CommandSet& set) {
  struct Args {
    std::string input, output, obs, layer, plot_dir;
    bool raw = false, genes_in_rows = false, no_preprocess = false;
    double target_sum = 0, max_pct_mito = -1;
    ConvertOptions options;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = set.app.add_subcommand("convert", "Convert an expression matrix (h5ad, 10x folder or .h5, CSV/TSV) "
                                                "into a sentence store");
  cmd->add_option("input", args->input, "Input: .h5ad, 10x matrix-market folder, 10x .h5, .csv/.tsv[.gz]")->required();
  cmd->add_option("-o,--output", args->output, "Sentence store to write (e.g. cells.c2s)")->required();
  cmd->add_option("--obs", args->obs, "Comma-separated obs columns to keep (default: all)");
  cmd->add_option("--layer", args->layer, "Read layers/<NAME> instead of X");
  cmd->add_flag("--raw", args->raw, "Read raw/X (and raw/var) instead of X");
  cmd->add_flag("--genes-in-rows", args->genes_in_rows, "CSV/TSV input has genes in rows, cells in columns");
  cmd->add_flag("--no-preprocess", args->no_preprocess, "X is already normalised: no filtering, scaling or log");
  cmd->add_option("--min-genes", args->options.preprocess.min_genes, "filter_cells: minimum expressed genes")
      ->capture_default_str();
  cmd->add_option("--min-cells", args->options.preprocess.min_cells, "filter_genes: minimum expressing cells")
      ->capture_default_str();
  cmd->add_option("--target-sum", args->target_sum, "normalize_total target (default: median of cell totals)");
  cmd->add_option("--log-base", args->options.preprocess.log_base, "log1p base")->capture_default_str();
  cmd->add_option("--max-pct-mito", args->max_pct_mito, "Drop cells with a higher % of mitochondrial counts");
  cmd->add_option("--mito-prefix", args->options.preprocess.mito_prefix, "Mitochondrial gene prefix")
      ->capture_default_str();
  cmd->add_option("--seed", args->options.seed, "Seed of the tie-breaking shuffles")->capture_default_str();
  cmd->add_option("--sample-cells", args->options.fit_sample_cells,
                  "Cells used for the inverse fit (0 = all)")->capture_default_str();
  cmd->add_option("--block-rows", args->options.preprocess.block_rows, "Rows read per block")->capture_default_str();
  cmd->add_option("--plot-dir", args->plot_dir, "Write inverse-fit plots (PNG) into this folder");

  set.add(cmd, [args, cmd, &g = set.global] {
    ConvertOptions options = args->options;
    if (args->raw && !args->layer.empty()) throw UsageError("--raw and --layer cannot be combined");
    options.preprocess.enabled = !args->no_preprocess;
    if (cmd->count("--target-sum")) options.preprocess.target_sum = args->target_sum;
    if (args->max_pct_mito >= 0) options.preprocess.max_pct_mito = args->max_pct_mito;
    if (options.fit_sample_cells < 0) throw UsageError("--sample-cells must be >= 0");
    options.obs_columns = split_list(args->obs);
    InputOptions input;
    input.matrix.layer = args->layer;
    input.matrix.raw = args->raw;
    input.genes_in_rows = args->genes_in_rows;
    auto source = open_matrix(args->input, input);
    options.provenance_extra["matrix"] = args->raw ? "raw/X" : (args->layer.empty() ? "X" : "layers/" + args->layer);
    ConvertResult r = convert_to_store(*source, args->output, options);
    nlohmann::json summary = {{"store", args->output},
                              {"cells", r.cells},
                              {"genes", r.genes},
                              {"entries", r.entries},
                              {"preprocessing", r.preprocessing},
                              {"inverse_model", r.model.to_json()},
                              {"seconds", r.seconds}};
    if (!args->plot_dir.empty()) summary["plots"] = write_inverse_plots(r.model, r.fit_points, args->plot_dir);
    emit_summary(g, summary);
  });
}

}  // namespace c2s
