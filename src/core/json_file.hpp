// JSON configuration files (tokenizer_config.json, generation_config.json,
// prompt templates...) read whole, with one-line errors naming the file.
#pragma once
#include <filesystem>

#include <nlohmann/json.hpp>

namespace c2s {

// The parsed document; a missing, unreadable or malformed file is an Error
// whose message names the file and, for bad JSON, the line and column.
nlohmann::json read_json_file(const std::filesystem::path& path);

}  // namespace c2s
