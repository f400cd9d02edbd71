// The task a model folder was trained for, as `c2s train` records it in
// c2s_task.json: what annotate, perturb, generate-cells and embed need to
// build the model's prompts without flags (task, label column and values,
// top-k, organism, the very prompt templates, the genes of its sentences;
// for perturbation_prediction the condition column, control value,
// perturbations and match column; for multi-cell tasks the grouping columns
// and the abstract column).
// Format: docs/formats/training-run.md.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "text/prompt_formatter.hpp"
#include "text/prompt_tasks.hpp"

namespace c2s {

struct ModelTask {
  PromptTask task = PromptTask::CellTypePrediction;
  std::string label_column;
  std::string label_name;           // label_prediction's {label_name}
  std::vector<std::string> labels;  // the label values seen in training, in training's order
  std::vector<std::int64_t> label_counts;  // training examples per label (empty in older records)
  std::int64_t top_k = 200;
  std::string organism = "Homo sapiens";
  PromptTemplates templates;
  std::uint64_t seed = 42;
  std::vector<std::string> genes;  // the vocabulary of the cell sentences trained on
  // perturbation_prediction: how control and perturbed cells were told apart
  // and paired, and the perturbations seen (its `labels`).
  std::string condition_column, control_value, match_column;  // match_column "": any control
  // Multi-cell tasks: the obs columns that grouped the cells (besides a
  // tissue task's label column); natural_language_interpretation: the obs
  // column that held each group's abstract ("": abstracts from a file).
  std::vector<std::string> group_by;
  std::string abstract_column;

  PromptFormatter formatter() const { return PromptFormatter(templates, seed); }
  // The prompt values of one cell's sentence for a single-cell task that
  // reads it (cell_type_prediction, label_prediction: with its label_name).
  PromptValues cell_values(std::string_view sentence) const;
  // The prompt values of a group of cells' sentences for a multi-cell task
  // ({multi_cell_sentences} of their first top_k genes, {num_cells},
  // {num_genes} = the most genes shown for a cell, {organism}), as training
  // formats them; for a single-cell task, cell_values of its one sentence.
  PromptValues group_values(std::span<const std::string> sentences) const;
  // The response placeholder that holds the answer (cell_type, tissue, label;
  // a generation task's cell_sentence or multi_cell_sentences).
  std::string answer_placeholder() const;
};

class SentenceStore;
// The store's genes can be the model's input or output: an Error naming
// `data` (the input the store came from) when it holds fewer than half of
// the genes the model was trained on (another gene set or gene naming).
// Returns, per store gene, whether the model knows it (all 1 when the
// record has no genes: a model fine-tuned from a text model).
std::vector<std::uint8_t> check_store_genes(const ModelTask& task, const SentenceStore& store, const std::string& data);

// The record's JSON for a model trained on `task` (c2s train writes it, with
// its own `trained_with` added).
nlohmann::json model_task_json(const ModelTask& task, const std::string& store);

// The folder's c2s_task.json; nullopt when the folder has none (a model not
// trained by c2s, or trained on an examples file). Errors name the file: not
// JSON, unknown task, fields of the wrong type, templates that do not fit
// the task.
std::optional<ModelTask> read_model_task(const std::filesystem::path& model_folder);

}  // namespace c2s
