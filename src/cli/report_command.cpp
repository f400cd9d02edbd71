// `c2s report RUN`: rebuilds a pipeline run's report page from what it logged.
#include "cli/command_context.hpp"
#include "cli/run_report.hpp"

namespace c2s {

void add_report_command(CommandSet& set) {
  auto run_dir = std::make_shared<std::string>();
  auto* cmd = set.app.add_subcommand("report", "Rebuild a `c2s pipeline` run's report page (RUN/report/index.html) "
                                               "from its logged results");
  cmd->add_option("run", *run_dir, "Run folder of `c2s pipeline`")->required();
  set.add(cmd, [run_dir, &g = set.global] { emit_summary(g, write_run_report(*run_dir)); });
}

}  // namespace c2s
