// Runs another program to completion, its standard output and error written
// to files: how `c2s pipeline` runs each step as the command a user would type.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace c2s {

// Runs argv[0] (a path) with the arguments, waits, and returns its exit code
// (128 + the signal when killed). An Error when it cannot start.
int run_subprocess(const std::vector<std::string>& argv, const std::filesystem::path& stdout_file,
                   const std::filesystem::path& stderr_file);

// This program's own executable (/proc/self/exe).
std::filesystem::path own_executable();

}  // namespace c2s
