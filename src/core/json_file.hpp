// JSON files (tokenizer_config.json, generation_config.json, prompt
// templates, configs c2s writes...) read whole, with one-line errors naming
// the file, and written atomically.
#pragma once
#include <filesystem>

#include <nlohmann/json.hpp>

namespace c2s {

// The parsed document; a missing, unreadable or malformed file is an Error
// whose message names the file and, for bad JSON, the line and column.
nlohmann::json read_json_file(const std::filesystem::path& path);

// Writes `j` indented by 2 with a final newline, through a temporary beside
// `path` renamed into place; an Error when it cannot be written.
void write_json_file(const std::filesystem::path& path, const nlohmann::json& j);
// The same keeping the keys in the order they were added.
void write_json_file(const std::filesystem::path& path, const nlohmann::ordered_json& j);

}  // namespace c2s
