// Where a model command's per-prompt results go: one JSON line per prompt,
// to stdout or to an --output file written atomically, each line starting
// with the prompt's index and the fields passed through from its JSONL line.
#pragma once
#include <nlohmann/json.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "cli/command_context.hpp"
#include "cli/model/model_session.hpp"
#include "core/atomic_output.hpp"

namespace c2s {

// {"index": index (from 0), then the prompt's JSONL fields other than the
// prompt itself ("prompt", "model_input", "ids") and `reserved` (the keys the
// command writes), in key order}.
nlohmann::ordered_json result_head(std::size_t index, const PromptInput& prompt, const std::vector<std::string>& reserved);

class ResultLines {
 public:
  // `path` empty means stdout. A file is opened now, so that a bad path
  // fails before the model is loaded.
  explicit ResultLines(const std::string& path);
  // One line: a JSON object, without its newline.
  void add(std::string line);
  // Nothing is visible before this, so an error leaves no output. A file is
  // renamed into place and `summary` (plus "output") reported as every
  // command does; on stdout the lines are printed, or with --json one
  // document {"summary": ..., "results": [the lines]} (as `c2s generate`).
  void finish(const GlobalOptions& global, nlohmann::ordered_json summary);

 private:
  std::string path_;
  std::unique_ptr<AtomicTextFile> file_;
  std::vector<std::string> lines_;  // stdout's, held until finish()
};

// A file target's extension, lowercased ("npy", "jsonl"; "" when none).
std::string extension_of(const std::string& path);

}  // namespace c2s
