// The subcommands of `c2s-model`, one file each (see model_command_names.hpp).
#pragma once
#include "cli/command_context.hpp"

namespace c2s {

void add_model_commands(CommandSet& set);

void add_forward_command(CommandSet& set);
void add_generate_command(CommandSet& set);
void add_score_command(CommandSet& set);
void add_embed_command(CommandSet& set);
void add_init_model_command(CommandSet& set);
void add_train_command(CommandSet& set);
void add_annotate_command(CommandSet& set);
void add_generate_cells_command(CommandSet& set);
void add_perturb_command(CommandSet& set);

}  // namespace c2s
