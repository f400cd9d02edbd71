// Oniguruma in UTF-8 with its default syntax, as rust-onig uses it. Searches
// carry a retry limit so that a pathological pattern from a tokenizer.json
// ends in an Error instead of running for hours.
#include "text/onig_regex.hpp"

#include <oniguruma.h>

#include <mutex>

#include "core/error.hpp"
#include "text/utf8.hpp"

namespace c2s {
namespace {

constexpr unsigned long kRetryLimitInSearch = 50'000'000;

void initialize_oniguruma() {
  static std::once_flag once;
  std::call_once(once, [] {
    OnigEncoding encodings[] = {ONIG_ENCODING_UTF8};
    onig_initialize(encodings, 1);
  });
}

std::string onig_message(int code, OnigErrorInfo* info) {
  OnigUChar buffer[ONIG_MAX_ERROR_MESSAGE_LEN];
  if (info)
    onig_error_code_to_str(buffer, code, info);
  else
    onig_error_code_to_str(buffer, code);
  return reinterpret_cast<const char*>(buffer);
}

// Per-thread search state: a region and match parameters are not shareable
// between concurrent searches, the compiled regex is.
struct SearchState {
  OnigRegion* region = onig_region_new();
  OnigMatchParam* param = onig_new_match_param();
  SearchState() {
    onig_initialize_match_param(param);
    onig_set_retry_limit_in_search_of_match_param(param, kRetryLimitInSearch);
  }
  ~SearchState() {
    onig_region_free(region, 1);
    onig_free_match_param(param);
  }
};

}  // namespace

OnigRegex::OnigRegex(std::string_view pattern, const std::string& context) : context_(context) {
  initialize_oniguruma();
  OnigErrorInfo info;
  regex_t* reg = nullptr;
  const auto* p = reinterpret_cast<const OnigUChar*>(pattern.data());
  const int r = onig_new(&reg, p, p + pattern.size(), ONIG_OPTION_NONE, ONIG_ENCODING_UTF8, ONIG_SYNTAX_DEFAULT, &info);
  if (r != ONIG_NORMAL) throw Error(context, "invalid regex '" + std::string(pattern) + "': " + onig_message(r, &info));
  regex_ = reg;
}

OnigRegex::~OnigRegex() {
  if (regex_) onig_free(static_cast<regex_t*>(regex_));
}

void OnigRegex::find_all(std::string_view text, std::vector<std::pair<std::size_t, std::size_t>>& matches) const {
  thread_local SearchState state;
  auto* reg = static_cast<regex_t*>(regex_);
  const auto* begin = reinterpret_cast<const OnigUChar*>(text.data());
  const auto* end = begin + text.size();
  std::size_t last_end = 0;
  bool skip_next_empty = false;
  while (last_end <= text.size()) {
    onig_region_clear(state.region);
    const int r = onig_search_with_param(reg, begin, end, begin + last_end, end, state.region, ONIG_OPTION_NONE,
                                         state.param);
    if (r == ONIG_MISMATCH) break;
    if (r < 0) throw Error(context_, "regex search failed: " + onig_message(r, nullptr));
    const auto s = static_cast<std::size_t>(state.region->beg[0]);
    const auto e = static_cast<std::size_t>(state.region->end[0]);
    last_end = e;
    if (s == e) {
      last_end += e < text.size() ? utf8::sequence_length(static_cast<unsigned char>(text[e])) : 1;
      if (skip_next_empty) {
        skip_next_empty = false;
        continue;
      }
    } else {
      skip_next_empty = true;
    }
    matches.emplace_back(s, e);
  }
}

std::string OnigRegex::escape(std::string_view literal) {
  static constexpr std::string_view kMeta = "\\.+*?()|[]{}^$#&-~";
  std::string out;
  out.reserve(literal.size() * 2);
  for (char c : literal) {
    if (kMeta.find(c) != std::string_view::npos) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

}  // namespace c2s
