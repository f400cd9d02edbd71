// Added tokens of a tokenizer.json: their ids, and finding them in the input
// before anything else runs, as added_vocabulary.rs does.
#pragma once
#include <array>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "text/hf_model.hpp"
#include "text/hf_normalizers.hpp"
#include "text/hf_pre_tokens.hpp"
#include "text/hf_vocabulary.hpp"

namespace c2s {

struct HfAddedToken {
  std::string content;
  bool single_word = false, lstrip = false, rstrip = false, normalized = true, special = false;
  bool operator==(const HfAddedToken&) const = default;
};

class HfAddedVocabulary {
 public:
  // Adds the tokens of the "added_tokens" array (null: none) in order, giving
  // each the id the library gives it: its id so far, else the model's, else
  // the next id after the vocabulary.
  void build(const nlohmann::json& list, const HfModel& model, const HfNormalizer* normalizer, const std::string& file);

  // Cuts `text` into added tokens and normalized text pieces: special and
  // non-normalized tokens are found in the raw text, normalized ones in each
  // normalized stretch between them; leftmost-longest, honouring
  // single_word, lstrip and rstrip.
  void extract(std::string_view text, const HfNormalizer* normalizer, PreTokens& out) const;

  std::optional<TokenId> token_to_id(std::string_view content) const;
  const std::string* id_to_token(TokenId id) const;
  bool is_special(std::string_view content) const { return special_contents_.find(content) != special_contents_.end(); }
  void for_each_id(const std::function<void(TokenId)>& fn) const {
    for (const auto& [id, token] : by_id_) fn(id);
  }

 private:
  // Byte trie of one set of patterns, searched leftmost-longest.
  struct Trie {
    struct Node {
      std::vector<std::pair<unsigned char, std::uint32_t>> children;
      TokenId id = -1;
    };
    std::vector<Node> nodes{1};
    // Bytes that start some pattern: most positions are ruled out by one
    // table lookup.
    std::array<bool, 256> starts{};
    bool empty = true;
    void insert(std::string_view pattern, TokenId id);
    // Longest pattern starting at text[i]: its length and id, or length 0.
    std::pair<std::size_t, TokenId> longest_at(std::string_view text, std::size_t i) const;
  };
  struct Split {
    std::size_t begin, end;
    TokenId id;  // -1: text
  };
  void find_matches(std::string_view text, const Trie& trie, std::vector<Split>& splits) const;

  StringMap<TokenId> ids_;
  std::unordered_map<TokenId, HfAddedToken> by_id_;
  std::unordered_set<std::string, StringHash, std::equal_to<>> special_contents_;
  Trie raw_, normalized_;
};

}  // namespace c2s
