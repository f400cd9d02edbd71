// `c2s annotate`: each cell's label predicted by a model trained for a label
// task (its c2s_task.json says which), constrained (scoring every known
// label) or free (generation matched to the nearest label); with the truth in
// the store, the scores, per-class table and confusion matrix. A model
// trained for natural_language_interpretation writes an abstract for each
// group of cells instead, scored against reference abstracts when given.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "cli/model/model_command_names.hpp"
#include "cli/model/model_commands.hpp"
#include "cli/model/model_session.hpp"
#include "cli/model/result_lines.hpp"
#include "core/atomic_output.hpp"
#include "core/error.hpp"
#include "core/json_file.hpp"
#include "core/process_memory.hpp"
#include "core/progress.hpp"
#include "data/store_split.hpp"
#include "evaluation/classification_metrics.hpp"
#include "evaluation/csv_table.hpp"
#include "evaluation/text_overlap.hpp"
#include "io/anndata_writer.hpp"
#include "io/line_reader.hpp"
#include "tasks/cell_annotation.hpp"
#include "tasks/cell_groups.hpp"
#include "tasks/model_cells.hpp"
#include "text/prompt_examples.hpp"

namespace c2s {

namespace fs = std::filesystem;

namespace {

// One label per line (blank lines skipped, repeats kept once).
std::vector<std::string> read_label_file(const std::string& path) {
  LineReader reader(path);
  std::vector<std::string> labels;
  std::set<std::string> seen;
  std::string_view line;
  while (reader.next(line))
    if (line.find_first_not_of(" \t") != std::string_view::npos && seen.emplace(line).second) labels.emplace_back(line);
  if (labels.empty()) throw Error(path, "no labels in the file (one per line)");
  return labels;
}

}  // namespace

void add_annotate_command(CommandSet& set) {
  struct Args {
    ModelArgs model;
    std::string data, split, label_column, labels_file, abstracts_file, mode = "constrained", output;
    std::int64_t max_new_tokens = 32, max_cells = 0, cells_per_group = 5;
    std::vector<std::string> group_by;
    bool adjust_proportions = false;
    InputOptions input;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = set.app.add_subcommand("annotate", model_command_description("annotate"));
  cmd->footer(
      "The model folder's c2s_task.json (written by c2s train) gives the task, its prompt templates, top-k,\n"
      "organism and label set. Constrained mode scores every label's response (as training formats it, with\n"
      "EOS) after the cell's prompt and reports the best with its probability among the labels; free mode\n"
      "generates the answer greedily, as the reference package does, and matches it to the nearest label\n"
      "(confidence: text similarity, 1 = exact). Output folder: annotations.csv, summary.json, (constrained)\n"
      "label_probabilities.csv (every label's probability for every cell) and, when the\n"
      "data hold the truth, per_class.csv, confusion_matrix.csv and confusion_matrix.png. --data may also be\n"
      "an h5ad (or any input c2s convert reads): its cells are made into sentences as convert does, keeping\n"
      "every cell, and for an h5ad the folder also gets annotated.h5ad, a copy with obs c2s_<column> and\n"
      "c2s_<column>_confidence. A multi-cell model (tissue_prediction) is asked once per group of cells:\n"
      "the chosen cells with the same --group-by values (default: the truth column), in store order, cut into\n"
      "even chunks of at most --cells-per-group; each cell gets its group's prediction. An interpretation model\n"
      "(natural_language_interpretation) writes an abstract for each group (free mode, greedy; default grouping:\n"
      "the columns it was trained with): interpretations.csv, scored by ROUGE-1 against the abstract column it\n"
      "was trained on (when the data hold it) or --abstracts.");
  add_model_options(cmd, args->model);
  cmd->add_option("--data", args->data, "Cells to annotate: a sentence store, or an h5ad / 10x / CSV input")
      ->required();
  cmd->add_option("--layer", args->input.matrix.layer, "h5ad input: read layers/<NAME> instead of X");
  cmd->add_flag("--raw", args->input.matrix.raw, "h5ad input: read raw/X instead of X");
  cmd->add_option("--split", args->split,
                  "Cells of this split only (default: test when the store is split, else all; 'all' for every cell)");
  cmd->add_option("--label-column", args->label_column,
                  "obs column holding the truth, for scores (default: the model's label column, when present)");
  cmd->add_option("--labels", args->labels_file, "Candidate labels, one per line (default: the model's label set)");
  cmd->add_option("--mode", args->mode, "constrained (score every label) or free (generate, then match)")
      ->capture_default_str();
  cmd->add_flag("--adjust-proportions", args->adjust_proportions,
                "Constrained mode: estimate the label proportions of these cells (EM, Saerens et al. 2002) and "
                "re-weight every cell's label probabilities from the training proportions to them, for cells whose "
                "mix of labels differs from the training data's (another donor, tissue or condition). A split store's "
                "validation cells first calibrate the probabilities (bias-corrected temperature scaling)");
  cmd->add_option("--max-new-tokens", args->max_new_tokens, "Free mode: longest answer (interpretation: default 256)")
      ->capture_default_str();
  cmd->add_option("--abstracts", args->abstracts_file,
                  "Interpretation models: reference abstracts, a JSON object of group keys (the --group-by values "
                  "joined by ' | ') to abstracts");
  cmd->add_option("--max-cells", args->max_cells, "Annotate only the first N cells chosen (0: all)");
  cmd->add_option("--group-by", args->group_by,
                  "Multi-cell models: obs columns whose values form the groups (default: the truth column)")
      ->delimiter(',');
  cmd->add_option("--cells-per-group", args->cells_per_group, "Multi-cell models: most cells in one prompt")
      ->capture_default_str();
  cmd->add_option("-o,--output", args->output, "Output folder")->required();

  set.add(cmd, [args, cmd, &g = set.global] {
    const Args& a = *args;
    if (a.mode != "constrained" && a.mode != "free") throw UsageError("--mode must be constrained or free");
    if (a.max_new_tokens < 1) throw UsageError("--max-new-tokens must be at least 1");
    if (a.max_cells < 0) throw UsageError("--max-cells must not be negative");
    if (a.cells_per_group < 1) throw UsageError("--cells-per-group must be at least 1");
    const std::optional<ModelTask> task = read_model_task(a.model.model);
    if (!task)
      throw Error(a.model.model, "no c2s_task.json with a task: annotate needs a model trained by `c2s train --data`");
    // An interpretation model answers in text: free generation, no labels.
    const bool interpretation = task->task == PromptTask::NaturalLanguageInterpretation;
    if (interpretation && cmd->count("--mode") && a.mode != "free")
      throw UsageError("an interpretation model writes text, there are no labels to score: use --mode free (its default)");
    if (interpretation && (!a.labels_file.empty() || !a.label_column.empty()))
      throw UsageError("--labels and --label-column are for label models; an interpretation model writes abstracts "
                       "(give reference abstracts with --abstracts)");
    if (!interpretation && !a.abstracts_file.empty())
      throw UsageError("--abstracts is for interpretation models (natural_language_interpretation)");
    const std::string mode = interpretation ? "free" : a.mode;
    const std::int64_t max_new_tokens = interpretation && !cmd->count("--max-new-tokens") ? 256 : a.max_new_tokens;
    const std::map<std::string, std::string> references =
        a.abstracts_file.empty() ? std::map<std::string, std::string>{} : load_abstracts(a.abstracts_file);
    std::vector<std::string> labels = a.labels_file.empty() ? task->labels : read_label_file(a.labels_file);
    if (!task_spec(task->task).multi_cell && (cmd->count("--group-by") || cmd->count("--cells-per-group")))
      throw UsageError("--group-by and --cells-per-group are for multi-cell models; this one is " +
                       std::string(task_name(task->task)));

    AtomicOutput out(a.output);
    fs::create_directories(out.temp_path());
    const ModelCells input(a.data, *task, out.temp_path(), a.input);
    const SentenceStore& store = input.store();
    const std::string split = !a.split.empty() ? a.split : input.default_split();
    const std::vector<std::int64_t> cells = input.cells(split, a.max_cells);
    // The truth, when there is one.
    const std::string truth_column = !a.label_column.empty() ? a.label_column
                                     : interpretation      ? task->abstract_column
                                                           : task->label_column;
    const Column* truth = truth_column.empty() ? nullptr : store.obs().find(truth_column);
    if (!a.label_column.empty() && !truth)
      throw UsageError("--label-column: the data have no obs column '" + a.label_column + "'");

    // One prompt per cell, or per group of cells for a multi-cell model
    // (formed before any model work).
    const bool multi_cell = task_spec(task->task).multi_cell;
    std::vector<std::vector<std::size_t>> groups;
    std::vector<std::string> group_columns = a.group_by, group_keys;
    if (interpretation && group_columns.empty()) {
      // As training grouped them: its columns, and the abstract column when the data hold it.
      group_columns = task->group_by;
      if (truth) group_columns.push_back(truth_column);
      if (group_columns.empty())
        throw UsageError("an interpretation model asks about groups of cells: name the obs columns that form them "
                         "with --group-by");
    }
    if (multi_cell) {
      if (group_columns.empty()) {
        if (!truth)
          throw UsageError("a multi-cell model asks about groups of cells: name the obs columns that form them with "
                           "--group-by (the data have no '" + truth_column + "' column to group by)");
        group_columns = {truth_column};
      }
      std::vector<const Column*> by;
      for (const auto& c : group_columns) {
        by.push_back(store.obs().find(c));
        if (!by.back()) throw UsageError("--group-by: the data have no obs column '" + c + "'");
      }
      for (std::int64_t c : cells) {
        std::string key;
        for (std::size_t k = 0; k < by.size(); ++k) key += (k ? " | " : "") + by[k]->text(std::size_t(c));
        group_keys.push_back(std::move(key));
      }
      groups = cell_groups(group_keys, std::size_t(a.cells_per_group));
    } else {
      for (std::size_t i = 0; i < cells.size(); ++i) groups.push_back({i});
    }

    ModelSession session = open_model_session(a.model, g);
    if (!session.tokenizer) throw Error(a.model.model, "the model folder has no tokenizer");
    AnnotationOptions options;
    options.mode = mode == "free" ? AnnotationMode::Free : AnnotationMode::Constrained;
    options.batch_size = a.model.batch_size;
    options.max_new_tokens = max_new_tokens;
    options.adjust_for_label_shift = a.adjust_proportions;
    CellAnnotator annotator(*session.model, *session.tokenizer, *task, labels, options);
    // --adjust-proportions calibrates the probabilities on the store's
    // validation cells first, when it has them with the truth.
    std::string calibration_split;
    if (a.adjust_proportions && !multi_cell && truth && split != "validation" && !input.converted() &&
        store_has_split(store, "validation")) {
      const std::vector<std::int64_t> vcells = cells_in_split(store, "validation");
      std::vector<std::string> vtruth;
      std::vector<std::uint64_t> vkeys;
      for (std::int64_t c : vcells) {
        vtruth.push_back(truth->text(std::size_t(c)));
        vkeys.push_back(std::uint64_t(c));
      }
      Progress calibrating("calibrate", vcells.size(), "cells");
      annotator.calibrate(input.sentences(vcells), vkeys, vtruth, &calibrating);
      calibrating.finish();
      calibration_split = "validation";
    }

    const std::vector<std::string> texts = input.sentences(cells);
    std::vector<std::vector<std::string>> group_texts;
    std::vector<std::uint64_t> keys;
    for (const auto& members : groups) {
      group_texts.emplace_back();
      for (std::size_t i : members) group_texts.back().push_back(texts[i]);
      keys.push_back(std::uint64_t(cells[members.front()]));
    }
    Progress progress("annotate", groups.size(), multi_cell ? "groups" : "cells");
    const auto group_annotations = annotator.annotate_groups(group_texts, keys, &progress);
    progress.finish();
    std::vector<CellAnnotation> annotations(cells.size());
    std::vector<std::size_t> group_of(cells.size());
    for (std::size_t k = 0; k < groups.size(); ++k)
      for (std::size_t i : groups[k]) annotations[i] = group_annotations[k], group_of[i] = k;
    const auto& st = annotator.stats();
    nlohmann::ordered_json summary = {
        {"model", a.model.model},
        {"data", a.data},
        {"split", split},
        {"task", task_name(task->task)},
        {"mode", mode},
        {"cells", cells.size()},
    };

    if (interpretation) {
      // One abstract a group (interpretations.csv), scored by ROUGE-1 against
      // its reference (--abstracts by group key, else the abstract column);
      // annotations.csv maps each cell to its group.
      CsvTable groups_table({"group", "key", "cells", "abstract", "reference", "rouge1_precision", "rouge1_recall",
                             "rouge1_f"});
      double f_sum = 0, p_sum = 0, r_sum = 0;
      std::int64_t scored = 0;
      for (std::size_t k = 0; k < groups.size(); ++k) {
        const std::string& key = group_keys[groups[k].front()];
        std::optional<std::string> reference;
        if (!references.empty()) {
          if (auto it = references.find(key); it != references.end()) reference = it->second;
        } else if (truth) {
          reference = truth->text(std::size_t(cells[groups[k].front()]));
        }
        std::vector<std::string> row = {std::to_string(k), key, std::to_string(groups[k].size()),
                                        group_annotations[k].text, reference.value_or("")};
        if (reference) {
          const WordOverlap o = rouge1(group_annotations[k].text, *reference);
          row.insert(row.end(), {csv_number(o.precision), csv_number(o.recall), csv_number(o.f1)});
          p_sum += o.precision, r_sum += o.recall, f_sum += o.f1;
          ++scored;
        } else {
          row.insert(row.end(), {"", "", ""});
        }
        groups_table.add_row(std::move(row));
      }
      groups_table.write(out.temp_path() / "interpretations.csv");
      CsvTable cell_table({"cell", "group"});
      for (std::size_t i = 0; i < cells.size(); ++i)
        cell_table.add_row({store.cell_names()[std::size_t(cells[i])], std::to_string(group_of[i])});
      cell_table.write(out.temp_path() / "annotations.csv");
      summary["groups"] = {{"count", groups.size()}, {"by", group_columns}, {"cells_per_group", a.cells_per_group}};
      summary["max_new_tokens"] = max_new_tokens;
      summary["seconds"] = st.seconds;
      summary["prompt_tokens"] = st.prompt_tokens;
      summary["output"] = a.output;
      if (scored > 0) {
        summary["references"] = references.empty() ? "column " + truth_column : a.abstracts_file;
        summary["scores"] = {{"groups_scored", scored},
                             {"rouge1_precision", p_sum / double(scored)},
                             {"rouge1_recall", r_sum / double(scored)},
                             {"rouge1_f", f_sum / double(scored)}};
      }
      summary["input"] = input.describe();
      summary["peak_rss_bytes"] = peak_resident_bytes();
      write_json_file(out.temp_path() / "summary.json", summary);
      out.commit();
      emit_summary(g, summary);
      return;
    }

    std::vector<std::string> header = {"cell", "prediction", "confidence", "text"};
    if (multi_cell) header.push_back("group");
    if (truth) header.push_back(truth_column);
    CsvTable table(header);
    std::vector<std::string> predicted, actual;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      const auto& r = annotations[i];
      std::vector<std::string> row = {store.cell_names()[std::size_t(cells[i])], annotator.labels()[r.label],
                                      csv_number(r.confidence), r.text};
      if (multi_cell) row.push_back(std::to_string(group_of[i]));
      predicted.push_back(annotator.labels()[r.label]);
      if (truth) {
        actual.push_back(truth->text(std::size_t(cells[i])));
        row.push_back(actual.back());
      }
      table.add_row(std::move(row));
    }
    table.write(out.temp_path() / "annotations.csv");
    if (options.mode == AnnotationMode::Constrained) {
      // Every label's probability for every cell, for thresholds and
      // calibration downstream.
      std::vector<std::string> columns = {"cell"};
      columns.insert(columns.end(), annotator.labels().begin(), annotator.labels().end());
      CsvTable probabilities(columns);
      for (std::size_t i = 0; i < cells.size(); ++i) {
        std::vector<std::string> row = {store.cell_names()[std::size_t(cells[i])]};
        for (double p : annotations[i].probabilities) row.push_back(csv_number(p));
        probabilities.add_row(std::move(row));
      }
      probabilities.write(out.temp_path() / "label_probabilities.csv");
    }
    if (a.adjust_proportions) {
      // One value per candidate label, as an object label -> value.
      auto by_label = [&](const std::vector<double>& values) {
        nlohmann::json o = nlohmann::json::object();
        for (std::size_t l = 0; l < annotator.labels().size(); ++l) o[annotator.labels()[l]] = values[l];
        return o;
      };
      summary["label_shift"] = {{"training_proportions", by_label(st.training_proportions)},
                                {"estimated_proportions", by_label(st.estimated_proportions)},
                                {"em_iterations", st.label_shift_iterations}};
      if (const auto& c = annotator.calibration()) {
        summary["label_shift"]["calibration"] = {{"split", calibration_split}, {"cells", c->cells},
                                                 {"scale", c->scale}, {"bias", by_label(c->bias)},
                                                 {"proportions", by_label(c->proportions)},
                                                 {"nll_before", c->nll_before}, {"nll_after", c->nll_after},
                                                 {"seconds", st.calibration_seconds}};
      } else {
        summary["label_shift"]["calibration"] = nullptr;
      }
    }
    summary["labels"] = annotator.labels();
    summary["seconds"] = st.seconds;
    summary["cells_per_second"] = st.seconds > 0 ? double(st.cells) / st.seconds : 0.0;
    summary["prompt_tokens"] = st.prompt_tokens;
    summary["output"] = a.output;
    if (options.mode == AnnotationMode::Free) summary["exact_matches"] = st.exact_matches;
    if (multi_cell) summary["groups"] = {{"count", groups.size()}, {"by", group_columns}, {"cells_per_group", a.cells_per_group}};
    if (truth) {
      // Classes: the candidate labels, then any true label they lack.
      std::vector<std::string> classes = annotator.labels();
      std::set<std::string> have(classes.begin(), classes.end());
      for (const auto& t : actual)
        if (have.insert(t).second) classes.push_back(t);
      const ClassificationReport report = classification_report(actual, predicted, classes);
      write_per_class_csv(report, out.temp_path() / "per_class.csv");
      write_confusion_csv(report, out.temp_path() / "confusion_matrix.csv");
      write_confusion_png(report, out.temp_path() / "confusion_matrix.png",
                          "c2s annotate (" + mode + "), " + truth_column);
      summary["truth_column"] = truth_column;
      summary["scores"] = classification_json(report);
    }
    summary["input"] = input.describe();
    if (input.converted() && extension_of(a.data) == "h5ad") {
      // The user's h5ad with the predictions in obs (cells not annotated: missing).
      const std::string column = "c2s_" + (task->label_column.empty() ? std::string("label") : task->label_column);
      AnnDataAdditions add;
      Column label{.name = column, .kind = Column::Kind::Categorical};
      label.categories = annotator.labels();
      label.codes.assign(std::size_t(store.n_cells()), -1);
      Column confidence{.name = column + "_confidence", .kind = Column::Kind::Numeric};
      confidence.numbers.assign(std::size_t(store.n_cells()), std::nan(""));
      for (std::size_t i = 0; i < cells.size(); ++i) {
        label.codes[std::size_t(cells[i])] = std::int32_t(annotations[i].label);
        confidence.numbers[std::size_t(cells[i])] = annotations[i].confidence;
      }
      add.obs_columns = {std::move(label), std::move(confidence)};
      copy_anndata_with(a.data, (out.temp_path() / "annotated.h5ad").string(), add);
      summary["annotated_h5ad"] = (fs::path(a.output) / "annotated.h5ad").string();
      summary["obs_columns"] = {column, column + "_confidence"};
    }
    summary["peak_rss_bytes"] = peak_resident_bytes();
    write_json_file(out.temp_path() / "summary.json", summary);
    out.commit();
    emit_summary(g, summary);
  });
}

}  // namespace c2s
