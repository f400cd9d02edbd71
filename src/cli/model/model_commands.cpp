#include "cli/model/model_commands.hpp"

namespace c2s {

void add_model_commands(CommandSet& set) {}

}  // namespace c2s
