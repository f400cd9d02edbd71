#include "text/prompt_template.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "core/json_file.hpp"

namespace c2s {

const std::vector<PlaceholderInfo>& known_placeholders() {
  static const std::vector<PlaceholderInfo> list{
      {"num_genes", "genes per cell sentence shown (the top-k, or fewer for a shorter cell)"},
      {"organism", "the organism, e.g. Homo sapiens"},
      {"cell_type", "the cell type label"},
      {"tissue", "the tissue label"},
      {"num_cells", "cells in a multi-cell example"},
      {"multi_cell_sentences", "the cells of a multi-cell example: Cell 1:\\n<sentence>.\\nCell 2:\\n..."},
      {"cell_sentence", "one cell's sentence: its top genes, most expressed first"},
      {"perturbation_name", "the perturbation applied (e.g. a drug, cytokine or knocked-out gene)"},
      {"control_cell_sentence", "the sentence of an unperturbed (control) cell"},
      {"perturbed_cell_sentence", "the sentence of the perturbed cell"},
      {"abstract", "a natural-language summary of a group of cells"},
      {"label_name", "what the label is, e.g. disease or donor"},
      {"label", "the label's value for this cell"},
  };
  return list;
}

bool is_known_placeholder(std::string_view name) {
  const auto& list = known_placeholders();
  return std::any_of(list.begin(), list.end(), [&](const PlaceholderInfo& p) { return p.name == name; });
}

namespace {

std::string known_names() {
  std::string s;
  for (const auto& p : known_placeholders()) s += (s.empty() ? "" : ", ") + std::string(p.name);
  return s;
}

bool is_identifier(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// Newlines in error excerpts would break the CLI's one-line error.
std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

}  // namespace

PromptTemplate::PromptTemplate(std::string text, std::string where) : text_(std::move(text)), where_(std::move(where)) {
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) pieces_.push_back({false, std::move(literal)});
    literal.clear();
  };
  for (std::size_t i = 0; i < text_.size(); ++i) {
    char c = text_[i];
    if (c == '{') {
      if (i + 1 < text_.size() && text_[i + 1] == '{') {
        literal += '{';
        ++i;
        continue;
      }
      std::size_t close = text_.find('}', i + 1);
      if (close == std::string::npos)
        throw Error(where_, "'{' without a closing '}' (write '{{' for a literal brace)");
      std::string name = text_.substr(i + 1, close - i - 1);
      if (!is_identifier(name))
        throw Error(where_, "unsupported placeholder '{" + one_line(name) +
                                "}': only {name} is supported (write '{{' and '}}' for literal braces)");
      if (!is_known_placeholder(name))
        throw Error(where_, "unknown placeholder {" + name + "} (known: " + known_names() + ")");
      flush();
      pieces_.push_back({true, name});
      if (std::find(placeholders_.begin(), placeholders_.end(), name) == placeholders_.end())
        placeholders_.push_back(name);
      i = close;
    } else if (c == '}') {
      if (i + 1 < text_.size() && text_[i + 1] == '}') {
        literal += '}';
        ++i;
        continue;
      }
      throw Error(where_, "single '}' (write '}}' for a literal brace)");
    } else {
      literal += c;
    }
  }
  flush();
}

bool PromptTemplate::uses(std::string_view name) const {
  return std::find(placeholders_.begin(), placeholders_.end(), name) != placeholders_.end();
}

std::vector<std::string> PromptTemplate::literal_parts() const {
  std::vector<std::string> out;
  for (const auto& p : pieces_)
    if (!p.placeholder) out.push_back(p.text);
  return out;
}

std::string PromptTemplate::format(const PromptValues& values) const {
  std::size_t size = 0;
  for (const auto& p : pieces_) {
    if (!p.placeholder) {
      size += p.text.size();
      continue;
    }
    auto it = values.find(p.text);
    if (it == values.end()) throw Error(where_, "no value for {" + p.text + "}");
    size += it->second.size();
  }
  std::string out;
  out.reserve(size);
  for (const auto& p : pieces_) out += p.placeholder ? values.find(p.text)->second : p.text;
  return out;
}

PromptTemplates PromptTemplates::from_json(const nlohmann::json& j, const std::string& origin) {
  if (!j.is_object())
    throw Error(origin, "not a C2S prompt file: expected a JSON object with \"model_input\" and \"response\" lists");
  PromptTemplates t;
  t.origin = origin;
  for (const auto& [key, value] : j.items()) {
    if (key == "task") {
      if (!value.is_string()) throw Error(origin, "\"task\" must be a string");
      t.task = value.get<std::string>();
    } else if (key != "model_input" && key != "response") {
      throw Error(origin, "unknown key \"" + key + "\" (expected \"model_input\", \"response\" and optionally \"task\")");
    }
  }
  auto read_list = [&](const char* key, std::vector<PromptTemplate>& out) {
    auto it = j.find(key);
    if (it == j.end()) throw Error(origin, std::string("no \"") + key + "\" list");
    if (!it->is_array() || it->empty())
      throw Error(origin, std::string("\"") + key + "\" must be a non-empty list of strings");
    for (std::size_t i = 0; i < it->size(); ++i) {
      std::string where = origin + ": " + key + "[" + std::to_string(i) + "]";
      const auto& s = (*it)[i];
      if (!s.is_string()) throw Error(where, "not a string");
      out.emplace_back(s.get<std::string>(), where);
    }
  };
  read_list("model_input", t.model_input);
  read_list("response", t.response);
  return t;
}

PromptTemplates PromptTemplates::parse(std::string_view json_text, const std::string& origin) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(origin, std::string("not valid JSON: ") + e.what());
  }
  return from_json(j, origin);
}

PromptTemplates PromptTemplates::load(const std::filesystem::path& file) {
  return from_json(read_json_file(file), file.string());
}

nlohmann::ordered_json PromptTemplates::to_json() const {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  if (!task.empty()) j["task"] = task;
  j["model_input"] = nlohmann::ordered_json::array();
  for (const auto& t : model_input) j["model_input"].push_back(t.text());
  j["response"] = nlohmann::ordered_json::array();
  for (const auto& t : response) j["response"].push_back(t.text());
  return j;
}

namespace {
std::vector<std::string> union_of(const std::vector<PromptTemplate>& templates) {
  std::vector<std::string> out;
  for (const auto& t : templates)
    for (const auto& p : t.placeholders())
      if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
  return out;
}
}  // namespace

std::vector<std::string> PromptTemplates::input_placeholders() const { return union_of(model_input); }
std::vector<std::string> PromptTemplates::response_placeholders() const { return union_of(response); }

}  // namespace c2s
