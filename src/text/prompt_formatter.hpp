// Formats one prompt example at a time: picks a model-input (and response)
// template from a random stream keyed by (seed, example key), so the choice
// never depends on thread count or order, and fills in the example's values.
// Training formats examples on the fly; annotation formats model inputs only.
#pragma once
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "text/prompt_tasks.hpp"
#include "text/prompt_template.hpp"

namespace c2s {

struct FormattedPrompt {
  std::string model_input, response;
  std::size_t input_template = 0, response_template = 0;  // indices of the templates used
};

// {multi_cell_sentences} as the reference joins it: "Cell 1:\n<s1>.\nCell 2:\n<s2>.\n"
// (every cell, the last included, ends with ".\n").
std::string join_multi_cell_sentences(std::span<const std::string> sentences);
// Its pieces: the line that opens cell `cell` (1-based: "Cell 1:\n") and the
// text that closes every cell.
std::string multi_cell_header(std::size_t cell);
inline constexpr std::string_view kMultiCellEnd = ".\n";
// The cells' sentences of a {multi_cell_sentences} text as a model wrote it
// (the inverse of the join): a line "Cell N:" opens a cell, the lines after
// it are its sentence (joined by spaces, the closing '.' taken off); text
// before the first such line is a cell of its own. Cells left empty stay.
std::vector<std::string> split_multi_cell_sentences(std::string_view text);
// The first `top_k` space-separated genes of a sentence (top_k <= 0: all).
std::string_view first_genes(std::string_view sentence, std::int64_t top_k);
std::size_t count_genes(std::string_view sentence);
// The values of a single-cell prompt: {cell_sentence} (its first top_k genes),
// {num_genes} (how many genes that is) and {organism}. Add the label for training.
PromptValues cell_prompt_values(std::string_view sentence, std::int64_t top_k, std::string_view organism);

class PromptFormatter {
 public:
  PromptFormatter(PromptTemplates templates, std::uint64_t seed = 42);
  // The built-in templates of `task`, or those of `prompt_file` when given;
  // either way validated for the task.
  static PromptFormatter for_task(PromptTask task, const std::filesystem::path& prompt_file = {},
                                  std::uint64_t seed = 42);

  const PromptTemplates& templates() const { return templates_; }
  std::uint64_t seed() const { return seed_; }

  // The templates example `key` uses (e.g. key = cell index).
  std::size_t input_choice(std::uint64_t key) const;
  std::size_t response_choice(std::uint64_t key) const;

  // Errors name the template (file and index) and the missing key.
  FormattedPrompt format(std::uint64_t key, const PromptValues& values) const;
  std::string format_input(std::uint64_t key, const PromptValues& values) const;
  std::string format_response(std::uint64_t key, const PromptValues& values) const;

  // What the values must hold for any choice of template.
  std::vector<std::string> input_placeholders() const { return templates_.input_placeholders(); }
  std::vector<std::string> response_placeholders() const { return templates_.response_placeholders(); }

 private:
  PromptTemplates templates_;
  std::uint64_t seed_;
};

}  // namespace c2s
