// `c2s merge A B ... -o OUT`: one store from several.
#include "cli/command_context.hpp"
#include "data/store_merge.hpp"

namespace c2s {

void add_merge_command(CommandSet& set) {
  struct Args {
    std::vector<std::string> inputs;
    std::string output;
    MergeOptions options;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = set.app.add_subcommand("merge", "Merge sentence stores (vocabularies united, counts summed)");
  cmd->add_option("stores", args->inputs, "Stores to merge")->required()->expected(2, 1 << 20);
  cmd->add_option("-o,--output", args->output, "Merged store")->required();
  cmd->add_option("--batch-key", args->options.batch_key, "obs column naming each cell's source store ('' = none)")
      ->capture_default_str();
  cmd->add_option("--sample-cells", args->options.fit_sample_cells, "Cells for the refitted inverse model (0 = all)")
      ->capture_default_str();
  set.add(cmd, [args, &g = set.global] { emit_summary(g, merge_stores(args->inputs, args->output, args->options)); });
}

}  // namespace c2s
