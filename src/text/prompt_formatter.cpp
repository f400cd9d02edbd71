#include "text/prompt_formatter.hpp"

#include <algorithm>
#include <cctype>

#include "core/random.hpp"
#include "text/builtin_prompts.hpp"

namespace c2s {

namespace {
// Template choice has its own family of streams, apart from any other use of
// the same seed (grouping, control cells).
constexpr std::uint64_t kTemplateStreams = 0x74656d706c617465ull;  // "template"
}  // namespace

std::string multi_cell_header(std::size_t cell) { return "Cell " + std::to_string(cell) + ":\n"; }

std::string join_multi_cell_sentences(std::span<const std::string> sentences) {
  std::string out;
  std::size_t size = 0;
  for (const auto& s : sentences) size += s.size() + 16;
  out.reserve(size);
  for (std::size_t i = 0; i < sentences.size(); ++i) {
    out += multi_cell_header(i + 1);
    out += sentences[i];
    out += kMultiCellEnd;
  }
  return out;
}

namespace {

// Whether a line (trimmed) is a cell's header, "Cell N:".
bool is_cell_header(std::string_view line) {
  constexpr std::string_view head = "Cell ";
  if (line.size() < head.size() + 2 || line.substr(0, head.size()) != head || line.back() != ':') return false;
  const std::string_view number = line.substr(head.size(), line.size() - head.size() - 1);
  return std::all_of(number.begin(), number.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::string_view trimmed(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

}  // namespace

std::vector<std::string> split_multi_cell_sentences(std::string_view text) {
  std::vector<std::string> cells;
  bool open = false;  // a cell is being read
  auto close = [&] {
    if (!open) return;
    std::string& s = cells.back();
    while (!s.empty() && (s.back() == '.' || s.back() == ' ')) s.pop_back();
  };
  for (std::size_t at = 0; at <= text.size();) {
    std::size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = trimmed(text.substr(at, end - at));
    at = end + 1;
    if (is_cell_header(line)) {
      close();
      cells.emplace_back();
      open = true;
    } else if (!line.empty()) {
      if (!open) cells.emplace_back(), open = true;
      std::string& s = cells.back();
      if (!s.empty() && s.back() == '.') s.pop_back();
      if (!s.empty()) s += ' ';
      s.append(line);
    }
  }
  close();
  return cells;
}

std::string_view first_genes(std::string_view sentence, std::int64_t top_k) {
  if (top_k <= 0) return sentence;
  std::size_t pos = 0;
  for (std::int64_t k = 0; k < top_k; ++k) {
    std::size_t space = sentence.find(' ', pos);
    if (space == std::string_view::npos) return sentence;
    if (k + 1 == top_k) return sentence.substr(0, space);
    pos = space + 1;
  }
  return sentence;
}

std::size_t count_genes(std::string_view sentence) {
  std::size_t n = 0;
  bool in_word = false;
  for (char c : sentence) {
    bool space = c == ' ';
    if (!space && !in_word) ++n;
    in_word = !space;
  }
  return n;
}

PromptValues cell_prompt_values(std::string_view sentence, std::int64_t top_k, std::string_view organism) {
  std::string_view shown = first_genes(sentence, top_k);
  return {{"cell_sentence", std::string(shown)},
          {"num_genes", std::to_string(count_genes(shown))},
          {"organism", std::string(organism)}};
}

PromptFormatter::PromptFormatter(PromptTemplates templates, std::uint64_t seed)
    : templates_(std::move(templates)), seed_(seed) {}

PromptFormatter PromptFormatter::for_task(PromptTask task, const std::filesystem::path& prompt_file,
                                          std::uint64_t seed) {
  if (prompt_file.empty()) return PromptFormatter(builtin_prompts(task), seed);
  PromptTemplates t = PromptTemplates::load(prompt_file);
  validate_templates(t, task);
  return PromptFormatter(std::move(t), seed);
}

std::size_t PromptFormatter::input_choice(std::uint64_t key) const {
  Rng rng(seed_ ^ kTemplateStreams, key);
  return std::size_t(rng.below(templates_.model_input.size()));
}

std::size_t PromptFormatter::response_choice(std::uint64_t key) const {
  if (templates_.response.size() == 1) return 0;
  Rng rng(seed_ ^ kTemplateStreams, key);
  rng.below(templates_.model_input.size());  // the input's draw comes first
  return std::size_t(rng.below(templates_.response.size()));
}

FormattedPrompt PromptFormatter::format(std::uint64_t key, const PromptValues& values) const {
  FormattedPrompt p;
  p.input_template = input_choice(key);
  p.response_template = response_choice(key);
  p.model_input = templates_.model_input[p.input_template].format(values);
  p.response = templates_.response[p.response_template].format(values);
  return p;
}

std::string PromptFormatter::format_input(std::uint64_t key, const PromptValues& values) const {
  return templates_.model_input[input_choice(key)].format(values);
}

std::string PromptFormatter::format_response(std::uint64_t key, const PromptValues& values) const {
  return templates_.response[response_choice(key)].format(values);
}

}  // namespace c2s
