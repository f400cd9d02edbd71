// Prompt templates in the C2S JSON format ({"model_input": [...],
// "response": [...]}) with Python str.format placeholders, so the original
// cell2sentence files load and format unchanged. Format: docs/formats/prompt-templates.md.
#pragma once
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace c2s {

// The values of one example, by placeholder name (e.g. "cell_sentence").
using PromptValues = std::map<std::string, std::string, std::less<>>;

// Every placeholder a template may use, with what it stands for.
struct PlaceholderInfo {
  std::string_view name, meaning;
};
const std::vector<PlaceholderInfo>& known_placeholders();
bool is_known_placeholder(std::string_view name);

// One template string, parsed once. Literal braces are written doubled
// ("{{" and "}}"), as in Python's str.format; a placeholder is `{name}` with a
// known name. Anything else in braces is an Error naming the template.
class PromptTemplate {
 public:
  // `where` names the template in errors, e.g. "my.json: model_input[3]".
  PromptTemplate(std::string text, std::string where);

  const std::string& text() const { return text_; }  // as written
  const std::string& where() const { return where_; }
  // Distinct placeholder names, in order of first use.
  const std::vector<std::string>& placeholders() const { return placeholders_; }
  bool uses(std::string_view name) const;
  // The text with every placeholder replaced; a placeholder without a value is
  // an Error naming the template and the key.
  std::string format(const PromptValues& values) const;
  // The literal text between placeholders ("{{" already "{"), in order.
  std::vector<std::string> literal_parts() const;

 private:
  struct Piece {
    bool placeholder = false;
    std::string text;  // literal text, or the placeholder's name
  };
  std::string text_, where_;
  std::vector<Piece> pieces_;
  std::vector<std::string> placeholders_;
};

// A task's paraphrases: model inputs and responses (at least one of each).
struct PromptTemplates {
  std::string origin;  // the file, or "built-in <task>"
  std::string task;    // the optional "task" key of the file ("" if absent)
  std::vector<PromptTemplate> model_input, response;

  // Parses the C2S JSON object; `origin` prefixes every error.
  static PromptTemplates from_json(const nlohmann::json& j, const std::string& origin);
  static PromptTemplates parse(std::string_view json_text, const std::string& origin);
  static PromptTemplates load(const std::filesystem::path& file);

  // The file form (with "task" when set), to edit and pass back with --prompts.
  nlohmann::ordered_json to_json() const;
  // Distinct placeholders of all model inputs / all responses, in order of first use.
  std::vector<std::string> input_placeholders() const;
  std::vector<std::string> response_placeholders() const;
};

}  // namespace c2s
