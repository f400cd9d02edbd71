// `c2s split STORE`: record a train/validation/test split in the store.
#include <cstdlib>

#include "cli/command_context.hpp"
#include "cli/list_option.hpp"
#include "core/error.hpp"
#include "data/store_split.hpp"

namespace c2s {

void add_split_command(CommandSet& set) {
  struct Args {
    std::string store, fractions = "0.8,0.1,0.1", by;
    std::uint64_t seed = 42;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = set.app.add_subcommand("split", "Assign cells to train/validation/test (obs column `split`)");
  cmd->add_option("store", args->store, "Sentence store (updated in place, atomically)")->required();
  cmd->add_option("--fractions", args->fractions, "train,validation,test fractions")->capture_default_str();
  cmd->add_option("--by", args->by, "Keep groups of this obs column whole (e.g. sample_id for donors)");
  cmd->add_option("--seed", args->seed, "Seed")->capture_default_str();
  set.add(cmd, [args, &g = set.global] {
    SplitOptions options;
    options.fractions.clear();
    for (const auto& f : split_list(args->fractions)) {
      char* end = nullptr;
      double x = std::strtod(f.c_str(), &end);
      if (end == f.c_str() || *end != '\0') throw UsageError("--fractions: '" + f + "' is not a number");
      options.fractions.push_back(x);
    }
    options.by = args->by;
    options.seed = args->seed;
    Column split;
    nlohmann::json described;
    {
      SentenceStore store(args->store);
      split = assign_splits(store, options);
      described = describe_splits(store, split, args->by);
    }
    set_store_obs_column(args->store, split);
    emit_summary(g, {{"store", args->store}, {"by", args->by}, {"splits", described}});
  });
}

}  // namespace c2s
