// `c2s-model`: the commands that run language models (libtorch). Users call
// them through `c2s`, which hands them over with their arguments untouched.
#include "cli/command_line.hpp"
#include "cli/model/model_commands.hpp"
#include "model/compute_options.hpp"

int main(int argc, char** argv) {
  using namespace c2s;
  choose_blas_kernels(argv);
  return run_command_line(argc, argv, "c2s: Cell2Sentence in C++ - language-model commands",
                          [](CommandSet& set) { add_model_commands(set); });
}
