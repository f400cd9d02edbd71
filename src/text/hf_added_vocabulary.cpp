// Added-token bookkeeping replays AddedVocabulary::add_tokens token by token
// (ids, the special list, the classic list), then builds the two matching
// tries the way refresh_added_tokens does.
#include "text/hf_added_vocabulary.hpp"

#include <algorithm>

#include "text/hf_json_component.hpp"
#include "text/unicode_categories.hpp"
#include "text/utf8.hpp"

namespace c2s {
namespace {

bool ends_with_word_char(std::string_view s) {
  if (s.empty()) return false;
  std::size_t i = s.size();
  return unicode::is_word_char(utf8::previous(s, i));
}
bool starts_with_word_char(std::string_view s) {
  if (s.empty()) return false;
  std::size_t i = 0;
  return unicode::is_word_char(utf8::next(s, i));
}
// Start of the whitespace run that ends `s`.
std::size_t trailing_space_start(std::string_view s) {
  std::size_t end = s.size();
  while (end > 0) {
    std::size_t i = end;
    if (!unicode::is_whitespace(utf8::previous(s, i))) break;
    end = i;
  }
  return end;
}
// Length of the whitespace run that starts `s`.
std::size_t leading_space_length(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t j = i;
    if (!unicode::is_whitespace(utf8::next(s, j))) break;
    i = j;
  }
  return i;
}

}  // namespace

void HfAddedVocabulary::Trie::insert(std::string_view pattern, TokenId id) {
  std::uint32_t node = 0;
  for (unsigned char b : pattern) {
    std::uint32_t next = 0;
    for (const auto& [label, child] : nodes[node].children)
      if (label == b) next = child;
    if (next == 0) {
      next = static_cast<std::uint32_t>(nodes.size());
      nodes[node].children.emplace_back(b, next);
      nodes.emplace_back();
    }
    node = next;
  }
  // Of two equal patterns the first added wins, as in Aho-Corasick.
  if (node != 0 && nodes[node].id < 0) nodes[node].id = id;
  if (!pattern.empty()) {
    starts[static_cast<unsigned char>(pattern[0])] = true;
    empty = false;
  }
}

std::pair<std::size_t, TokenId> HfAddedVocabulary::Trie::longest_at(std::string_view text, std::size_t i) const {
  std::pair<std::size_t, TokenId> best{0, -1};
  std::uint32_t node = 0;
  for (std::size_t k = i; k < text.size(); ++k) {
    const auto b = static_cast<unsigned char>(text[k]);
    std::uint32_t next = 0;
    for (const auto& [label, child] : nodes[node].children)
      if (label == b) {
        next = child;
        break;
      }
    if (next == 0) break;
    node = next;
    if (nodes[node].id >= 0) best = {k + 1 - i, nodes[node].id};
  }
  return best;
}

