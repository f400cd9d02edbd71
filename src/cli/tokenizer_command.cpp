// `c2s tokenizer build STORE -o DIR`: a gene-level tokenizer (one token per
// gene) for models trained from scratch, from a store's genes, its label
// columns, the built-in prompt templates and the user's template files.
#include "cli/command_context.hpp"
#include "cli/list_option.hpp"
#include "core/error.hpp"
#include "data/sentence_store.hpp"
#include "text/gene_tokenizer.hpp"

namespace c2s {

void add_tokenizer_command(CommandSet& set) {
  struct Args {
    std::string store, output;
    std::vector<std::string> prompts, label_columns, organisms{"Homo sapiens"};
  };
  auto args = std::make_shared<Args>();
  auto* tokenizer = set.app.add_subcommand("tokenizer", "Tokenizers for c2s models");
  tokenizer->require_subcommand(1);
  auto* build = tokenizer->add_subcommand(
      "build", "Build a gene-level Hugging Face tokenizer (one token per gene) from a store's genes and labels");
  build->add_option("store", args->store, "Sentence store")->required();
  build->add_option("-o,--output", args->output, "Output folder (tokenizer.json, tokenizer_config.json, "
                                                 "special_tokens_map.json)")->required();
  build->add_option("--prompts", args->prompts,
                    "Prompt template files (C2S JSON) whose words must be tokens, besides the built-in sets");
  build->add_option("--organism", args->organisms, "Organism names used in prompts (default: Homo sapiens)");
  build->add_option("--label-column", args->label_columns,
                    "obs columns whose values must be tokens (repeat or comma-separate; default: every "
                    "non-numeric column but 'split')");
  set.add(build, [args, &g = set.global] {
    std::vector<std::string> columns, wanted;
    for (const auto& c : args->label_columns)
      for (const auto& name : split_list(c)) wanted.push_back(name);
    const GeneTokenizerInputs inputs =
        gene_tokenizer_inputs(SentenceStore(args->store), wanted, args->organisms, args->prompts, &columns);
    GeneTokenizerSummary s = write_gene_tokenizer(inputs, args->output);
    emit_summary(g, {{"output", args->output},
                     {"vocab_size", s.vocab_size},
                     {"genes", s.genes},
                     {"label_columns", columns},
                     {"labels", inputs.label_values},
                     {"label_words", s.label_words},
                     {"templates", inputs.templates.size()},
                     {"template_words", s.template_words}});
  });
}

}  // namespace c2s
