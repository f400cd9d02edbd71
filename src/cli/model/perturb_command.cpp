// `c2s perturb`: the perturbed state of a store's control cells predicted by
// a model trained for perturbation_prediction (its c2s_task.json gives the
// templates, condition column, control value, match column and the
// perturbations it knows): one generated sentence per control cell,
// reconstructed to expression with the store's inverse model; with
// --evaluate, the predicted mean shift scored against the held-out cells'.
#include <filesystem>

#include <fmt/format.h>

#include "cli/model/model_command_names.hpp"
#include "cli/model/model_commands.hpp"
#include "cli/model/model_session.hpp"
#include "core/atomic_output.hpp"
#include "core/error.hpp"
#include "core/json_file.hpp"
#include "core/process_memory.hpp"
#include "core/progress.hpp"
#include "data/reconstruction.hpp"
#include "data/sentence_store.hpp"
#include "evaluation/perturbation_shift.hpp"
#include "tasks/perturbation_prediction.hpp"
#include "text/prompt_examples.hpp"

namespace c2s {

namespace fs = std::filesystem;

void add_perturb_command(CommandSet& set) {
  struct Args {
    ModelArgs model;
    std::string data, perturbation, split, output, evaluate;
    std::int64_t max_cells = 0, max_new_tokens = 0, top_genes = 50;
    bool greedy = false, free = false;
    SamplingOptions sampling{.do_sample = true, .top_k = 50, .seed = 42};
  };
  auto args = std::make_shared<Args>();
  auto* cmd = set.app.add_subcommand("perturb", model_command_description("perturb"));
  cmd->footer(
      "The model folder's c2s_task.json (written by c2s train --task perturbation_prediction) gives the prompt\n"
      "templates, top-k, organism, the condition column and control value, the match column and the\n"
      "perturbations seen in training. Each control cell of the split gets the model's prompt (its sentence,\n"
      "the perturbation) and the perturbed cell's sentence is sampled, each cell from its own random stream\n"
      "(seed, cell index), or chosen greedily with --greedy. Constrained decoding (the default) lets the model\n"
      "write only genes of the store that it knows, each at most once, at most its top-k; --free generates\n"
      "without constraint and cleans the text as the reference package does (unknown words dropped and\n"
      "counted, a repeated gene merged at its mean position). Sentences are reconstructed to expression with\n"
      "the store's inverse model. Output: an h5ad of the predicted cells\n"
      "(obs control_cell, perturbation, sentence). --evaluate DIR scores the predicted mean expression shift\n"
      "against the held-out cells' (summary.json, shifts.csv, shift_scatter.png; see\n"
      "docs/formats/perturb-output.md).");
  add_model_options(cmd, args->model);
  cmd->add_option("--data", args->data, "Sentence store of the control cells (with its inverse model)")->required();
  cmd->add_option("--perturbation", args->perturbation, "The perturbation to apply (one the model was trained on)")
      ->required();
  cmd->add_option("--split", args->split,
                  "Control cells of this split (default: test when the store is split, else all; 'all' for every cell)");
  cmd->add_option("-n,--max-cells", args->max_cells, "Perturb only the first N control cells (0: all)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-new-tokens", args->max_new_tokens,
                  "Longest response in tokens (0: room for top-k genes; --free: the controls' own sentences' "
                  "length, plus 10% and 8)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--free", args->free, "Unconstrained generation, cleaned afterwards (the reference behaviour)");
  cmd->add_flag("--greedy", args->greedy, "The most likely sentence instead of a sampled one");
  add_cell_sampling_options(cmd, args->sampling, " (each cell draws from its own stream)");
  cmd->add_option("-o,--output", args->output, "Output .h5ad of the predicted cells")->required();
  cmd->add_option("--evaluate", args->evaluate,
                  "Also score the predicted mean shift against the held-out cells into this folder (split stores)");
  cmd->add_option("--top-genes", args->top_genes, "With --evaluate: the most-changed genes the main scores use")
      ->capture_default_str();

  set.add(cmd, [args, cmd, &g = set.global] {
    const Args& a = *args;
    for (const char* flag : {"--temperature", "--top-k", "--top-p", "--seed"})
      if (cmd->count(flag) && a.greedy) throw UsageError(std::string(flag) + " is for sampling, not --greedy");
    if (a.sampling.top_k < 0) throw UsageError("--top-k must not be negative");
    if (cmd->count("--top-genes") && a.evaluate.empty()) throw UsageError("--top-genes needs --evaluate");
    if (a.top_genes < 2) throw UsageError("--top-genes must be at least 2");
    const std::optional<ModelTask> task = read_model_task(a.model.model);
    if (!task)
      throw Error(a.model.model, "no c2s_task.json with a task: perturb needs a model trained by `c2s train --data "
                                 "STORE --task perturbation_prediction`");
    check_perturbation_task(*task, a.perturbation);

    // The control cells.
    SentenceStore store(a.data);
    if (!store.inverse_model())
      throw Error(store.path(), "the store has no inverse model to reconstruct with (run `c2s inverse fit`)");
    const std::vector<std::uint8_t> known = check_store_genes(*task, store, a.data);
    const Column* split_column = store.obs().find("split");
    const std::string split = !a.split.empty() ? a.split : split_column ? "test" : "all";
    if (split != "all" && !split_column)
      throw UsageError("--split " + split + ": the store has no split (run `c2s split` first, or use --split all)");
    if (!a.evaluate.empty() && (!split_column || split == "all"))
      throw UsageError("--evaluate needs held-out cells: a split store (`c2s split`) and a --split other than all");
    const Column* condition = store.obs().find(task->condition_column);
    if (!condition)
      throw Error(store.path(), "no obs column '" + task->condition_column +
                                    "' to find the control cells by (the column the model was trained with)");
    const Column* match = nullptr;
    if (!task->match_column.empty() && !(match = store.obs().find(task->match_column)))
      throw Error(store.path(), "no obs column '" + task->match_column + "' (the model matched controls by it)");
    std::vector<std::int64_t> cells;
    for (std::int64_t i = 0; i < store.n_cells(); ++i)
      if ((split == "all" || split_column->text(std::size_t(i)) == split) &&
          condition->text(std::size_t(i)) == task->control_value)
        cells.push_back(i);
    if (cells.empty())
      throw Error(store.path(), "no control cells: no cell" + (split == "all" ? std::string() : " of split '" + split + "'") +
                                    " has " + task->condition_column + " '" + task->control_value + "'");
    if (a.max_cells > 0 && std::int64_t(cells.size()) > a.max_cells) cells.resize(std::size_t(a.max_cells));

    // Outputs are checked before any work.
    AtomicOutput out(a.output);
    std::optional<AtomicOutput> report;
    if (!a.evaluate.empty()) report.emplace(a.evaluate);

    ModelSession session = open_model_session(a.model, g);
    if (!session.tokenizer) throw Error(a.model.model, "the model folder has no tokenizer");
    PerturbationOptions options;
    options.batch_size = a.model.batch_size;
    options.max_new_tokens = a.max_new_tokens;
    options.decoding = a.free ? SentenceDecoding::Free : SentenceDecoding::Constrained;
    options.sampling = a.sampling;
    options.sampling.do_sample = !a.greedy;
    if (a.greedy) options.sampling.top_k = 0;
    PerturbationPredictor predictor(*session.model, *session.tokenizer, *task, store.genes(), known, options);

    StoreSentences sentences;
    sentences.load(store, cells, task->top_k, false, &known);
    std::vector<ControlCell> controls;
    for (std::int64_t c : cells)
      controls.push_back({sentences.sentence(c), std::uint64_t(c), match ? match->text(std::size_t(c)) : ""});
    Progress progress("perturb", cells.size(), "cells");
    const auto predicted = predictor.predict(controls, a.perturbation, &progress);
    progress.finish();

    // The predicted cells, reconstructed.
    DataFrame obs;
    Column control_cell{.name = "control_cell", .kind = Column::Kind::String};
    Column perturbation{.name = "perturbation", .kind = Column::Kind::Categorical};
    perturbation.categories = {a.perturbation};
    Column sentence{.name = "sentence", .kind = Column::Kind::String};
    Column finish{.name = "finish_reason", .kind = Column::Kind::String};
    std::vector<std::string> texts;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      const std::string& name = store.cell_names()[std::size_t(cells[i])];
      obs.index.push_back(name);
      control_cell.strings.push_back(name);
      perturbation.codes.push_back(0);
      sentence.strings.push_back(predicted[i].sentence);
      finish.strings.push_back(predicted[i].finish_reason);
      texts.push_back(predicted[i].sentence);
    }
    obs.columns = {std::move(control_cell), std::move(perturbation), std::move(sentence), finish.as_categorical()};
    if (match) obs.columns.push_back(match->take(cells));
    const nlohmann::json written = reconstruct_sentences(
        texts, obs, store.genes(), store.header().gene_n_cells, *store.inverse_model(), out.temp_path().string(),
        {{"c2s_perturbation", a.perturbation},
         {"c2s_condition_column", task->condition_column},
         {"c2s_control", task->control_value},
         {"c2s_model", a.model.model},
         {"c2s_top_k", task->top_k}});

    const auto& st = predictor.stats();
    nlohmann::ordered_json summary = {
        {"model", a.model.model},
        {"data", a.data},
        {"split", split},
        {"perturbation", a.perturbation},
        {"cells", cells.size()},
        {"decoding", a.free ? "free" : "constrained"},
        {"sampling", a.greedy ? "greedy" : "sampled"},
        {"max_new_tokens", st.max_new_tokens},
        {"new_tokens", st.new_tokens},
        {"cut_at_max_new_tokens", st.length_stops},
        {"genes_not_in_model", st.genes_not_in_model},
        {"genes_the_tokenizer_cannot_write", st.genes_left_out},
        {"words", written["words"]},
        {"unknown_words_dropped", written["unknown_words_dropped"]},
        {"duplicate_genes_merged", written["duplicate_genes_merged"]},
        {"genes_per_sentence", double(written["words"].get<std::int64_t>() -
                                      written["unknown_words_dropped"].get<std::int64_t>() -
                                      written["duplicate_genes_merged"].get<std::int64_t>()) /
                                   double(cells.size())},
        {"seconds", st.seconds},
        {"cells_per_second", st.seconds > 0 ? double(st.cells) / st.seconds : 0.0},
        {"output", a.output},
    };
    if (report) {
      SentenceParser parser(store.genes());
      std::vector<std::vector<std::uint32_t>> genes;
      for (const auto& p : predicted) genes.push_back(parser.parse(p.sentence).genes);
      PerturbationShiftOptions so;
      so.condition_column = task->condition_column;
      so.control_value = task->control_value;
      so.perturbation = a.perturbation;
      so.test_split = split;
      so.top_k = task->top_k;
      so.top_genes = std::size_t(a.top_genes);
      const PerturbationShiftReport shift = evaluate_perturbation_shift(store, so, genes, cells);
      nlohmann::ordered_json figures = perturbation_shift_json(shift);
      fs::create_directories(report->temp_path());
      write_perturbation_shift_files(shift, report->temp_path());
      nlohmann::ordered_json full = {{"model", a.model.model}, {"data", a.data}, {"predicted", a.output}};
      for (const auto& [k, v] : figures.items()) full[k] = v;
      write_json_file(report->temp_path() / "summary.json", full);
      nlohmann::ordered_json brief;
      for (const auto& m : shift.methods)
        brief[m.name] = {{"pearson_r_top_genes", figures["methods"][m.name]["pearson_r_top_genes"]},
                         {"rmse_top_genes", m.scores.rmse_top},
                         {"pearson_r_all_genes", figures["methods"][m.name]["pearson_r_all_genes"]}};
      summary["evaluation"] = {{"output", a.evaluate}, {"top_genes", shift.top_genes.size()}, {"methods", brief}};
    }
    summary["peak_rss_bytes"] = peak_resident_bytes();
    out.commit();
    if (report) report->commit();
    emit_summary(g, summary);
  });
}

}  // namespace c2s
