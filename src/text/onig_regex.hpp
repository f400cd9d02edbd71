// Oniguruma regexes, the engine the Rust tokenizers library compiles its
// patterns with, searched the way the Rust onig crate's find_iter does.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace c2s {

class OnigRegex {
 public:
  // An Error naming `context` and Oniguruma's message for a bad pattern.
  OnigRegex(std::string_view pattern, const std::string& context);
  ~OnigRegex();
  OnigRegex(const OnigRegex&) = delete;
  OnigRegex& operator=(const OnigRegex&) = delete;

  // Successive non-overlapping matches (byte ranges) in `text`. An empty
  // match right after a non-empty one is skipped, and the search moves one
  // character past every empty match, as rust-onig's FindMatches does. Safe
  // to call from many threads at once.
  void find_all(std::string_view text, std::vector<std::pair<std::size_t, std::size_t>>& matches) const;

  // `literal` with every regex metacharacter escaped (Rust regex::escape).
  static std::string escape(std::string_view literal);

 private:
  void* regex_ = nullptr;  // OnigRegex (a pointer type in oniguruma.h)
  std::string context_;
};

}  // namespace c2s
