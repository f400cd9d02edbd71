// The `c2s` command. Data and text commands run here, without libtorch; the
// model commands are handed, arguments untouched, to `c2s-model` beside this
// binary, so that conversion never pays libtorch's start-up.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "cli/command_line.hpp"
#include "cli/model/model_command_names.hpp"
#include "core/error.hpp"
#include "core/subprocess.hpp"

namespace c2s {
namespace {

[[noreturn]] void exec_model_binary(int argc, char** argv) {
  auto model_binary = own_executable().parent_path() / "c2s-model";
  std::vector<char*> args(argv, argv + argc);
  args.push_back(nullptr);
  ::execv(model_binary.c_str(), args.data());
  throw Error(model_binary.string(), std::string("cannot run the model commands' binary: ") + std::strerror(errno));
}

}  // namespace
}  // namespace c2s

int main(int argc, char** argv) {
  using namespace c2s;
  return run_command_line(argc, argv, "c2s: Cell2Sentence in C++ - single-cell expression as cell sentences, and back",
                          [&](CommandSet& set) {
                            add_simulate_command(set);
                            add_convert_command(set);
                            add_info_command(set);
                            add_export_command(set);
                            add_split_command(set);
                            add_merge_command(set);
                            add_inverse_command(set);
                            add_reconstruct_command(set);
                            add_pipeline_command(set);
                            add_report_command(set);
                            add_baseline_command(set);
                            add_evaluate_generation_command(set);
                            add_prompts_command(set);
                            add_tokenize_command(set);
                            add_tokenizer_command(set);
                            for (const auto& [name, description] : model_command_names()) {
                              auto* sub = set.app.add_subcommand(name, description);
                              sub->set_help_flag();  // --help goes to c2s-model with the rest
                              sub->prefix_command();
                              sub->allow_extras();
                              sub->fallthrough(false);
                              set.add(sub, [argc, argv] { exec_model_binary(argc, argv); });
                            }
                          });
}
