// `c2s generate-cells`: cells of given types written by a model trained for
// cell_type_generation (its c2s_task.json gives the templates, top-k,
// organism, types and genes), constrained to vocabulary genes or free as the
// reference package generates, then turned back into expression with the
// store's inverse model: an h5ad of the generated cells.
#include <algorithm>
#include <fmt/format.h>
#include <map>

#include "cli/model/model_command_names.hpp"
#include "cli/model/model_commands.hpp"
#include "cli/model/model_session.hpp"
#include "core/atomic_output.hpp"
#include "core/error.hpp"
#include "core/process_memory.hpp"
#include "core/progress.hpp"
#include "data/reconstruction.hpp"
#include "data/sentence_store.hpp"
#include "tasks/cell_generation.hpp"

namespace c2s {

void add_generate_cells_command(CommandSet& set) {
  struct Args {
    ModelArgs model;
    std::vector<std::string> cell_types;
    bool all_types = false, free = false;
    std::int64_t n = 10, genes = 0;
    std::string data, output;
    SamplingOptions sampling{.do_sample = true, .top_k = 50, .seed = 42};
  };
  auto args = std::make_shared<Args>();
  auto* cmd = set.app.add_subcommand("generate-cells", model_command_description("generate-cells"));
  cmd->footer(
      "The model folder's c2s_task.json (written by c2s train --task cell_type_generation) gives the prompt\n"
      "templates, top-k, organism, cell types and genes. Each cell is sampled from its own random stream\n"
      "(seed, cell index), so the cells of a type differ and do not depend on the batch. Constrained mode (the\n"
      "default) lets the model write only genes of the store that the model knows, each at most once, at most\n"
      "--genes of them, then the end of its response; --free samples without constraint and cleans the text as\n"
      "the reference package does (unknown words dropped, a repeated gene merged at its mean position). The\n"
      "sentences are turned into expression with the store's inverse model. Output: an h5ad with obs\n"
      "<label column> (the requested type), c2s_sentence, c2s_text, c2s_finish_reason and the counts of\n"
      "c2s reconstruct (docs/formats/generated-cells.md).");
  add_model_options(cmd, args->model);
  cmd->add_option("--cell-type", args->cell_types, "Cell type to generate (repeatable; one of the model's)");
  cmd->add_flag("--all-types", args->all_types, "Every cell type the model was trained on");
  cmd->add_option("-n,--cells", args->n, "Cells per type")->capture_default_str();
  cmd->add_option("--genes", args->genes, "Genes per cell (default: the model's top-k)");
  cmd->add_option("--data", args->data, "Sentence store whose genes and inverse model reconstruct the cells")
      ->required();
  cmd->add_option("-o,--output", args->output, "Output .h5ad")->required();
  cmd->add_flag("--free", args->free, "Unconstrained sampling, cleaned afterwards (the reference behaviour)");
  add_cell_sampling_options(cmd, args->sampling);

  set.add(cmd, [args, &g = set.global] {
    const Args& a = *args;
    if (a.cell_types.empty() == !a.all_types) throw UsageError("give --cell-type X (repeatable) or --all-types");
    if (a.n < 1) throw UsageError("-n must be at least 1");
    if (a.genes < 0) throw UsageError("--genes must be at least 1");
    if (a.sampling.top_k < 0) throw UsageError("--top-k must not be negative");
    const std::optional<ModelTask> task = read_model_task(a.model.model);
    if (!task)
      throw Error(a.model.model,
                  "no c2s_task.json with a task: generate-cells needs a model trained by `c2s train --task "
                  "cell_type_generation`");
    if (task->task != PromptTask::CellTypeGeneration)
      throw Error(a.model.model, "the model was trained for " + std::string(task_name(task->task)) +
                                     ", not cell_type_generation");
    std::vector<std::string> types = a.all_types ? task->labels : a.cell_types;
    for (const auto& t : types)
      if (std::find(task->labels.begin(), task->labels.end(), t) == task->labels.end()) {
        std::string known;
        for (const auto& l : task->labels) known += (known.empty() ? "" : ", ") + l;
        throw Error("--cell-type", "'" + t + "' is not a cell type of the model (it knows: " + known + ")");
      }
    std::sort(types.begin(), types.end());
    types.erase(std::unique(types.begin(), types.end()), types.end());
    if (types.empty()) throw Error(a.model.model, "the model records no cell types");

    SentenceStore store(a.data);
    if (!store.inverse_model()) throw Error(a.data, "the store has no inverse model (run `c2s inverse fit`)");
    const std::vector<std::uint8_t> known = check_store_genes(*task, store, a.data);
    AtomicOutput out(a.output);
    ModelSession session = open_model_session(a.model, g);
    if (!session.tokenizer) throw Error(a.model.model, "the model folder has no tokenizer");

    CellGenerationOptions options;
    options.decoding = a.free ? SentenceDecoding::Free : SentenceDecoding::Constrained;
    options.genes = a.genes;
    options.batch_size = a.model.batch_size;
    options.sampling = a.sampling;
    CellGenerator generator(*session.model, *session.tokenizer, *task, store.genes(), known, options);

    std::vector<std::string> requested;
    for (const auto& t : types) requested.insert(requested.end(), std::size_t(a.n), t);
    Progress progress("generate-cells", requested.size(), "cells");
    const auto cells = generator.generate(requested, &progress);
    progress.finish();

    // obs: the requested type, the sentence (genes kept) and the raw text.
    const std::string label_column = task->label_column.empty() ? "cell_type" : task->label_column;
    DataFrame obs;
    Column type{.name = label_column, .kind = Column::Kind::String};
    Column sentence{.name = "c2s_sentence", .kind = Column::Kind::String};
    Column text{.name = "c2s_text", .kind = Column::Kind::String};
    Column finish{.name = "c2s_finish_reason", .kind = Column::Kind::String};
    std::vector<std::string> sentences;  // what reconstruction parses
    std::map<std::string, std::int64_t> per_type;
    std::int64_t fewest = INT64_MAX, most = 0, total_genes = 0, unknown = 0, duplicates = 0;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      const GeneratedCell& c = cells[i];
      obs.index.push_back(fmt::format("generated_{}", i));
      type.strings.push_back(requested[i]);
      sentence.strings.push_back(sentence_text(c.genes, store.genes()));
      text.strings.push_back(c.text);
      finish.strings.push_back(c.finish_reason);
      // Free mode: the text as generated, cleaned by the reconstruction as
      // the reference cleans it (so its counts land in obs too).
      sentences.push_back(a.free ? c.text : sentence.strings.back());
      ++per_type[requested[i]];
      const auto n = std::int64_t(c.genes.size());
      fewest = std::min(fewest, n), most = std::max(most, n), total_genes += n;
      unknown += c.unknown_words, duplicates += c.duplicate_genes;
    }
    for (Column* c : {&type, &finish}) *c = c->as_categorical();
    obs.columns = {std::move(type), std::move(sentence), std::move(text), std::move(finish)};
    const nlohmann::json written = reconstruct_sentences(sentences, obs, store.genes(), store.header().gene_n_cells,
                                                         *store.inverse_model(), out.temp_path().string());
    out.commit();

    const auto& st = generator.stats();
    nlohmann::ordered_json summary = {
        {"model", a.model.model},
        {"data", a.data},
        {"mode", a.free ? "free" : "constrained"},
        {"cells", cells.size()},
        {"cells_per_type", per_type},
        {"genes_requested", generator.genes_per_cell()},
        {"genes_per_cell",
         {{"mean", cells.empty() ? 0.0 : double(total_genes) / double(cells.size())},
          {"min", cells.empty() ? 0 : fewest},
          {"max", most}}},
        {"cut_short", st.cut_short},
        {"token_budget", st.token_budget},
        {"sampling",
         {{"temperature", a.sampling.temperature}, {"top_k", a.sampling.top_k}, {"top_p", a.sampling.top_p},
          {"seed", a.sampling.seed}}},
        {"prompt_tokens", st.prompt_tokens},
        {"new_tokens", st.new_tokens},
        {"seconds", st.seconds},
        {"cells_per_second", st.seconds > 0 ? double(st.cells) / st.seconds : 0.0},
        {"load_seconds", session.load_seconds},
    };
    if (a.free) {
      summary["unknown_words_dropped"] = unknown;
      summary["duplicate_genes_merged"] = duplicates;
      summary["words"] = written.value("words", std::int64_t(0));
    } else {
      summary["genes_left_out"] = st.genes_left_out;
    }
    summary["genes_not_in_model"] = st.genes_not_in_model;
    summary["output"] = a.output;
    summary["peak_rss_bytes"] = peak_resident_bytes();
    emit_summary(g, summary);
  });
}

}  // namespace c2s
