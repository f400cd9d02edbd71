// One component object of a tokenizer.json (a normalizer, a pre-tokenizer,
// ...) with typed field access whose errors say where the component is.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "text/onig_regex.hpp"
#include "text/utf8.hpp"

namespace c2s {

// Errors name the file, the component's place and its type, e.g.
//   tokenizer.json: normalizer.normalizers[1] (Replace): missing field 'content'
class HfJsonComponent {
 public:
  HfJsonComponent(const nlohmann::json& json, std::string where, const std::string& file)
      : json_(json), where_(std::move(where)), file_(file) {
    if (!json_.is_object()) fail("expected an object, found " + std::string(json_.type_name()));
    // Sequences nest by recursion; real files nest two or three deep.
    if (std::count(where_.begin(), where_.end(), '[') > kMaxNesting)
      fail("components nested more than " + std::to_string(kMaxNesting) + " levels deep");
  }
  static constexpr long kMaxNesting = 32;

  const nlohmann::json& json() const { return json_; }
  const std::string& where() const { return where_; }
  const std::string& file() const { return file_; }

  // The "type" tag; required.
  std::string type() const {
    const auto* t = find("type");
    if (!t) fail("missing field 'type'");
    if (!t->is_string()) fail("field 'type' is not a string");
    return t->get<std::string>();
  }

  [[noreturn]] void fail(const std::string& what) const {
    std::string label = where_;
    if (json_.is_object()) {
      auto it = json_.find("type");
      if (it != json_.end() && it->is_string()) label += " (" + it->get<std::string>() + ")";
    }
    throw Error(file_, label + ": " + what);
  }

  // The field, or nullptr when it is absent or null.
  const nlohmann::json* find(const char* name) const {
    auto it = json_.find(name);
    if (it == json_.end() || it->is_null()) return nullptr;
    return &*it;
  }
  const nlohmann::json& required(const char* name) const {
    const auto* f = find(name);
    if (!f) fail(std::string("missing field '") + name + "'");
    return *f;
  }

  std::string string(const char* name) const { return as_string(required(name), name); }
  std::string string_or(const char* name, const std::string& fallback) const {
    const auto* f = find(name);
    return f ? as_string(*f, name) : fallback;
  }
  bool boolean(const char* name) const { return as_bool(required(name), name); }
  bool boolean_or(const char* name, bool fallback) const {
    const auto* f = find(name);
    return f ? as_bool(*f, name) : fallback;
  }
  std::uint64_t unsigned_integer(const char* name) const {
    const auto& f = required(name);
    if (!f.is_number_unsigned()) fail(std::string("field '") + name + "' is not a non-negative integer");
    return f.get<std::uint64_t>();
  }
  // A string holding exactly one character (Rust `char` fields).
  char32_t character(const char* name) const {
    const std::string s = string(name);
    std::size_t i = 0;
    if (s.empty() || (utf8::next(s, i), i != s.size()))
      fail(std::string("field '") + name + "' must be exactly one character");
    i = 0;
    return utf8::next(s, i);
  }
  const nlohmann::json& array(const char* name) const {
    const auto& f = required(name);
    if (!f.is_array()) fail(std::string("field '") + name + "' is not an array");
    return f;
  }
  const nlohmann::json& object(const char* name) const {
    const auto& f = required(name);
    if (!f.is_object()) fail(std::string("field '") + name + "' is not an object");
    return f;
  }

  // A {"String": literal} or {"Regex": pattern} field as an Oniguruma regex.
  std::string pattern_regex(const char* name) const {
    const auto& pattern = object(name);
    const auto p = child(pattern, std::string(".") + name);
    if (pattern.contains("String")) return OnigRegex::escape(p.string("String"));
    if (pattern.contains("Regex")) return p.string("Regex");
    fail(std::string("field '") + name + "' must be {\"String\": ...} or {\"Regex\": ...}");
  }

  // The components listed in a Sequence's field `name`, each parsed by
  // parse(json, where, file) (which answers nullptr for null); a null entry
  // is an Error.
  template <class Parse>
  auto components(const char* name, Parse&& parse) const {
    const auto& list = array(name);
    std::vector<decltype(parse(list, where_, file_))> steps;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string item = std::string(name) + "[" + std::to_string(i) + "]";
      auto step = parse(list[i], where_ + "." + item, file_);
      if (!step) fail(item + " is null");
      steps.push_back(std::move(step));
    }
    return steps;
  }

  // A nested component, placed at `where` + `suffix` (".normalizers[2]").
  HfJsonComponent child(const nlohmann::json& json, const std::string& suffix) const {
    return HfJsonComponent(json, where_ + suffix, file_);
  }

 private:
  std::string as_string(const nlohmann::json& f, const char* name) const {
    if (!f.is_string()) fail(std::string("field '") + name + "' is not a string");
    // nlohmann keeps JSON strings as bytes; the text layer only takes UTF-8.
    std::string s = f.get<std::string>();
    if (!utf8::is_valid(s)) fail(std::string("field '") + name + "' is not valid UTF-8");
    return s;
  }
  bool as_bool(const nlohmann::json& f, const char* name) const {
    if (!f.is_boolean()) fail(std::string("field '") + name + "' is not a boolean");
    return f.get<bool>();
  }

  const nlohmann::json& json_;
  std::string where_;
  const std::string& file_;
};

}  // namespace c2s
