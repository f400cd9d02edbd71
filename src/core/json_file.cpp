#include "core/json_file.hpp"

#include <fstream>
#include <sstream>

#include "core/atomic_output.hpp"
#include "core/error.hpp"

namespace c2s {

nlohmann::json read_json_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    throw Error(path.string(), std::filesystem::exists(path, ec) ? "cannot open file" : "no such file");
  }
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) throw Error(path.string(), "cannot read file");
  try {
    return nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann's message starts with "[json.exception.parse_error.101] " and
    // may quote the offending bytes, newlines included: keep it to one line.
    std::string what = e.what();
    if (auto pos = what.find("] "); what.starts_with("[json.exception") && pos != std::string::npos)
      what = what.substr(pos + 2);
    for (char& c : what)
      if (c == '\n' || c == '\r') c = ' ';
    throw Error(path.string(), "malformed JSON: " + what);
  }
}

namespace {

void write_text_file(const std::filesystem::path& path, const std::string& text) {
  AtomicTextFile out(path);
  out.write(text);
  out.commit();
}

}  // namespace

void write_json_file(const std::filesystem::path& path, const nlohmann::json& j) {
  write_text_file(path, j.dump(2) + "\n");
}

void write_json_file(const std::filesystem::path& path, const nlohmann::ordered_json& j) {
  write_text_file(path, j.dump(2) + "\n");
}

}  // namespace c2s
