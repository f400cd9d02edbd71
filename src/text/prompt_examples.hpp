// Prompt examples of a task built from a sentence store: which cells make up
// each example (one cell, a group of cells, or a perturbed cell with a
// control) and the labels that go with them (a plan), then the examples
// formatted and written as JSONL. Format: docs/formats/prompt-examples.md.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/count_thinning.hpp"
#include "data/sentence_store.hpp"
#include "text/prompt_formatter.hpp"
#include "text/prompt_tasks.hpp"

namespace c2s {

struct ExampleOptions {
  PromptTask task = PromptTask::CellTypePrediction;
  std::int64_t top_k = 200;                 // genes per cell sentence (the C2S models' 200)
  std::string organism = "Homo sapiens";
  std::string label_column;                 // "": cell_type (tissue for the tissue tasks)
  std::string label_name;                   // {label_name}; "": the label column, '_' as spaces
  std::optional<std::string> split;         // only cells of this split (train, validation, test)
  std::uint64_t seed = 42;                  // template choice, grouping, control cells, subsets
  std::int64_t max_examples = 0;            // > 0: a seeded random subset of this many examples

  // Multi-cell tasks: cells are grouped by the label column (tissue tasks)
  // and the group_by columns, and each group is cut into examples of
  // min_cells..max_cells cells (sizes drawn per example).
  std::vector<std::string> group_by;
  std::int64_t min_cells = 5, max_cells = 5;
  // natural_language_interpretation: each group's abstract comes from an obs
  // column (which then also groups the cells) or from a map group key -> text.
  std::string abstract_column;
  std::map<std::string, std::string> abstracts;

  // perturbation_prediction: cells whose condition is not the control value
  // are perturbed; each is paired with a random control cell of the same
  // match_column value ("" = any control cell).
  std::string condition_column = "condition";
  std::string control_value = "ctrl";
  std::string match_column = "cell_type";
};

// The examples of a task, held flat: example i uses the cells
// cells[cell_offsets[i] .. cell_offsets[i+1]) (single-cell tasks: one cell;
// multi-cell: the group's cells in prompt order; perturbation: the perturbed
// cell, then its control).
struct ExamplePlan {
  ExampleOptions options;  // with the defaults resolved (label column, label name)
  std::vector<std::int64_t> cell_offsets{0}, cells;
  std::vector<std::int32_t> label;  // index into labels, -1 = none (perturbation: the perturbation)
  std::vector<std::int32_t> group;  // index into groups, -1 = none (perturbation: the match value)
  std::vector<std::uint64_t> key;   // template-choice key: the cell index, or the example's index (multi-cell)
  std::vector<std::string> labels, groups;
  std::vector<std::string> group_abstracts;  // natural_language_interpretation, per group
  nlohmann::json summary = nlohmann::json::object();  // what was used and skipped

  std::size_t size() const { return key.size(); }
  std::span<const std::int64_t> cells_of(std::size_t i) const {
    return {cells.data() + cell_offsets[i], std::size_t(cell_offsets[i + 1] - cell_offsets[i])};
  }
};

// The {label_name} of a label column when none is given: its name, '_' as spaces.
std::string default_label_name(const std::string& column);

// The examples of options.task from the store. Missing columns are
// UsageErrors; a task left without any example is an Error saying why.
ExamplePlan plan_examples(const SentenceStore& store, const ExampleOptions& options);

// The values of example i, given the (top-k) sentences of its cells in
// cells_of(i) order.
PromptValues example_values(const ExamplePlan& plan, std::size_t i, std::span<const std::string> sentences);

// The top-k sentences of chosen cells of a store, read in one sequential pass
// (windows of consecutive cells): what formatting examples needs, e.g. for a
// trainer formatting a plan's examples on the fly. Holds 4 bytes per gene.
class StoreSentences {
 public:
  // Any cells, in any order, repeats allowed; the store must outlive this.
  // With `known` (one flag per store gene), genes flagged 0 (genes a model
  // was not trained on) are left out before the top-k are taken. With
  // `thinning`, each cell's counts are thinned first (data/count_thinning).
  void load(const SentenceStore& store, std::vector<std::int64_t> cells, std::int64_t top_k,
            bool show_progress = false, const std::vector<std::uint8_t>* known = nullptr,
            const CountThinning* thinning = nullptr);
  // A loaded cell's sentence (an Error for a cell not loaded).
  std::string sentence(std::int64_t cell) const;

 private:
  const std::vector<std::string>* vocabulary_ = nullptr;
  std::vector<std::int64_t> cells_;
  std::vector<std::size_t> offsets_;
  std::vector<std::uint32_t> genes_;
};

// Example i of the plan, formatted (its template keyed by plan.key[i]); the
// sentences must hold its cells. A trainer wanting other templates each epoch
// can use a formatter of another seed.
FormattedPrompt format_example(const ExamplePlan& plan, std::size_t i, const StoreSentences& sentences,
                               const PromptFormatter& formatter);

// Formats every example of the plan and writes the JSONL file atomically, in
// plan order; identical for any thread count. Returns the examples written.
std::int64_t write_prompt_examples(const SentenceStore& store, const ExamplePlan& plan,
                                   const PromptFormatter& formatter, const std::string& path);

// An --abstracts file: one JSON object mapping group keys to abstracts.
std::map<std::string, std::string> load_abstracts(const std::string& path);

}  // namespace c2s
