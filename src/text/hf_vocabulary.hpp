// A token <-> id table read from a tokenizer.json "vocab" object, shared by
// the BPE and WordLevel models.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "text/hf_json_component.hpp"
#include "text/tokenizer.hpp"

namespace c2s {

// Hashing that lets string maps be searched with a string_view.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

class HfVocabulary {
 public:
  // Reads component field `field` (an object of token -> id).
  HfVocabulary(const HfJsonComponent& model, const char* field);

  std::optional<TokenId> find(std::string_view token) const {
    auto it = ids_.find(token);
    if (it == ids_.end()) return std::nullopt;
    return it->second;
  }
  const std::string* token(TokenId id) const;
  std::size_t size() const { return ids_.size(); }
  void for_each_id(const std::function<void(TokenId)>& fn) const {
    for (const auto& [t, id] : ids_) fn(id);
  }

 private:
  StringMap<TokenId> ids_;
  // id -> token: dense when the ids are (they nearly always are).
  std::vector<const std::string*> dense_;
  std::unordered_map<TokenId, const std::string*> sparse_;
};

}  // namespace c2s
