#include "cli/model/model_commands.hpp"

namespace c2s {

void add_model_commands(CommandSet& set) {
  add_forward_command(set);
  add_generate_command(set);
  add_score_command(set);
  add_embed_command(set);
  add_init_model_command(set);
  add_train_command(set);
  add_annotate_command(set);
  add_generate_cells_command(set);
  add_perturb_command(set);
}

}  // namespace c2s
