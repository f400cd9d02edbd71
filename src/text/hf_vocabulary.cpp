// Vocabulary tables; the reverse table points into the forward one's keys.
#include "text/hf_vocabulary.hpp"

#include <algorithm>
#include <limits>

namespace c2s {

HfVocabulary::HfVocabulary(const HfJsonComponent& model, const char* field) {
  const auto& vocab = model.object(field);
  ids_.reserve(vocab.size());
  TokenId max_id = -1;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_unsigned() || it.value().get<std::uint64_t>() > std::numeric_limits<TokenId>::max())
      model.fail(std::string(field) + ": id of token '" + it.key() + "' is not an integer in [0, 2^31)");
    if (!utf8::is_valid(it.key())) model.fail(std::string(field) + ": a token is not valid UTF-8");
    const auto id = static_cast<TokenId>(it.value().get<std::uint64_t>());
    ids_.emplace(it.key(), id);
    max_id = std::max(max_id, id);
  }
  const bool dense = static_cast<std::size_t>(max_id) < 2 * ids_.size() + 1024;
  if (dense) dense_.assign(static_cast<std::size_t>(max_id) + 1, nullptr);
  for (const auto& [token, id] : ids_) {
    // Two tokens with one id: keep the first in key order, so the choice is
    // at least stable (the Rust library's depends on hash order).
    if (dense) {
      auto& slot = dense_[static_cast<std::size_t>(id)];
      if (!slot || token < *slot) slot = &token;
    } else {
      auto [it, inserted] = sparse_.emplace(id, &token);
      if (!inserted && token < *it->second) it->second = &token;
    }
  }
}

const std::string* HfVocabulary::token(TokenId id) const {
  if (id < 0) return nullptr;
  if (!dense_.empty() || sparse_.empty()) {
    return static_cast<std::size_t>(id) < dense_.size() ? dense_[static_cast<std::size_t>(id)] : nullptr;
  }
  auto it = sparse_.find(id);
  return it == sparse_.end() ? nullptr : it->second;
}

}  // namespace c2s
