#include "text/prompt_examples.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>

#include "core/atomic_output.hpp"
#include "core/error.hpp"
#include "core/json_file.hpp"
#include "core/progress.hpp"
#include "core/random.hpp"
#include "core/thread_pool.hpp"

namespace c2s {

namespace {

// Each random choice has its own family of streams (see core/random.hpp).
constexpr std::uint64_t kGroupStreams = 0x67726f757073ull;      // "groups": shuffle and cut of group g
constexpr std::uint64_t kControlStreams = 0x636f6e74726f6cull;  // "control": control of perturbed cell i
constexpr std::uint64_t kSubsetStream = 0x737562736574ull;      // "subset": --max-examples

bool is_single_cell(PromptTask t) {
  return t == PromptTask::CellTypePrediction || t == PromptTask::CellTypeGeneration ||
         t == PromptTask::LabelPrediction;
}
bool is_tissue_task(PromptTask t) {
  return t == PromptTask::TissuePrediction || t == PromptTask::TissueConditionalGeneration;
}

std::string obs_column_names(const DataFrame& obs) {
  std::string s;
  for (const auto& c : obs.columns) s += (s.empty() ? "" : ", ") + c.name;
  return s.empty() ? "none" : s;
}

const Column& require_column(const SentenceStore& store, const std::string& name, const std::string& purpose) {
  const Column* c = store.obs().find(name);
  if (!c)
    throw UsageError(store.path(), "no obs column '" + name + "' " + purpose + " (obs columns: " +
                                       obs_column_names(store.obs()) + ")");
  return *c;
}

// Distinct values of a column among the selected cells, for error messages.
std::string some_values(const Column& c, const std::vector<std::uint8_t>& selected, std::size_t limit = 8) {
  std::set<std::string> values;
  for (std::size_t i = 0; i < selected.size() && values.size() <= limit; ++i)
    if (selected[i]) values.insert(c.text(i));
  std::string s;
  std::size_t n = 0;
  for (const auto& v : values) {
    if (n++ == limit) {
      s += ", ...";
      break;
    }
    s += (s.empty() ? "'" : ", '") + v + "'";
  }
  return s;
}

class Interner {
 public:
  explicit Interner(std::vector<std::string>& values) : values_(values) {}
  std::int32_t id(const std::string& v) {
    auto [it, fresh] = index_.try_emplace(v, std::int32_t(values_.size()));
    if (fresh) values_.push_back(v);
    return it->second;
  }

