// The subcommands of `c2s-model`, one file each (see model_command_names.hpp).
#pragma once
#include "cli/command_context.hpp"

namespace c2s {

void add_model_commands(CommandSet& set);

}  // namespace c2s
