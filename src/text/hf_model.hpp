// What the pipeline asks of a tokenizer.json model (BPE, WordLevel,
// Unigram), and the parser that picks one by its "type".
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "text/hf_json_component.hpp"
#include "text/tokenizer.hpp"

namespace c2s {

class HfModel {
 public:
  virtual ~HfModel() = default;
  // Appends the ids of one pre-tokenized word (non-empty, valid UTF-8).
  virtual void tokenize(std::string_view word, std::vector<TokenId>& ids) const = 0;
  virtual std::optional<TokenId> token_to_id(std::string_view token) const = 0;
  // The token of `id`, or nullptr.
  virtual const std::string* id_to_token(TokenId id) const = 0;
  // Number of vocabulary entries (Rust Model::get_vocab_size), which sets
  // the ids of added tokens that are not in the vocabulary.
  virtual std::size_t size() const = 0;
  // Calls fn(id) for every id of the vocabulary.
  virtual void for_each_id(const std::function<void(TokenId)>& fn) const = 0;
};

std::unique_ptr<HfModel> parse_hf_model(const nlohmann::json& json, const std::string& where, const std::string& file);

}  // namespace c2s
