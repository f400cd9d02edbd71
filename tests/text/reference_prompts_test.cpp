// The original cell2sentence template files (../shared/prompts/c2s-reference)
// load, pass their task's checks and format unchanged: each template, filled
// with known values, equals the result of plain text substitution computed
// here independently (the files hold no literal braces, so Python's
// str.format reduces to substitution).
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "text/prompt_formatter.hpp"
#include "text/prompt_tasks.hpp"

namespace c2s {

namespace {

struct ReferenceFile {
  const char* file;
  PromptTask task;
  std::size_t n_inputs;
};

const ReferenceFile kFiles[] = {
    {"single_cell_cell_type_prediction_prompts.json", PromptTask::CellTypePrediction, 15},
    {"single_cell_cell_type_conditional_generation_prompts.json", PromptTask::CellTypeGeneration, 10},
    {"multi_cell_tissue_prediction_prompts.json", PromptTask::TissuePrediction, 15},
    {"multi_cell_tissue_conditional_generation.json", PromptTask::TissueConditionalGeneration, 14},
};

std::string path_of(const char* file) { return std::string(C2S_SHARED_DIR) + "/prompts/c2s-reference/" + file; }

nlohmann::json raw(const char* file) {
  std::ifstream in(path_of(file));
  EXPECT_TRUE(in) << file;
  return nlohmann::json::parse(in);
}

std::string substitute(std::string text, const PromptValues& values) {
  for (const auto& [key, value] : values) {
    const std::string token = "{" + key + "}";
    for (std::size_t at = text.find(token); at != std::string::npos; at = text.find(token, at + value.size()))
      text.replace(at, token.size(), value);
  }
  return text;
}

// Values of one example of each task (the reference's num_genes is the top-k).
PromptValues values_for(PromptTask task) {
  const std::vector<std::string> cells{"CD3E CD2 IL7R", "MS4A1 CD79A CD74", "LYZ S100A8 FCN1"};
  PromptValues v{{"num_genes", "3"}, {"organism", "Homo sapiens"}};
  switch (task) {
    case PromptTask::CellTypePrediction:
    case PromptTask::CellTypeGeneration:
      v["cell_sentence"] = cells[0];
      v["cell_type"] = "CD4-positive, alpha-beta T cell";
      break;
    default:
      v["num_cells"] = "3";
      v["tissue"] = "mesenteric lymph node";
      v["multi_cell_sentences"] = join_multi_cell_sentences(cells);
      break;
  }
  return v;
}

}  // namespace

TEST(ReferencePrompts, LoadAndPassTheirTaskChecks) {
  for (const auto& f : kFiles) {
    PromptTemplates t = PromptTemplates::load(path_of(f.file));
    validate_templates(t, f.task);
    EXPECT_EQ(t.model_input.size(), f.n_inputs) << f.file;
    EXPECT_EQ(t.response.size(), 1u) << f.file;
    EXPECT_EQ(t.origin, path_of(f.file));
    EXPECT_EQ(t.model_input[2].where(), path_of(f.file) + ": model_input[2]");
  }
}

TEST(ReferencePrompts, FormatUnchanged) {
  for (const auto& f : kFiles) {
    const nlohmann::json j = raw(f.file);
    const PromptValues v = values_for(f.task);
    PromptFormatter formatter = PromptFormatter::for_task(f.task, path_of(f.file), 42);
    // Every template, through the formatter's own choice (keys chosen to hit each).
    std::set<std::size_t> covered;
    for (std::uint64_t key = 0; covered.size() < f.n_inputs && key < 10000; ++key) {
      FormattedPrompt p = formatter.format(key, v);
      const std::string input_text = j["model_input"][p.input_template].get<std::string>();
      EXPECT_EQ(p.model_input, substitute(input_text, v)) << f.file << " " << p.input_template;
      EXPECT_EQ(p.response, substitute(j["response"][0].get<std::string>(), v)) << f.file;
      EXPECT_EQ(p.model_input.find('{'), std::string::npos);
      covered.insert(p.input_template);
    }
    EXPECT_EQ(covered.size(), f.n_inputs) << f.file;
  }
}

TEST(ReferencePrompts, ResponsesAsTheReferenceWritesThem) {
  // The responses are the label or the sentence(s) followed by ".".
  auto response = [](const char* file, PromptTask task) {
    return PromptFormatter::for_task(task, path_of(file)).format_response(0, values_for(task));
  };
  EXPECT_EQ(response(kFiles[0].file, kFiles[0].task), "CD4-positive, alpha-beta T cell.");
  EXPECT_EQ(response(kFiles[1].file, kFiles[1].task), "CD3E CD2 IL7R.");
  EXPECT_EQ(response(kFiles[2].file, kFiles[2].task), "mesenteric lymph node.");
  EXPECT_EQ(response(kFiles[3].file, kFiles[3].task),
            "Cell 1:\nCD3E CD2 IL7R.\nCell 2:\nMS4A1 CD79A CD74.\nCell 3:\nLYZ S100A8 FCN1.\n.");
}

TEST(ReferencePrompts, AnnotationNeedsNoLabel) {
  // Inference formats the model input of a cell whose type is unknown.
  PromptFormatter f = PromptFormatter::for_task(kFiles[0].task, path_of(kFiles[0].file));
  PromptValues v = cell_prompt_values("CD3E CD2 IL7R CCR7", 200, "Homo sapiens");
  for (std::uint64_t key = 0; key < 50; ++key) {
    std::string input = f.format_input(key, v);
    EXPECT_NE(input.find("CD3E CD2 IL7R CCR7"), std::string::npos);
  }
}

}  // namespace c2s
