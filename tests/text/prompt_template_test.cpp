// Prompt templates and the formatter: every placeholder, literal braces,
// errors that name the template and the key, checks against each task,
// seeded template choice independent of thread count, the built-in sets.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "core/thread_pool.hpp"
#include "test_support.hpp"
#include "text/builtin_prompts.hpp"
#include "text/prompt_formatter.hpp"
#include "text/prompt_tasks.hpp"
#include "text/prompt_template.hpp"

namespace c2s {
using testing_support::expect_error;
using testing_support::ScratchDir;

namespace {
PromptTemplates one(const std::string& input, const std::string& response = "{cell_type}.") {
  nlohmann::json j = {{"model_input", {input}}, {"response", {response}}};
  return PromptTemplates::from_json(j, "t.json");
}
// Restores the default pool size whatever a test set.
struct ThreadsGuard {
  ~ThreadsGuard() { ThreadPool::set_default_threads(0); }
};
}  // namespace

TEST(PromptTemplate, EveryPlaceholderIsFilled) {
  PromptValues values;
  std::string text, expected;
  for (const auto& p : known_placeholders()) {
    std::string name(p.name), value = "<" + name + " value>";
    values[name] = value;
    text += name + "={" + name + "};";
    expected += name + "=" + value + ";";
  }
  PromptTemplate t(text, "all");
  EXPECT_EQ(t.placeholders().size(), known_placeholders().size());
  EXPECT_EQ(t.format(values), expected);
  // Repeated placeholders are listed once and filled everywhere.
  PromptTemplate twice("{label} or {label}?", "twice");
  EXPECT_EQ(twice.placeholders(), std::vector<std::string>{"label"});
  EXPECT_EQ(twice.format({{"label", "x"}}), "x or x?");
}

TEST(PromptTemplate, LiteralBracesAreDoubled) {
  PromptTemplate t("{{\"gene\": {{x}}}} -> {cell_type} }}{{", "braces");
  EXPECT_EQ(t.placeholders(), std::vector<std::string>{"cell_type"});
  EXPECT_EQ(t.format({{"cell_type", "B cell"}}), "{\"gene\": {x}} -> B cell }{");
  EXPECT_EQ(PromptTemplate("no placeholders", "plain").format({}), "no placeholders");
  // As Python: "{{{x}}}".format(x=1) == "{1}".
  EXPECT_EQ(PromptTemplate("{{{tissue}}}", "nested").format({{"tissue", "lung"}}), "{lung}");
}

TEST(PromptTemplate, BadTemplatesNameTheTemplateAndKey) {
  expect_error([] { PromptTemplate("a {cel_type} b", "f.json: model_input[3]"); },
               "f.json: model_input[3]: unknown placeholder {cel_type}");
  expect_error([] { PromptTemplate("a {cell_type b", "w"); }, "w: '{' without a closing '}'");
  expect_error([] { PromptTemplate("a } b", "w"); }, "w: single '}'");
  expect_error([] { PromptTemplate("{0}", "w"); }, "unsupported placeholder '{0}'");
  expect_error([] { PromptTemplate("{}", "w"); }, "unsupported placeholder '{}'");
  expect_error([] { PromptTemplate("{num_genes:>5}", "w"); }, "unsupported placeholder '{num_genes:>5}'");
  PromptTemplate t("{organism} {tissue}", "f.json: model_input[1]");
  expect_error([&] { t.format({{"organism", "Homo sapiens"}}); }, "f.json: model_input[1]: no value for {tissue}");
}

TEST(PromptTemplates, FileFormatErrors) {
  ScratchDir dir;
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir.file(name)) << text;
    return dir.file(name);
  };
  expect_error([&] { PromptTemplates::load(dir.file("missing.json")); }, "missing.json: no such file");
  expect_error([&] { PromptTemplates::load(write("bad.json", "{\"model_input\": [")); }, "bad.json: malformed JSON");
  expect_error([&] { PromptTemplates::load(write("list.json", "[\"a\"]")); }, "not a C2S prompt file");
  expect_error([&] { PromptTemplates::load(write("nor.json", R"({"model_input": ["{cell_sentence}"]})")); },
               "nor.json: no \"response\" list");
  expect_error([&] { PromptTemplates::load(write("empty.json", R"({"model_input": [], "response": ["x"]})")); },
               "\"model_input\" must be a non-empty list");
  expect_error(
      [&] { PromptTemplates::load(write("num.json", R"({"model_input": ["a", 3], "response": ["x"]})")); },
      "num.json: model_input[1]: not a string");
  expect_error(
      [&] { PromptTemplates::load(write("key.json", R"({"model_input": ["a"], "responses": ["x"]})")); },
      "unknown key \"responses\"");
  expect_error([&] {
    PromptTemplates::load(write("ph.json", R"({"model_input": ["{cell_sentence}", "{celltype}"], "response": ["x"]})"));
  }, "ph.json: model_input[1]: unknown placeholder {celltype}");
}

