// Export of a sentence store as JSONL (one object per cell: cell_name,
// cell_sentence and label columns; loads with Hugging Face
// `load_dataset("json")`) or as plain text (one sentence per line).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/sentence_store.hpp"

namespace c2s {

struct ExportOptions {
  enum class Format { Jsonl, Text };
  Format format = Format::Jsonl;
  std::int64_t top_k = 0;                 // > 0: only the first k genes of each cell
  std::vector<std::string> columns;       // obs columns to include (JSONL); empty = all
  std::optional<std::string> split;       // only cells whose obs `split` equals this
};

// Writes the file atomically; returns the number of cells written.
std::int64_t export_sentences(const SentenceStore& store, const std::string& path, const ExportOptions& options);

}  // namespace c2s
