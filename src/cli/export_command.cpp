// `c2s export STORE -o OUT.jsonl|OUT.txt`: sentences for other tools.
#include "cli/command_context.hpp"
#include "cli/list_option.hpp"
#include "core/error.hpp"
#include "data/sentence_export.hpp"

namespace c2s {

void add_export_command(CommandSet& set) {
  struct Args {
    std::string store, output, format, columns, split;
    std::int64_t top_k = 0;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = set.app.add_subcommand("export", "Write cell sentences as JSONL (Hugging Face datasets) or plain text");
  cmd->add_option("store", args->store, "Sentence store")->required();
  cmd->add_option("-o,--output", args->output, "Output file (.jsonl or .txt)")->required();
  cmd->add_option("--format", args->format, "jsonl or text (default: from the extension, else jsonl)")
      ->check(CLI::IsMember({"jsonl", "text"}));
  cmd->add_option("--top-k", args->top_k, "Only the first K genes of each cell (0 = all)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--obs", args->columns, "Comma-separated obs columns to include (default: all)");
  cmd->add_option("--split", args->split, "Only cells of this split (train, validation, test)");
  set.add(cmd, [args, &g = set.global] {
    SentenceStore store(args->store);
    ExportOptions options;
    std::string format = args->format;
    if (format.empty()) format = args->output.ends_with(".txt") ? "text" : "jsonl";
    options.format = format == "text" ? ExportOptions::Format::Text : ExportOptions::Format::Jsonl;
    options.top_k = args->top_k;
    options.columns = split_list(args->columns);
    if (!args->split.empty()) options.split = args->split;
    std::int64_t n = export_sentences(store, args->output, options);
    emit_summary(g, {{"output", args->output}, {"format", format}, {"cells", n}});
  });
}

}  // namespace c2s
