// `c2s generate-cells`: cells of given types written by a model trained for
// cell_type_generation, or groups of cells of given tissues by a model
// trained for tissue_conditional_generation (its c2s_task.json gives the
// templates, top-k, organism, types or tissues, and genes), constrained to
// vocabulary genes or free as the reference package generates, then turned
// back into expression with the store's inverse model: an h5ad of the
// generated cells.
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
#include "tasks/cell_groups.hpp"

namespace c2s {

void add_generate_cells_command(CommandSet& set) {
  struct Args {
    ModelArgs model;
    std::vector<std::string> cell_types, tissues;
    bool all_types = false, free = false;
    std::int64_t n = 10, genes = 0, cells_per_group = 5;
    std::string data, output;
    SamplingOptions sampling{.do_sample = true, .top_k = 50, .seed = 42};
  };
  auto args = std::make_shared<Args>();
  auto* cmd = set.app.add_subcommand("generate-cells", model_command_description("generate-cells"));
  cmd->footer(
      "The model folder's c2s_task.json (written by c2s train --task cell_type_generation, or\n"
      "tissue_conditional_generation) gives the prompt templates, top-k, organism, cell types (tissues) and\n"
      "genes. Each prompt is sampled from its own random stream (seed, prompt index), so the cells of a type\n"
      "differ and do not depend on the batch. A tissue model writes a group of cells a prompt: the -n cells of\n"
      "a tissue are asked for in even groups of at most --cells-per-group. Constrained mode (the default) lets\n"
      "the model write only genes of the store that the model knows, each at most once a cell, at most --genes\n"
      "of them, then the end of its response (a tissue model: the cells' headers between them); --free samples\n"
      "without constraint and cleans the text as the reference package does (unknown words dropped, a repeated\n"
      "gene merged at its mean position). The sentences are turned into expression with the store's inverse\n"
      "model. Output: an h5ad with obs <label column> (the requested type or tissue), c2s_sentence, c2s_text,\n"
      "c2s_finish_reason (a tissue model: c2s_group, the prompt) and the counts of c2s reconstruct\n"
      "(docs/formats/generated-cells.md).");
  add_model_options(cmd, args->model);
  cmd->add_option("--cell-type", args->cell_types, "Cell type to generate (repeatable; one of the model's)");
  cmd->add_option("--tissue", args->tissues, "Tissue model: tissue to generate cells of (repeatable; one of the model's)");
  cmd->add_flag("--all-types,--all-tissues", args->all_types, "Every cell type (or tissue) the model was trained on");
  cmd->add_option("-n,--cells", args->n, "Cells per type or tissue")->capture_default_str();
  cmd->add_option("--cells-per-group", args->cells_per_group, "Tissue model: most cells one prompt writes")
      ->capture_default_str();
  cmd->add_option("--genes", args->genes, "Genes per cell (default: the model's top-k)");
  cmd->add_option("--data", args->data, "Sentence store whose genes and inverse model reconstruct the cells")
      ->required();
  cmd->add_option("-o,--output", args->output, "Output .h5ad")->required();
  cmd->add_flag("--free", args->free, "Unconstrained sampling, cleaned afterwards (the reference behaviour)");
  add_cell_sampling_options(cmd, args->sampling);

  set.add(cmd, [args, cmd, &g = set.global] {
    const Args& a = *args;
    if (a.n < 1) throw UsageError("-n must be at least 1");
    if (a.genes < 0) throw UsageError("--genes must be at least 1");
    if (a.cells_per_group < 1) throw UsageError("--cells-per-group must be at least 1");
    if (a.sampling.top_k < 0) throw UsageError("--top-k must not be negative");
    const std::optional<ModelTask> task = read_model_task(a.model.model);
    if (!task)
      throw Error(a.model.model,
                  "no c2s_task.json with a task: generate-cells needs a model trained by `c2s train --task "
                  "cell_type_generation` (or tissue_conditional_generation)");
    const bool tissue_model = task->task == PromptTask::TissueConditionalGeneration;
    if (task->task != PromptTask::CellTypeGeneration && !tissue_model)
      throw Error(a.model.model, "the model was trained for " + std::string(task_name(task->task)) +
                                     ", not cell_type_generation or tissue_conditional_generation");
    // --cell-type for a cell-type model, --tissue for a tissue model.
    const std::string flag = tissue_model ? "--tissue" : "--cell-type", what = tissue_model ? "tissue" : "cell type";
    const std::vector<std::string>& named = tissue_model ? a.tissues : a.cell_types;
    if (!(tissue_model ? a.cell_types : a.tissues).empty())
      throw UsageError("the model was trained for " + std::string(task_name(task->task)) + ": name what to generate with " +
                       flag);
    if (!tissue_model && cmd->count("--cells-per-group"))
      throw UsageError("--cells-per-group is for a tissue_conditional_generation model");
    if (named.empty() == !a.all_types)
      throw UsageError("give " + flag + " X (repeatable) or " + (tissue_model ? "--all-tissues" : "--all-types"));
    std::vector<std::string> types = a.all_types ? task->labels : named;
    for (const auto& t : types)
      if (std::find(task->labels.begin(), task->labels.end(), t) == task->labels.end()) {
        std::string known;
        for (const auto& l : task->labels) known += (known.empty() ? "" : ", ") + l;
        throw Error(flag, "'" + t + "' is not a " + what + " of the model (it knows: " + known + ")");
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

    // One prompt a cell, or a group of cells for a tissue model.
    std::vector<CellRequest> requests;
    for (const auto& t : types) {
      if (tissue_model)
        for (std::size_t size : even_chunk_sizes(std::size_t(a.n), std::size_t(a.cells_per_group)))
          requests.push_back({.condition = t, .cells = std::int64_t(size)});
      else
        requests.insert(requests.end(), std::size_t(a.n), CellRequest{.condition = t});
    }
    Progress progress("generate-cells", requests.size(), tissue_model ? "prompts" : "cells");
    const auto cells = generator.generate(requests, &progress);
    progress.finish();

    // obs: the requested type, the sentence (genes kept) and the raw text.
    const std::string label_column = task->label_column.empty() ? "cell_type" : task->label_column;
    DataFrame obs;
    Column type{.name = label_column, .kind = Column::Kind::String};
    Column sentence{.name = "c2s_sentence", .kind = Column::Kind::String};
    Column text{.name = "c2s_text", .kind = Column::Kind::String};
    Column finish{.name = "c2s_finish_reason", .kind = Column::Kind::String};
    Column group{.name = "c2s_group", .kind = Column::Kind::Numeric};
    std::vector<std::string> sentences;  // what reconstruction parses
    std::map<std::string, std::int64_t> per_type;
    std::int64_t fewest = INT64_MAX, most = 0, total_genes = 0, unknown = 0, duplicates = 0;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      const GeneratedCell& c = cells[i];
      const std::string& requested = requests[c.request].condition;
      obs.index.push_back(fmt::format("generated_{}", i));
      type.strings.push_back(requested);
      group.numbers.push_back(double(c.request));
      sentence.strings.push_back(sentence_text(c.genes, store.genes()));
      text.strings.push_back(c.text);
      finish.strings.push_back(c.finish_reason);
      // Free mode: the text as generated, cleaned by the reconstruction as
      // the reference cleans it (so its counts land in obs too).
      sentences.push_back(a.free ? c.text : sentence.strings.back());
      ++per_type[requested];
      const auto n = std::int64_t(c.genes.size());
      fewest = std::min(fewest, n), most = std::max(most, n), total_genes += n;
      unknown += c.unknown_words, duplicates += c.duplicate_genes;
    }
    for (Column* c : {&type, &finish}) *c = c->as_categorical();
    obs.columns = {std::move(type), std::move(sentence), std::move(text), std::move(finish)};
    if (tissue_model) obs.columns.push_back(std::move(group));
    const nlohmann::json written = reconstruct_sentences(sentences, obs, store.genes(), store.header().gene_n_cells,
                                                         *store.inverse_model(), out.temp_path().string());
    out.commit();

    const auto& st = generator.stats();
    nlohmann::ordered_json summary = {
        {"model", a.model.model},
        {"data", a.data},
        {"mode", a.free ? "free" : "constrained"},
        {"task", task_name(task->task)},
        {"cells", cells.size()},
        {tissue_model ? "cells_per_tissue" : "cells_per_type", per_type},
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
    if (tissue_model) {
      summary["prompts"] = st.prompts;
      summary["cells_per_group"] = a.cells_per_group;
      summary["cells_missing"] = st.cells_missing;
      summary["cells_extra_dropped"] = st.cells_extra;
    }
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
