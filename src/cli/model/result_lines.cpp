#include "cli/model/result_lines.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iostream>

#include "core/error.hpp"

namespace c2s {

nlohmann::ordered_json result_head(std::size_t index, const PromptInput& prompt, const std::vector<std::string>& reserved) {
  nlohmann::ordered_json head;
  head["index"] = index;
  if (!prompt.source.is_object()) return head;
  for (const auto& [key, value] : prompt.source.items()) {
    if (key == "index" || key == "prompt" || key == "model_input" || key == "ids") continue;
    if (std::find(reserved.begin(), reserved.end(), key) != reserved.end()) continue;
    head[key] = value;
  }
  return head;
}

ResultLines::ResultLines(const std::string& path) : path_(path) {
  if (!path.empty()) file_ = std::make_unique<AtomicTextFile>(path);
}

void ResultLines::add(std::string line) {
  if (file_) {
    line.push_back('\n');
    file_->write(line);
  } else {
    lines_.push_back(std::move(line));
  }
}

void ResultLines::finish(const GlobalOptions& global, nlohmann::ordered_json summary) {
  if (file_) {
    file_->commit();
    summary["output"] = path_;
    emit_summary(global, nlohmann::json(summary));
    return;
  }
  if (global.json) {
    std::cout << "{\"summary\":" << summary.dump() << ",\"results\":[";
    for (std::size_t i = 0; i < lines_.size(); ++i) std::cout << (i ? "," : "") << lines_[i];
    std::cout << "]}\n";
  } else {
    for (const auto& l : lines_) std::cout << l << '\n';
  }
  std::cout.flush();
  if (!std::cout) throw Error("stdout", "cannot write the output");
}

std::string extension_of(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  if (!ext.empty()) ext.erase(0, 1);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext;
}

}  // namespace c2s
