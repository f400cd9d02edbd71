// The one tokenizer interface of c2s: Hugging Face tokenizer.json and
// SentencePiece tokenizer.model behind the same encode/decode, with the
// special-token ids a model folder declares.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace c2s {

using TokenId = std::int32_t;

// Special-token ids as transformers resolves them for a model folder
// (tokenizer_config.json, special_tokens_map.json, generation_config.json).
struct SpecialTokenIds {
  std::optional<TokenId> bos, eos, pad, unk;
  // generation_config.json's eos_token_id (one id or several, e.g. Gemma-2's
  // <eos> and <end_of_turn>); generation stops on any. Empty: use `eos`.
  std::vector<TokenId> generation_eos;
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Token ids of `text`; with add_special_tokens, the post-processor's (or
  // SentencePiece's) BOS/EOS as Hugging Face encode(add_special_tokens=True).
  // Invalid UTF-8 is an Error.
  virtual std::vector<TokenId> encode(std::string_view text, bool add_special_tokens) const = 0;
  virtual std::string decode(std::span<const TokenId> ids, bool skip_special_tokens) const = 0;

  virtual std::optional<TokenId> token_to_id(std::string_view token) const = 0;
  // The token string of `id` (an Error for an id outside the vocabulary).
  virtual std::string id_to_token(TokenId id) const = 0;
  // Number of ids, added tokens included.
  virtual std::size_t vocab_size() const = 0;
  virtual bool is_special(TokenId id) const = 0;

  // encode() of every text, spread over the global thread pool; identical to
  // encoding them one by one.
  std::vector<std::vector<TokenId>> encode_batch(std::span<const std::string> texts,
                                                 bool add_special_tokens) const;

  const SpecialTokenIds& special_ids() const { return special_ids_; }
  void set_special_ids(const SpecialTokenIds& ids) { special_ids_ = ids; }

 private:
  SpecialTokenIds special_ids_;
};

// Loads `path`: a tokenizer.json, a SentencePiece tokenizer.model, or a model
// folder holding one (tokenizer.json preferred, as transformers' fast
// tokenizers are), and resolves the special-token ids from the folder's
// configuration files.
std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& path);

// The files of a tokenizer that travel with a model folder (those present):
// tokenizer.json, tokenizer.model, tokenizer_config.json,
// special_tokens_map.json, added_tokens.json; `path` itself when it is a file.
std::vector<std::filesystem::path> tokenizer_files(const std::filesystem::path& path);

}  // namespace c2s
