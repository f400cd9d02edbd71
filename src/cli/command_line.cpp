#include "cli/command_line.hpp"

#include <cstdio>
#include <iostream>
#include <new>

#include "core/error.hpp"
#include "core/progress.hpp"
#include "core/thread_pool.hpp"

namespace c2s {

void emit_summary(const GlobalOptions& g, const nlohmann::json& summary) {
  if (g.json) {
    std::cout << summary.dump(1) << "\n";
    return;
  }
  if (g.quiet) return;
  std::function<void(const nlohmann::json&, int)> print = [&](const nlohmann::json& j, int depth) {
    for (auto& [key, value] : j.items()) {
      std::cout << std::string(std::size_t(depth) * 2, ' ') << key << ":";
      if (value.is_object()) {
        std::cout << "\n";
        print(value, depth + 1);
      } else if (value.is_number_float()) {
        std::printf(" %.6g\n", value.get<double>());
        std::fflush(stdout);
      } else {
        std::cout << " " << (value.is_string() ? value.get<std::string>() : value.dump()) << "\n";
      }
    }
  };
  print(summary, 0);
}

int run_command_line(int argc, char** argv, const std::string& description,
                     const std::function<void(CommandSet&)>& add_commands) {
  CLI::App app{description};
  app.name("c2s");
  app.fallthrough();
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("c2s ") + C2S_VERSION);
  GlobalOptions g;
  app.add_option("--threads", g.threads, "Worker threads (default: all cores)")->check(CLI::Range(0, 4096));
  app.add_flag("--quiet,-q", g.quiet, "No progress output on stderr");
  app.add_flag("--json", g.json, "Print a machine-readable summary on stdout");
  CommandSet set{app, g, {}};
  add_commands(set);

  try {
    app.parse(argc, argv);
    Progress::set_quiet(g.quiet);
    ThreadPool::set_default_threads(std::size_t(g.threads));
    for (auto& [sub, run] : set.commands)
      if (sub->parsed()) {
        run();
        break;
      }
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "c2s: error: %s\n", e.what());
    return 2;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "c2s: error: %s\n", e.what());
    return 2;
  } catch (const Error& e) {
    std::fprintf(stderr, "c2s: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "c2s: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "c2s: error: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace c2s