 private:
  std::vector<std::string>& values_;
  std::unordered_map<std::string, std::int32_t> index_;
};

void add_example(ExamplePlan& plan, std::span<const std::int64_t> cells, std::int32_t label, std::int32_t group,
                 std::uint64_t key) {
  plan.cells.insert(plan.cells.end(), cells.begin(), cells.end());
  plan.cell_offsets.push_back(std::int64_t(plan.cells.size()));
  plan.label.push_back(label);
  plan.group.push_back(group);
  plan.key.push_back(key);
}

void plan_single_cell(const SentenceStore& store, const std::vector<std::uint8_t>& selected, ExamplePlan& plan) {
  const auto& o = plan.options;
  const Column& labels = require_column(store, o.label_column, "for the labels (choose one with --label-column)");
  Interner intern(plan.labels);
  std::int64_t missing = 0;
  for (std::size_t i = 0; i < selected.size(); ++i) {
    if (!selected[i]) continue;
    std::string v = labels.text(i);
    if (v.empty()) {
      ++missing;
      continue;
    }
    const std::int64_t cell = std::int64_t(i);
    add_example(plan, {&cell, 1}, intern.id(v), -1, i);
  }
  plan.summary["skipped"]["missing_label"] = missing;
}

void plan_multi_cell(const SentenceStore& store, const std::vector<std::uint8_t>& selected, ExamplePlan& plan) {
  const auto& o = plan.options;
  const bool tissue = is_tissue_task(o.task);
  const bool abstracts = o.task == PromptTask::NaturalLanguageInterpretation;
  std::vector<std::string> names;
  if (tissue) names.push_back(o.label_column);
  names.insert(names.end(), o.group_by.begin(), o.group_by.end());
  if (abstracts) {
    if (o.abstract_column.empty() && o.abstracts.empty())
      throw UsageError("natural_language_interpretation needs an abstract per group: --abstract-column COL or "
                       "--abstracts FILE (with --group-by COLS)");
    if (!o.abstract_column.empty()) names.push_back(o.abstract_column);
    else if (o.group_by.empty())
      throw UsageError("--abstracts maps groups to abstracts: name the obs columns that form the groups with --group-by");
  }
  std::vector<const Column*> columns;
  for (const auto& n : names)
    columns.push_back(&require_column(store, n, tissue && n == o.label_column
                                                    ? "for the tissue (choose one with --label-column)"
                                                    : "to group cells by"));

  // Groups in key order, so the plan does not depend on the store's cell order.
  std::map<std::string, std::vector<std::int64_t>> members;
  std::int64_t missing = 0;
  for (std::size_t i = 0; i < selected.size(); ++i) {
    if (!selected[i]) continue;
    std::string key;
    bool complete = true;
    for (std::size_t c = 0; c < columns.size(); ++c) {
      std::string v = columns[c]->text(i);
      if (v.empty()) complete = false;
      if (c) key += " | ";
      key += v;
    }
    if (!complete) {
      ++missing;
      continue;
    }
    members[key].push_back(std::int64_t(i));
  }

  Interner intern(plan.labels);
  std::int64_t groups_without_abstract = 0, cells_without_abstract = 0;
  std::uint64_t ordinal = 0, example = 0;
  for (auto& [key, cells] : members) {
    Rng rng(o.seed ^ kGroupStreams, ordinal++);
    std::string abstract;
    if (abstracts) {
      if (!o.abstract_column.empty()) {
        abstract = columns.back()->text(std::size_t(cells[0]));
      } else {
        auto it = o.abstracts.find(key);
        if (it == o.abstracts.end()) {
          ++groups_without_abstract;
          cells_without_abstract += std::int64_t(cells.size());
          continue;
        }
        abstract = it->second;
      }
    }
    const auto group = std::int32_t(plan.groups.size());
    plan.groups.push_back(key);
    plan.group_abstracts.push_back(abstract);
    const std::int32_t label = tissue ? intern.id(columns[0]->text(std::size_t(cells[0]))) : -1;
    shuffle(cells, rng);
    // Examples of a drawn size; the one that would leave fewer than min_cells
    // behind takes the rest when that fits within max_cells.
    std::int64_t pos = 0, left = std::int64_t(cells.size());
    while (left > 0) {
      std::int64_t size = o.min_cells + std::int64_t(rng.below(std::uint64_t(o.max_cells - o.min_cells + 1)));
      if (left - size < o.min_cells && left <= o.max_cells) size = left;
      size = std::min(size, left);
      add_example(plan, {cells.data() + pos, std::size_t(size)}, label, group, example++);
      pos += size;
      left -= size;
    }
  }
  plan.summary["groups"] = plan.groups.size();
  plan.summary["skipped"]["missing_group_value"] = missing;
  if (abstracts && o.abstract_column.empty()) {
    plan.summary["skipped"]["groups_without_abstract"] = groups_without_abstract;
    plan.summary["skipped"]["cells_without_abstract"] = cells_without_abstract;
    if (plan.groups.empty() && !members.empty())
      throw Error(store.path(), fmt::format("none of the {} groups has an abstract in the --abstracts file (group "
                                            "keys look like '{}')",
                                            members.size(), members.begin()->first));
  }
}

void plan_perturbation(const SentenceStore& store, const std::vector<std::uint8_t>& selected, ExamplePlan& plan) {
  const auto& o = plan.options;
  const Column& condition =
      require_column(store, o.condition_column, "with the perturbation of each cell (choose one with --condition-column)");
  const Column* match = o.match_column.empty()
                            ? nullptr
                            : &require_column(store, o.match_column,
                                              "to match control cells by (choose one with --match-column, or none)");
  std::map<std::string, std::vector<std::int64_t>> controls;
  std::vector<std::int64_t> perturbed;
  std::int64_t missing_condition = 0, missing_match = 0, without_control = 0;
  for (std::size_t i = 0; i < selected.size(); ++i) {
    if (!selected[i]) continue;
    std::string c = condition.text(i);
    if (c.empty()) {
      ++missing_condition;
      continue;
    }
    std::string m = match ? match->text(i) : "";
    if (match && m.empty()) {
      ++missing_match;
      continue;
    }
    if (c == o.control_value) controls[m].push_back(std::int64_t(i));
    else perturbed.push_back(std::int64_t(i));
  }
  const std::string where = o.split ? " of split '" + *o.split + "'" : "";
  if (controls.empty())
    throw Error(store.path(), "no control cells: no cell" + where + " has " + o.condition_column + " '" +
                                  o.control_value + "' (values: " + some_values(condition, selected) +
                                  "; name the control value with --control)");
  if (perturbed.empty())
    throw Error(store.path(), "no perturbed cells: every cell" + where + " has " + o.condition_column + " '" +
                                  o.control_value + "'");
  Interner labels(plan.labels), groups(plan.groups);
  for (std::int64_t p : perturbed) {
    std::string m = match ? match->text(std::size_t(p)) : "";
    auto it = controls.find(m);
    if (it == controls.end()) {
      ++without_control;
      continue;
    }
    Rng rng(o.seed ^ kControlStreams, std::uint64_t(p));
    const std::int64_t pair[2] = {p, it->second[rng.below(it->second.size())]};
    add_example(plan, pair, labels.id(condition.text(std::size_t(p))), match ? groups.id(m) : -1, std::uint64_t(p));
  }
  plan.summary["control_cells"] = [&] {
    std::int64_t n = 0;
    for (const auto& [m, cells] : controls) n += std::int64_t(cells.size());
    return n;
  }();
  plan.summary["skipped"]["missing_condition"] = missing_condition;
  if (match) {
    plan.summary["skipped"]["missing_match_value"] = missing_match;
    plan.summary["skipped"]["no_matching_control"] = without_control;
    if (plan.size() == 0)
      throw Error(store.path(), "no perturbed cell has a control cell of the same " + o.match_column +
                                    " (match by another column with --match-column, or by none)");
  }
}

void keep_random_subset(ExamplePlan& plan, std::size_t n) {
  std::vector<std::size_t> order(plan.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  Rng rng(plan.options.seed ^ kSubsetStream, 0);
  for (std::size_t i = 0; i < n; ++i) std::swap(order[i], order[i + rng.below(order.size() - i)]);
  order.resize(n);
  std::sort(order.begin(), order.end());
  ExamplePlan kept;
  for (std::size_t i : order) add_example(kept, plan.cells_of(i), plan.label[i], plan.group[i], plan.key[i]);
  plan.cell_offsets = std::move(kept.cell_offsets);
  plan.cells = std::move(kept.cells);
  plan.label = std::move(kept.label);
  plan.group = std::move(kept.group);
  plan.key = std::move(kept.key);
}

std::vector<std::int64_t> sorted_unique(std::vector<std::int64_t> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

}  // namespace

std::string default_label_name(const std::string& column) {
  std::string s = column;
  std::replace(s.begin(), s.end(), '_', ' ');
  return s;
}

void StoreSentences::load(const SentenceStore& store, std::vector<std::int64_t> cells, std::int64_t top_k,
                          bool show_progress, const std::vector<std::uint8_t>* known,
                          const CountThinning* thinning) {
  if (known && known->size() != store.genes().size())
    throw Error(store.path(), "gene flags for " + std::to_string(known->size()) + " genes, the store has " +
                                  std::to_string(store.genes().size()));
  constexpr std::int64_t kWindow = 4096;
  vocabulary_ = &store.genes();
  cells_ = sorted_unique(std::move(cells));
  offsets_.assign(1, 0);
  genes_.clear();
  std::optional<Progress> progress;
  if (show_progress) progress.emplace("read cells", cells_.size(), "cells");
  CellBlock block;
  for (std::size_t i = 0; i < cells_.size();) {
    const std::int64_t start = cells_[i];
    std::size_t j = i;
    while (j + 1 < cells_.size() && cells_[j + 1] < start + kWindow) ++j;
    store.read(start, cells_[j] + 1, block);
    for (std::size_t k = i; k <= j; ++k) {
      const auto local = std::size_t(cells_[k] - start);
      const auto a = std::size_t(block.offsets[local]), b = std::size_t(block.offsets[local + 1]);
      std::span<const std::uint32_t> ranked(block.genes.data() + a, b - a);
      std::vector<std::uint32_t> thinned;
      if (thinning) {
        try {
          thinned = thin_cell(ranked, block.values_of(local), *thinning, std::uint64_t(cells_[k]));
        } catch (const Error& e) {
          throw Error(fmt::format("{}: cell {}", store.path(), cells_[k]), e.what());
        }
        ranked = thinned;
      }
      std::int64_t taken = 0;
      for (std::uint32_t g : ranked) {
        if (top_k > 0 && taken == top_k) break;
        if (known && !(*known)[g]) continue;
        genes_.push_back(g);
        ++taken;
      }
      offsets_.push_back(genes_.size());
    }
    if (progress) progress->advance(j + 1 - i);
    i = j + 1;
  }
  if (progress) progress->finish();
}

std::string StoreSentences::sentence(std::int64_t cell) const {
  auto it = std::lower_bound(cells_.begin(), cells_.end(), cell);
  if (it == cells_.end() || *it != cell) throw Error("cell " + std::to_string(cell) + " was not loaded");
  auto at = std::size_t(it - cells_.begin());
  return sentence_text({genes_.data() + offsets_[at], offsets_[at + 1] - offsets_[at]}, *vocabulary_);
}

FormattedPrompt format_example(const ExamplePlan& plan, std::size_t i, const StoreSentences& sentences,
                               const PromptFormatter& formatter) {
  const auto cells = plan.cells_of(i);
  std::vector<std::string> texts;
  texts.reserve(cells.size());
  for (auto c : cells) texts.push_back(sentences.sentence(c));
  return formatter.format(plan.key[i], example_values(plan, i, texts));
}

ExamplePlan plan_examples(const SentenceStore& store, const ExampleOptions& options) {
  ExamplePlan plan;
  plan.options = options;
  auto& o = plan.options;
  if (o.label_column.empty()) o.label_column = is_tissue_task(o.task) ? "tissue" : "cell_type";
  if (o.label_name.empty()) o.label_name = default_label_name(o.label_column);
  if (o.min_cells < 1 || o.max_cells < o.min_cells)
    throw UsageError(fmt::format("cells per example: {}-{} is not a range of at least 1 cell", o.min_cells, o.max_cells));

  std::vector<std::uint8_t> selected(std::size_t(store.n_cells()), 1);
  if (o.split) {
    const Column* split = store.obs().find("split");
    if (!split) throw UsageError(store.path(), "the store has no split yet (run `c2s split` first)");
    for (std::size_t i = 0; i < selected.size(); ++i) selected[i] = split->text(i) == *o.split;
  }
  const auto considered = std::int64_t(std::count(selected.begin(), selected.end(), 1));
  if (considered == 0)
    throw Error(store.path(), o.split ? "no cells in split '" + *o.split + "'" : std::string("the store has no cells"));

  plan.summary["task"] = std::string(task_name(o.task));
  plan.summary["cells_considered"] = considered;
  plan.summary["skipped"] = nlohmann::json::object();
  if (is_single_cell(o.task)) plan_single_cell(store, selected, plan);
  else if (o.task == PromptTask::PerturbationPrediction) plan_perturbation(store, selected, plan);
  else plan_multi_cell(store, selected, plan);

  if (plan.size() == 0)
    throw Error(store.path(), "no examples for task " + std::string(task_name(o.task)) + " (" +
                                  std::to_string(considered) + " cells considered; skipped: " +
                                  plan.summary["skipped"].dump() + ")");
  plan.summary["examples_available"] = plan.size();
  if (o.max_examples > 0 && plan.size() > std::size_t(o.max_examples))
    keep_random_subset(plan, std::size_t(o.max_examples));
  plan.summary["examples"] = plan.size();
  return plan;
}

PromptValues example_values(const ExamplePlan& plan, std::size_t i, std::span<const std::string> sentences) {
  const auto& o = plan.options;
  PromptValues v;
  v["organism"] = o.organism;
  const std::string label = plan.label[i] >= 0 ? plan.labels[std::size_t(plan.label[i])] : "";
  std::size_t genes = 0;
  for (const auto& s : sentences) genes = std::max(genes, count_genes(s));
  v["num_genes"] = std::to_string(genes);
  switch (o.task) {
    case PromptTask::CellTypePrediction:
    case PromptTask::CellTypeGeneration:
      v["cell_sentence"] = sentences[0];
      v["cell_type"] = label;
      break;
    case PromptTask::LabelPrediction:
      v["cell_sentence"] = sentences[0];
      v["label"] = label;
      v["label_name"] = o.label_name;
      break;
    case PromptTask::TissuePrediction:
    case PromptTask::TissueConditionalGeneration:
    case PromptTask::NaturalLanguageInterpretation:
      v["multi_cell_sentences"] = join_multi_cell_sentences(sentences);
      v["num_cells"] = std::to_string(sentences.size());
      if (o.task == PromptTask::NaturalLanguageInterpretation)
        v["abstract"] = plan.group_abstracts[std::size_t(plan.group[i])];
      else
        v["tissue"] = label;
      break;
    case PromptTask::PerturbationPrediction:
      v["perturbed_cell_sentence"] = sentences[0];
      v["control_cell_sentence"] = sentences[1];
      v["perturbation_name"] = label;
      if (plan.group[i] >= 0) v["cell_type"] = plan.groups[std::size_t(plan.group[i])];
      break;
  }
  return v;
}

std::int64_t write_prompt_examples(const SentenceStore& store, const ExamplePlan& plan,
                                   const PromptFormatter& formatter, const std::string& path) {
  const auto& o = plan.options;
  const std::string task(task_name(o.task));
  const auto& names = store.cell_names();
  const bool single = is_single_cell(o.task);
  // Single-cell examples are read chunk by chunk in store order; the cells of
  // multi-cell and perturbation examples are scattered, so their top-k genes
  // are read once, in one pass, before formatting.
  StoreSentences sentences;
  if (!single) sentences.load(store, plan.cells, o.top_k, true);

  AtomicTextFile out(path);
  {
    Progress progress("prompts", plan.size(), "examples");
    constexpr std::size_t kChunk = 4096;
    std::vector<std::string> lines;
    for (std::size_t begin = 0; begin < plan.size(); begin += kChunk) {
      const std::size_t end = std::min(plan.size(), begin + kChunk);
      if (single)
        sentences.load(store,
                       std::vector<std::int64_t>(plan.cells.begin() + plan.cell_offsets[begin],
                                                 plan.cells.begin() + plan.cell_offsets[end]),
                       o.top_k, false);
      lines.assign(end - begin, {});
      ThreadPool::global().parallel_for(end - begin, [&](std::size_t k) {
        const std::size_t i = begin + k;
        const auto cells = plan.cells_of(i);
        FormattedPrompt p = format_example(plan, i, sentences, formatter);
        nlohmann::ordered_json j;
        j["model_input"] = std::move(p.model_input);
        j["response"] = std::move(p.response);
        j["task"] = task;
        j["template"] = p.input_template;
        const std::string label = plan.label[i] >= 0 ? plan.labels[std::size_t(plan.label[i])] : "";
        if (single) {
          j["cell_index"] = cells[0];
          j["cell_name"] = names[std::size_t(cells[0])];
          j["label"] = label;
        } else if (o.task == PromptTask::PerturbationPrediction) {
          j["cell_index"] = cells[0];
          j["cell_name"] = names[std::size_t(cells[0])];
          j["control_index"] = cells[1];
          j["control_name"] = names[std::size_t(cells[1])];
          j["perturbation"] = label;
          if (plan.group[i] >= 0) j["match"] = plan.groups[std::size_t(plan.group[i])];
        } else {
          j["group"] = plan.groups[std::size_t(plan.group[i])];
          if (plan.label[i] >= 0) j["label"] = label;
          j["cell_indices"] = std::vector<std::int64_t>(cells.begin(), cells.end());
          auto& cell_names = j["cell_names"] = nlohmann::ordered_json::array();
          for (auto c : cells) cell_names.push_back(names[std::size_t(c)]);
        }
        lines[k] = j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
        lines[k] += '\n';
      });
      for (const auto& line : lines) out.write(line);
      progress.advance(end - begin);
    }
    progress.finish();
  }
  out.commit();
  return std::int64_t(plan.size());
}

std::map<std::string, std::string> load_abstracts(const std::string& path) {
  const nlohmann::json j = read_json_file(path);
  if (!j.is_object()) throw Error(path, "expected a JSON object mapping group keys to abstracts");
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : j.items()) {
    if (!value.is_string()) throw Error(path, "abstract of group '" + key + "' is not a string");
    out[key] = value.get<std::string>();
  }
  if (out.empty()) throw Error(path, "no abstracts");
  return out;
}

}  // namespace c2s