TEST(PromptTemplates, JsonRoundTripKeepsTheText) {
  nlohmann::json j = {{"task", "cell_type_prediction"},
                      {"model_input", {"A {{literal}} {cell_sentence}.", "B {cell_sentence}"}},
                      {"response", {"{cell_type}."}}};
  PromptTemplates t = PromptTemplates::from_json(j, "x");
  EXPECT_EQ(t.task, "cell_type_prediction");
  EXPECT_EQ(nlohmann::json::parse(t.to_json().dump()), j);
  EXPECT_EQ(t.input_placeholders(), std::vector<std::string>{"cell_sentence"});
  EXPECT_EQ(t.response_placeholders(), std::vector<std::string>{"cell_type"});
}

TEST(PromptTasks, TemplatesAreCheckedAgainstTheirTask) {
  auto ct = PromptTask::CellTypePrediction;
  validate_templates(one("{num_genes} genes of a {organism} cell: {cell_sentence}.\nCell type:"), ct);
  expect_error([&] { validate_templates(one("{cell_sentence}", "Done."), ct); },
               "t.json: response[0]: a response of task cell_type_prediction must contain {cell_type}");
  expect_error([&] { validate_templates(one("{organism} cell"), ct); },
               "t.json: model_input[0]: a model input of task cell_type_prediction must contain {cell_sentence}");
  expect_error([&] { validate_templates(one("{cell_sentence} is a {cell_type}"), ct); },
               "{cell_type} is the answer of task cell_type_prediction");
  expect_error([&] { validate_templates(one("{cell_sentence} from {tissue}"), ct); },
               "{tissue} is not available to a model input of task cell_type_prediction");
  expect_error([&] { validate_templates(one("{cell_sentence}", "{cell_type} in {tissue}."), ct); },
               "{tissue} is not available to a response");
  PromptTemplates other = one("{cell_sentence}");
  other.task = "tissue_prediction";
  try {
    validate_templates(other, ct);
    ADD_FAILURE() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("for task tissue_prediction, not cell_type_prediction"), std::string::npos);
  }
  EXPECT_EQ(parse_task("natural_language_interpretation"), PromptTask::NaturalLanguageInterpretation);
  try {
    parse_task("cell_typing");
    ADD_FAILURE() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown task 'cell_typing' (tasks: cell_type_prediction"),
              std::string::npos);
  }
}

TEST(BuiltinPrompts, EveryTaskHasItsOwnValidParaphrases) {
  std::set<std::string> all;
  for (const auto& spec : task_specs()) {
    PromptTemplates t = builtin_prompts(spec.task);  // validates
    EXPECT_EQ(t.task, spec.name);
    EXPECT_EQ(t.origin, "built-in " + std::string(spec.name));
    EXPECT_GE(t.model_input.size(), 6u) << spec.name;
    EXPECT_EQ(t.response.size(), 1u) << spec.name;
    for (const auto& m : t.model_input) {
      EXPECT_TRUE(all.insert(m.text()).second) << "duplicate: " << m.text();
      EXPECT_NE(m.text().back(), ' ') << m.where();
      // The organism and the gene count are stated in every built-in prompt.
      EXPECT_TRUE(m.uses("organism")) << m.where();
      EXPECT_TRUE(m.uses("num_genes")) << m.where();
      if (spec.multi_cell) {
        EXPECT_TRUE(m.uses("num_cells")) << m.where();
      }
    }
    // Written out and read back, the set is the same.
    PromptTemplates back = PromptTemplates::parse(t.to_json().dump(2), "back");
    ASSERT_EQ(back.model_input.size(), t.model_input.size());
    for (std::size_t i = 0; i < t.model_input.size(); ++i)
      EXPECT_EQ(back.model_input[i].text(), t.model_input[i].text());
  }
}

