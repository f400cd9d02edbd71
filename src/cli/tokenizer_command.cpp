// `c2s tokenizer build STORE -o DIR`: a gene-level tokenizer (one token per
// gene) for models trained from scratch, from a store's genes, its label
// columns and prompt template files.
#include <set>

#include "cli/command_context.hpp"
#include "cli/list_option.hpp"
#include "core/error.hpp"
#include "core/json_file.hpp"
#include "data/sentence_store.hpp"
#include "text/gene_tokenizer.hpp"

namespace c2s {

namespace {

// Every string in a template file, wherever it stands (C2S files hold
// {"model_input": [...], "response": [...]}).
void collect_strings(const nlohmann::json& j, std::vector<std::string>& out) {
  if (j.is_string()) {
    out.push_back(j.get<std::string>());
  } else if (j.is_array() || j.is_object()) {
    for (const auto& v : j) collect_strings(v, out);
  }
}

}  // namespace

void add_tokenizer_command(CommandSet& set) {
  struct Args {
    std::string store, output;
    std::vector<std::string> prompts, label_columns;
  };
  auto args = std::make_shared<Args>();
  auto* tokenizer = set.app.add_subcommand("tokenizer", "Tokenizers for c2s models");
  tokenizer->require_subcommand(1);
  auto* build = tokenizer->add_subcommand(
      "build", "Build a gene-level Hugging Face tokenizer (one token per gene) from a store's genes and labels");
  build->add_option("store", args->store, "Sentence store")->required();
  build->add_option("-o,--output", args->output, "Output folder (tokenizer.json, tokenizer_config.json, "
                                                 "special_tokens_map.json)")->required();
  build->add_option("--prompts", args->prompts, "Prompt template files (C2S JSON) whose words must be tokens");
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
    for (const auto& file : args->prompts) {
      std::size_t before = inputs.templates.size();
      collect_strings(read_json_file(file), inputs.templates);
      if (inputs.templates.size() == before) throw Error(file, "no template strings in the file");
    }
    GeneTokenizerSummary s = write_gene_tokenizer(inputs, args->output);
    emit_summary(g, {{"output", args->output},
                     {"vocab_size", s.vocab_size},
                     {"genes", s.genes},
                     {"label_columns", columns},
                     {"labels", inputs.labels.size()},
                     {"label_words", s.label_words},
                     {"templates", inputs.templates.size()},
                     {"template_words", s.template_words}});
  });
}

}  // namespace c2s
