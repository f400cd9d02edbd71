// `c2s tokenizer build STORE -o DIR`: a gene-level tokenizer (one token per
// gene) for models trained from scratch, from a store's genes, its label
// columns, the built-in prompt templates and the user's template files.
#include <set>

#include "cli/command_context.hpp"
#include "cli/list_option.hpp"
#include "core/error.hpp"
#include "data/sentence_store.hpp"
#include "text/builtin_prompts.hpp"
#include "text/gene_tokenizer.hpp"
#include "text/prompt_tasks.hpp"

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
    GeneTokenizerInputs inputs;
    std::vector<std::string> columns;
    {
      SentenceStore store(args->store);
      inputs.genes = store.genes();
      for (const auto& c : args->label_columns)
        for (const auto& name : split_list(c)) columns.push_back(name);
      if (args->label_columns.empty())
        for (const auto& c : store.obs().columns)
          if (c.kind != Column::Kind::Numeric && c.name != "split") columns.push_back(c.name);
      for (const auto& name : columns) {
        const Column* c = store.obs().find(name);
        if (!c) {
          std::string known;
          for (const auto& k : store.obs().columns) known += (known.empty() ? "" : ", ") + k.name;
          throw Error(args->store, "no obs column '" + name + "' (columns: " + (known.empty() ? "none" : known) + ")");
        }
        std::set<std::string> values;
        for (std::size_t i = 0; i < c->size(); ++i)
          if (std::string v = c->text(i); !v.empty()) values.insert(v);
        inputs.labels.insert(inputs.labels.end(), values.begin(), values.end());
      }
    }
    // Words that prompts carry besides templates and labels: the organism and
    // the multi-cell joiner's "Cell N:".
    const std::size_t label_values = inputs.labels.size();
    for (const auto& o : args->organisms) inputs.labels.push_back(o);
    inputs.labels.push_back("Cell 1:");
    auto add = [&](const PromptTemplates& set) {
      for (const auto* list : {&set.model_input, &set.response})
        inputs.templates.insert(inputs.templates.end(), list->begin(), list->end());
    };
    for (const auto& spec : task_specs()) add(builtin_prompts(spec.task));
    for (const auto& file : args->prompts) add(PromptTemplates::load(file));
    GeneTokenizerSummary s = write_gene_tokenizer(inputs, args->output);
    emit_summary(g, {{"output", args->output},
                     {"vocab_size", s.vocab_size},
                     {"genes", s.genes},
                     {"label_columns", columns},
                     {"labels", label_values},
                     {"label_words", s.label_words},
                     {"templates", inputs.templates.size()},
                     {"template_words", s.template_words}});
  });
}

}  // namespace c2s