void HfAddedVocabulary::build(const nlohmann::json& list, const HfModel& model, const HfNormalizer* normalizer,
                              const std::string& file) {
  if (list.is_null()) return;
  if (!list.is_array()) throw Error(file, "added_tokens is not an array");
  std::vector<HfAddedToken> tokens;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const HfJsonComponent c(list[i], "added_tokens[" + std::to_string(i) + "]", file);
    HfAddedToken t;
    t.content = c.string("content");
    // The declared id is checked but not used: the library assigns its own.
    c.unsigned_integer("id");
    t.single_word = c.boolean("single_word");
    t.lstrip = c.boolean("lstrip");
    t.rstrip = c.boolean("rstrip");
    t.normalized = c.boolean("normalized");
    t.special = c.boolean("special");
    tokens.push_back(std::move(t));
  }

  std::vector<HfAddedToken> specials, classics;
  for (const auto& t : tokens) {
    if (t.special && !t.content.empty() && special_contents_.insert(t.content).second) specials.push_back(t);
  }
  for (const auto& t : tokens) {
    if (t.content.empty()) continue;
    if (std::any_of(by_id_.begin(), by_id_.end(), [&](const auto& e) { return e.second == t; })) continue;
    TokenId id;
    if (auto known = token_to_id(t.content)) {
      id = *known;
    } else if (auto in_model = model.token_to_id(t.content)) {
      id = *in_model;
    } else if (ids_.empty()) {
      id = static_cast<TokenId>(model.size());
    } else {
      TokenId max = -1;
      for (const auto& [content, i] : ids_) max = std::max(max, i);
      id = (static_cast<std::size_t>(max) >= model.size() || model.size() == 0) ? max + 1
                                                                                 : static_cast<TokenId>(model.size());
    }
    ids_[t.content] = id;
    by_id_[id] = t;
    if (!special_contents_.count(t.content)) classics.push_back(t);
  }

  auto add_pattern = [&](const HfAddedToken& t) {
    std::optional<TokenId> id = token_to_id(t.content);
    if (!id) id = model.token_to_id(t.content);
    if (!id) return;
    if (t.normalized) {
      std::string pattern = t.content;
      if (normalizer) normalizer->normalize(pattern);
      normalized_.insert(pattern, *id);
    } else {
      raw_.insert(t.content, *id);
    }
  };
  for (const auto& t : specials) add_pattern(t);
  for (const auto& t : classics) add_pattern(t);
}

std::optional<TokenId> HfAddedVocabulary::token_to_id(std::string_view content) const {
  auto it = ids_.find(content);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

const std::string* HfAddedVocabulary::id_to_token(TokenId id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &it->second.content;
}

void HfAddedVocabulary::find_matches(std::string_view text, const Trie& trie, std::vector<Split>& splits) const {
  splits.clear();
  std::size_t start_offset = 0;
  if (!trie.empty) {
    for (std::size_t i = 0; i < text.size();) {
      if (!trie.starts[static_cast<unsigned char>(text[i])]) {
        ++i;
        continue;
      }
      const auto [len, id] = trie.longest_at(text, i);
      if (len == 0) {
        ++i;
        continue;
      }
      std::size_t start = i, stop = i + len;
      i = stop;  // the search resumes after the match, whatever is stripped
      const HfAddedToken& token = by_id_.at(id);
      if (token.single_word) {
        const bool start_space = start == 0 || !ends_with_word_char(text.substr(0, start));
        const bool stop_space = stop == text.size() || !starts_with_word_char(text.substr(stop));
        if (!start_space || !stop_space) continue;
      }
      if (token.lstrip) start = std::max(trailing_space_start(text.substr(0, start)), start_offset);
      if (token.rstrip) stop += leading_space_length(text.substr(stop));
      if (start_offset < start) splits.push_back({start_offset, start, -1});
      splits.push_back({start, stop, id});
      start_offset = stop;
    }
  }
  if (start_offset != text.size()) splits.push_back({start_offset, text.size(), -1});
}

void HfAddedVocabulary::extract(std::string_view text, const HfNormalizer* normalizer, PreTokens& out) const {
  thread_local std::vector<Split> raw_splits, normalized_splits;
  thread_local std::string normalized;
  find_matches(text, raw_, raw_splits);
  for (const auto& s : raw_splits) {
    if (s.id >= 0) {
      out.add_added(s.id);
      continue;
    }
    if (s.begin >= s.end) continue;
    normalized.assign(text.substr(s.begin, s.end - s.begin));
    // The piece starts where the text does unless normalizing deleted the
    // first character.
    const bool first_dropped = normalizer && normalizer->normalize(normalized);
    const bool at_text_start = s.begin == 0 && !first_dropped;
    find_matches(normalized, normalized_, normalized_splits);
    for (const auto& n : normalized_splits) {
      if (n.id >= 0)
        out.add_added(n.id);
      else
        out.add(std::string_view(normalized).substr(n.begin, n.end - n.begin), at_text_start && n.begin == 0);
    }
  }
}

}  // namespace c2s
