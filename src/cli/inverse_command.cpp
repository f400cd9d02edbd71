// `c2s inverse fit STORE`: fit (or refit) the inverse model, with plots.
#include "cli/command_context.hpp"
#include "cli/inverse_plots.hpp"
#include "core/error.hpp"
#include "data/sentence_store.hpp"

namespace c2s {

void add_inverse_command(CommandSet& set) {
  struct Args {
    std::string store, plot_dir;
    std::int64_t sample_cells = 20000;
    std::uint64_t seed = 0;
    bool save = false;
  };
  auto args = std::make_shared<Args>();
  auto* inverse = set.app.add_subcommand("inverse", "The inverse model: expression from rank");
  inverse->require_subcommand(1);
  auto* fit = inverse->add_subcommand("fit", "Fit expression = intercept + slope * log10(1 + rank) on a store's cells");
  fit->add_option("store", args->store, "Sentence store")->required();
  fit->add_option("--sample-cells", args->sample_cells, "Cells to fit on (0 = all)")->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  fit->add_option("--seed", args->seed, "Seed of the cell sample")->capture_default_str();
  fit->add_option("--plot-dir", args->plot_dir, "Write the fit plots (PNG) into this folder");
  fit->add_flag("--save", args->save, "Store the fitted model in the store (replacing the one from convert)");
  set.add(fit, [args, &g = set.global] {
    RankRuns points;
    {
      SentenceStore store(args->store);
      points = store_rank_runs(store, choose_fit_cells(store.n_cells(), args->sample_cells, args->seed));
    }
    InverseModel model = fit_inverse_model(points);
    nlohmann::json summary = {{"store", args->store}, {"inverse_model", model.to_json()}, {"saved", args->save}};
    if (!args->plot_dir.empty()) summary["plots"] = write_inverse_plots(model, points, args->plot_dir);
    if (args->save) set_store_inverse_model(args->store, model);
    emit_summary(g, summary);
  });
}

}  // namespace c2s