TEST(BuiltinPrompts, NoReferenceSentenceIsCopied) {
  std::set<std::string> ours;
  for (const auto& spec : task_specs())
    for (const auto& m : builtin_prompts(spec.task).model_input) ours.insert(m.text());
  for (const char* file : {"single_cell_cell_type_prediction_prompts.json",
                           "single_cell_cell_type_conditional_generation_prompts.json",
                           "multi_cell_tissue_prediction_prompts.json", "multi_cell_tissue_conditional_generation.json"}) {
    std::ifstream in(std::string(C2S_SHARED_DIR) + "/prompts/c2s-reference/" + file);
    ASSERT_TRUE(in) << file;
    nlohmann::json j = nlohmann::json::parse(in);
    for (const auto& s : j["model_input"]) {
      std::string text = s.get<std::string>();
      EXPECT_EQ(ours.count(text), 0u) << text;
      // Not even the opening clause.
      std::string opening = text.substr(0, text.find_first_of(".:"));
      for (const auto& o : ours) EXPECT_EQ(o.find(opening), std::string::npos) << opening;
    }
  }
}

TEST(PromptFormatter, MultiCellSentencesJoinAsTheReference) {
  std::vector<std::string> cells{"CD3E CD2", "MS4A1", "LYZ S100A8 S100A9"};
  EXPECT_EQ(join_multi_cell_sentences(cells), "Cell 1:\nCD3E CD2.\nCell 2:\nMS4A1.\nCell 3:\nLYZ S100A8 S100A9.\n");
  EXPECT_EQ(join_multi_cell_sentences(std::span<const std::string>{}), "");
  EXPECT_EQ(multi_cell_header(12), "Cell 12:\n");
}

TEST(PromptFormatter, MultiCellSentencesSplitAsAModelWroteThem) {
  using Cells = std::vector<std::string>;
  const Cells cells{"CD3E CD2", "MS4A1", "LYZ S100A8 S100A9"};
  EXPECT_EQ(split_multi_cell_sentences(join_multi_cell_sentences(cells)), cells);
  // Loose text: no closing period, blank lines, spaces, a sentence over two
  // lines, an empty cell, text before the first header, "Cell" in a sentence.
  EXPECT_EQ(split_multi_cell_sentences("CD3E\nCell 1:\n  CD3E CD2 \n\nCell 2:\nCell 3:\nLYZ.\nS100A8.\nCell X: B2M"),
            (Cells{"CD3E", "CD3E CD2", "", "LYZ S100A8 Cell X: B2M"}));
  EXPECT_TRUE(split_multi_cell_sentences("").empty());
  EXPECT_EQ(split_multi_cell_sentences("Cell 1:"), Cells{""});
}

TEST(PromptFormatter, TopGenesAndCellValues) {
  EXPECT_EQ(first_genes("A B C D", 2), "A B");
  EXPECT_EQ(first_genes("A B C D", 4), "A B C D");
  EXPECT_EQ(first_genes("A B C D", 10), "A B C D");
  EXPECT_EQ(first_genes("A B C D", 0), "A B C D");
  EXPECT_EQ(first_genes("A", 1), "A");
  EXPECT_EQ(count_genes("A B C"), 3u);
  EXPECT_EQ(count_genes(""), 0u);
  PromptValues v = cell_prompt_values("CD3E CD2 IL7R CCR7", 3, "Mus musculus");
  EXPECT_EQ(v.at("cell_sentence"), "CD3E CD2 IL7R");
  EXPECT_EQ(v.at("num_genes"), "3");
  EXPECT_EQ(v.at("organism"), "Mus musculus");
  // A cell with fewer genes than k says how many it has.
  EXPECT_EQ(cell_prompt_values("CD3E CD2", 200, "Homo sapiens").at("num_genes"), "2");
}

