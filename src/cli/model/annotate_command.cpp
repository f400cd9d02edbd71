// `c2s annotate`: each cell's label predicted by a model trained for a label
// task (its c2s_task.json says which), constrained (scoring every known
// label) or free (generation matched to the nearest label); with the truth in
// the store, the scores, per-class table and confusion matrix.
#include <filesystem>
#include <set>

#include "cli/model/model_command_names.hpp"
#include "cli/model/model_commands.hpp"
#include "cli/model/model_session.hpp"
#include "core/atomic_output.hpp"
#include "core/error.hpp"
#include "core/json_file.hpp"
#include "core/process_memory.hpp"
#include "core/progress.hpp"
#include "data/sentence_store.hpp"
#include "data/store_split.hpp"
#include "evaluation/classification_metrics.hpp"
#include "evaluation/csv_table.hpp"
#include "io/line_reader.hpp"
#include "tasks/cell_annotation.hpp"
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
    std::string data, split, label_column, labels_file, mode = "constrained", output;
    std::int64_t max_new_tokens = 32, max_cells = 0;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = set.app.add_subcommand("annotate", model_command_description("annotate"));
  cmd->footer(
      "The model folder's c2s_task.json (written by c2s train) gives the task, its prompt templates, top-k,\n"
      "organism and label set. Constrained mode scores every label's response (as training formats it, with\n"
      "EOS) after the cell's prompt and reports the best with its probability among the labels; free mode\n"
      "generates the answer greedily, as the reference package does, and matches it to the nearest label\n"
      "(confidence: text similarity, 1 = exact). Output folder: annotations.csv, summary.json and, when the\n"
      "store holds the truth, per_class.csv, confusion_matrix.csv and confusion_matrix.png.");
  add_model_options(cmd, args->model);
  cmd->add_option("--data", args->data, "Sentence store of the cells to annotate")->required();
  cmd->add_option("--split", args->split,
                  "Cells of this split only (default: test when the store is split, else all; 'all' for every cell)");
  cmd->add_option("--label-column", args->label_column,
                  "obs column holding the truth, for scores (default: the model's label column, when present)");
  cmd->add_option("--labels", args->labels_file, "Candidate labels, one per line (default: the model's label set)");
  cmd->add_option("--mode", args->mode, "constrained (score every label) or free (generate, then match)")
      ->capture_default_str();
  cmd->add_option("--max-new-tokens", args->max_new_tokens, "Free mode: longest answer")->capture_default_str();
  cmd->add_option("--max-cells", args->max_cells, "Annotate only the first N cells chosen (0: all)");
  cmd->add_option("-o,--output", args->output, "Output folder")->required();

  set.add(cmd, [args, &g = set.global] {
    const Args& a = *args;
    if (a.mode != "constrained" && a.mode != "free") throw UsageError("--mode must be constrained or free");
    if (a.max_new_tokens < 1) throw UsageError("--max-new-tokens must be at least 1");
    if (a.max_cells < 0) throw UsageError("--max-cells must not be negative");
    const std::optional<ModelTask> task = read_model_task(a.model.model);
    if (!task)
      throw Error(a.model.model, "no c2s_task.json with a task: annotate needs a model trained by `c2s train --data`");
    std::vector<std::string> labels = a.labels_file.empty() ? task->labels : read_label_file(a.labels_file);

    // The cells.
    SentenceStore store(a.data);
    const bool is_split = store.obs().find("split") != nullptr;
    const std::string split = !a.split.empty() ? a.split : is_split ? "test" : "all";
    std::vector<std::int64_t> cells;
    if (split == "all") {
      for (std::int64_t i = 0; i < store.n_cells(); ++i) cells.push_back(i);
    } else {
      cells = cells_in_split(store, split);
    }
    if (a.max_cells > 0 && std::int64_t(cells.size()) > a.max_cells) cells.resize(std::size_t(a.max_cells));
    // The genes must be the model's.
    if (!task->genes.empty()) {
      const std::set<std::string> known(task->genes.begin(), task->genes.end());
      std::size_t shared = 0;
      for (const auto& gene : store.genes()) shared += known.count(gene);
      if (shared * 2 < store.genes().size())
        throw Error(a.data, "only " + std::to_string(shared) + " of the store's " + std::to_string(store.genes().size()) +
                                " genes are genes the model was trained on (a store of another gene set?)");
    }
    // The truth, when there is one.
    const std::string truth_column = !a.label_column.empty() ? a.label_column : task->label_column;
    const Column* truth = store.obs().find(truth_column);
    if (!a.label_column.empty() && !truth)
      throw UsageError("--label-column: the store has no obs column '" + a.label_column + "'");

    AtomicOutput out(a.output);
    ModelSession session = open_model_session(a.model, g);
    if (!session.tokenizer) throw Error(a.model.model, "the model folder has no tokenizer");
    AnnotationOptions options;
    options.mode = a.mode == "free" ? AnnotationMode::Free : AnnotationMode::Constrained;
    options.batch_size = a.model.batch_size;
    options.max_new_tokens = a.max_new_tokens;
    CellAnnotator annotator(*session.model, *session.tokenizer, *task, labels, options);

    StoreSentences sentences;
    sentences.load(store, cells, task->top_k);
    std::vector<std::string> texts;
    std::vector<std::uint64_t> keys;
    for (std::int64_t c : cells) {
      texts.push_back(sentences.sentence(c));
      keys.push_back(std::uint64_t(c));
    }
    Progress progress("annotate", cells.size(), "cells");
    const auto annotations = annotator.annotate(texts, keys, &progress);
    progress.finish();

    fs::create_directories(out.temp_path());
    std::vector<std::string> header = {"cell", "prediction", "confidence", "text"};
    if (truth) header.push_back(truth_column);
    CsvTable table(header);
    std::vector<std::string> predicted, actual;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      const auto& r = annotations[i];
      std::vector<std::string> row = {store.cell_names()[std::size_t(cells[i])], annotator.labels()[r.label],
                                      csv_number(r.confidence), r.text};
      predicted.push_back(annotator.labels()[r.label]);
      if (truth) {
        actual.push_back(truth->text(std::size_t(cells[i])));
        row.push_back(actual.back());
      }
      table.add_row(std::move(row));
    }
    table.write(out.temp_path() / "annotations.csv");
    const auto& st = annotator.stats();
    nlohmann::ordered_json summary = {
        {"model", a.model.model},
        {"data", a.data},
        {"split", split},
        {"task", task_name(task->task)},
        {"mode", a.mode},
        {"cells", cells.size()},
        {"labels", annotator.labels()},
        {"seconds", st.seconds},
        {"cells_per_second", st.seconds > 0 ? double(st.cells) / st.seconds : 0.0},
        {"prompt_tokens", st.prompt_tokens},
        {"output", a.output},
    };
    if (options.mode == AnnotationMode::Free) summary["exact_matches"] = st.exact_matches;
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
                          "c2s annotate (" + a.mode + "), " + truth_column);
      summary["truth_column"] = truth_column;
      summary["scores"] = classification_json(report);
    }
    summary["peak_rss_bytes"] = peak_resident_bytes();
    write_json_file(out.temp_path() / "summary.json", summary);
    out.commit();
    emit_summary(g, summary);
  });
}

}  // namespace c2s
