#include "text/model_task.hpp"

#include <algorithm>
#include <unordered_set>

#include "core/error.hpp"
#include "core/json_file.hpp"
#include "data/sentence_store.hpp"
#include "text/builtin_prompts.hpp"
#include "text/prompt_examples.hpp"

namespace c2s {

PromptValues ModelTask::cell_values(std::string_view sentence) const {
  PromptValues v = cell_prompt_values(sentence, top_k, organism);
  if (task == PromptTask::LabelPrediction) v["label_name"] = label_name;
  return v;
}

PromptValues ModelTask::group_values(std::span<const std::string> sentences) const {
  if (!task_spec(task).multi_cell) {
    if (sentences.size() != 1)
      throw Error("task " + std::string(task_name(task)), "is a single-cell task: one sentence per prompt");
    return cell_values(sentences[0]);
  }
  if (sentences.empty()) throw Error("task " + std::string(task_name(task)), "a group needs one cell or more");
  std::vector<std::string> shown;
  std::size_t genes = 0;
  for (const auto& s : sentences) {
    const std::string_view first = first_genes(s, top_k);
    genes = std::max(genes, count_genes(first));
    shown.emplace_back(first);
  }
  return {{"multi_cell_sentences", join_multi_cell_sentences(shown)},
          {"num_cells", std::to_string(sentences.size())},
          {"num_genes", std::to_string(genes)},
          {"organism", organism}};
}

std::string ModelTask::answer_placeholder() const {
  const auto& required = task_spec(task).response_required;
  if (required.empty()) throw Error("task " + std::string(task_name(task)), "its responses hold no single answer");
  return std::string(required.front());
}

std::vector<std::uint8_t> check_store_genes(const ModelTask& task, const SentenceStore& store, const std::string& data) {
  const auto& genes = store.genes();
  std::vector<std::uint8_t> known(genes.size(), 1);
  if (task.genes.empty()) return known;
  const std::unordered_set<std::string> model(task.genes.begin(), task.genes.end());
  std::size_t count = 0;
  for (std::size_t g = 0; g < genes.size(); ++g) {
    known[g] = model.count(genes[g]) ? 1 : 0;
    count += known[g];
  }
  if (count * 2 < task.genes.size())
    throw Error(data, "only " + std::to_string(count) + " of the model's " + std::to_string(task.genes.size()) +
                          " genes are in the data (another gene set or gene naming?)");
  return known;
}

nlohmann::json model_task_json(const ModelTask& t, const std::string& store) {
  nlohmann::json j = {{"task", task_name(t.task)},
          {"label_column", t.label_column},
          {"label_name", t.label_name},
          {"labels", t.labels},
          {"label_counts", t.label_counts},
          {"top_k", t.top_k},
          {"organism", t.organism},
          {"prompts", t.templates.origin},
          {"templates", t.templates.to_json()},
          {"seed", t.seed},
          {"store", store},
          {"genes", t.genes}};
  if (task_spec(t.task).multi_cell) j["group_by"] = t.group_by;
  if (t.task == PromptTask::NaturalLanguageInterpretation) j["abstract_column"] = t.abstract_column;
  if (t.task == PromptTask::PerturbationPrediction) {
    j["condition_column"] = t.condition_column;
    j["control"] = t.control_value;
    j["perturbations"] = t.labels;
    j["match_column"] = t.match_column;
  }
  return j;
}

std::optional<ModelTask> read_model_task(const std::filesystem::path& model_folder) {
  const auto path = model_folder / "c2s_task.json";
  if (!std::filesystem::exists(path)) return std::nullopt;
  const nlohmann::json j = read_json_file(path);
  if (!j.is_object() || !j.contains("task")) return std::nullopt;  // trained on an examples file
  const std::string where = path.string();
  auto field = [&](const char* key, auto fallback) {
    using T = decltype(fallback);
    if (!j.contains(key) || j[key].is_null()) return fallback;
    try {
      return j[key].get<T>();
    } catch (const nlohmann::json::exception&) {
      throw Error(where, std::string("\"") + key + "\" has the wrong type");
    }
  };
  ModelTask t;
  t.task = parse_task(field("task", std::string()));
  t.label_column = field("label_column", std::string());
  // Records written before label_name was kept: the default name.
  t.label_name = field("label_name", default_label_name(t.label_column));
  t.labels = field("labels", std::vector<std::string>());
  t.label_counts = field("label_counts", std::vector<std::int64_t>());
  if (!t.label_counts.empty() && t.label_counts.size() != t.labels.size())
    throw Error(where, "\"label_counts\" has " + std::to_string(t.label_counts.size()) + " entries for " +
                           std::to_string(t.labels.size()) + " labels");
  t.top_k = field("top_k", std::int64_t(200));
  t.organism = field("organism", std::string("Homo sapiens"));
  t.seed = field("seed", std::uint64_t(42));
  t.genes = field("genes", std::vector<std::string>());
  t.group_by = field("group_by", std::vector<std::string>());
  t.abstract_column = field("abstract_column", std::string());
  if (t.task == PromptTask::PerturbationPrediction) {
    t.condition_column = field("condition_column", std::string("condition"));
    t.control_value = field("control", std::string("ctrl"));
    t.match_column = field("match_column", std::string());
    t.labels = field("perturbations", t.labels);
  }
  const std::string origin = field("prompts", std::string());
  if (j.contains("templates")) {
    t.templates = PromptTemplates::from_json(j["templates"], where + " (templates)");
    t.templates.origin = origin.empty() ? where : origin;
  } else if (origin.empty() || origin.rfind("built-in", 0) == 0) {
    t.templates = builtin_prompts(t.task);
  } else {
    t.templates = PromptTemplates::load(origin);  // records written before the templates were kept
  }
  validate_templates(t.templates, t.task);
  return t;
}

}  // namespace c2s