TEST(PromptFormatter, FormatsAnExampleAndItsInputAlone) {
  PromptFormatter f = PromptFormatter::for_task(PromptTask::CellTypePrediction);
  PromptValues v = cell_prompt_values("CD3E CD2 IL7R", 200, "Homo sapiens");
  // Annotation: no label needed for the model input alone.
  std::string input = f.format_input(5, v);
  EXPECT_NE(input.find("CD3E CD2 IL7R."), std::string::npos);
  EXPECT_NE(input.find("Homo sapiens"), std::string::npos);
  expect_error([&] { f.format(5, v); }, "built-in cell_type_prediction: response[0]: no value for {cell_type}");
  v["cell_type"] = "T cell";
  FormattedPrompt p = f.format(5, v);
  EXPECT_EQ(p.model_input, input);
  EXPECT_EQ(p.response, "T cell.");
  EXPECT_EQ(p.input_template, f.input_choice(5));
  EXPECT_EQ(f.format_response(5, v), "T cell.");
  EXPECT_EQ(f.input_placeholders(), (std::vector<std::string>{"num_genes", "organism", "cell_sentence"}));
  EXPECT_EQ(f.response_placeholders(), std::vector<std::string>{"cell_type"});
}

TEST(PromptFormatter, SeededChoiceIsReproducibleAndUsesEveryTemplate) {
  PromptFormatter a = PromptFormatter::for_task(PromptTask::CellTypePrediction, {}, 42);
  PromptFormatter b = PromptFormatter::for_task(PromptTask::CellTypePrediction, {}, 42);
  PromptFormatter c = PromptFormatter::for_task(PromptTask::CellTypePrediction, {}, 43);
  const std::size_t n = a.templates().model_input.size();
  std::vector<std::size_t> counts(n, 0);
  std::size_t differ = 0;
  for (std::uint64_t key = 0; key < 5000; ++key) {
    EXPECT_EQ(a.input_choice(key), b.input_choice(key));
    differ += a.input_choice(key) != c.input_choice(key);
    ++counts[a.input_choice(key)];
  }
  EXPECT_GT(differ, 3000u);  // another seed, another choice (9 in 10 by chance)
  for (std::size_t i = 0; i < n; ++i) EXPECT_NEAR(double(counts[i]), 5000.0 / double(n), 120) << i;

  // Several response templates: drawn too, from the same keyed stream.
  nlohmann::json j = {{"model_input", {"{cell_sentence}"}}, {"response", {"{cell_type}.", "It is {cell_type}."}}};
  PromptFormatter r(PromptTemplates::from_json(j, "r"), 1);
  std::set<std::size_t> seen;
  for (std::uint64_t key = 0; key < 100; ++key) seen.insert(r.response_choice(key));
  EXPECT_EQ(seen.size(), 2u);
}

TEST(PromptFormatter, ChoiceDoesNotDependOnThreadCount) {
  ThreadsGuard guard;
  PromptFormatter f = PromptFormatter::for_task(PromptTask::TissuePrediction, {}, 9);
  auto run = [&](std::size_t threads) {
    ThreadPool::set_default_threads(threads);
    std::vector<std::string> out(2000);
    ThreadPool::global().parallel_for(out.size(), [&](std::size_t i) {
      std::vector<std::string> cells{"A B", "C D " + std::to_string(i)};
      PromptValues v{{"multi_cell_sentences", join_multi_cell_sentences(cells)},
                     {"num_cells", "2"},
                     {"num_genes", "2"},
                     {"organism", "Homo sapiens"},
                     {"tissue", "lung"}};
      FormattedPrompt p = f.format(i, v);
      out[i] = p.model_input + "|" + p.response;
    });
    return out;
  };
  EXPECT_EQ(run(1), run(4));
}

}  // namespace c2s
