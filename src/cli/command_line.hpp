// The one command-line runner shared by `c2s` and `c2s-model`: global flags,
// subcommand dispatch, and the mapping of errors to one-line messages and
// exit codes (1 = failure, 2 = usage).
#pragma once
#include <functional>
#include <string>

#include "cli/command_context.hpp"

namespace c2s {

// Parses argv (global flags, then one subcommand added by `add_commands`),
// applies the global flags and runs the chosen subcommand. Returns the exit code.
int run_command_line(int argc, char** argv, const std::string& description,
                     const std::function<void(CommandSet&)>& add_commands);

}  // namespace c2s
