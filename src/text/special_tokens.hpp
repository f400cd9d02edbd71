// What a model folder says about its special tokens (tokenizer_config.json,
// special_tokens_map.json, generation_config.json) and the ids they resolve
// to, following transformers 4.44 (the version the reference folders were
// saved with): special_tokens_map.json overrides tokenizer_config.json unless
// the latter has an `added_tokens_decoder` (files saved by transformers agree
// either way), and a tokenizer class's own defaults fill what neither names.
#pragma once
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "text/tokenizer.hpp"

namespace c2s {

// A token of tokenizer_config.json's `added_tokens_decoder`. Tokens marked
// lstrip/rstrip swallow the whitespace on that side when matched in text;
// `single_word` and `normalized` are not honoured (no c2s model uses them).
struct AddedTokenSpec {
  TokenId id = 0;
  std::string content;
  bool special = false;
  bool lstrip = false, rstrip = false;
};

struct TokenizerFolderConfig {
  std::string tokenizer_class;  // as written ("GemmaTokenizer", ...); "" if none
  std::optional<bool> add_bos_token, add_eos_token;
  // "bos_token", "eos_token", "unk_token", "pad_token": a missing key means
  // not configured, a nullopt value means configured as null (no such token).
  std::map<std::string, std::optional<std::string>> special_tokens;
  std::vector<std::string> additional_special_tokens;
  std::vector<AddedTokenSpec> added_tokens;  // ascending id
  std::vector<TokenId> generation_eos;       // generation_config.json eos_token_id
};

// Reads the three files of `folder`, each optional. Malformed JSON, or a
// field of the wrong type, is an Error naming the file (and the field).
TokenizerFolderConfig read_tokenizer_folder_config(const std::filesystem::path& folder);

// The token string in `role` ("bos_token", "eos_token", "unk_token",
// "pad_token"): the configured one, else the tokenizer class's default.
// Outer nullopt: neither says anything; inner nullopt: explicitly none.
std::optional<std::optional<std::string>> special_token_string(const TokenizerFolderConfig& config,
                                                                std::string_view role);

// add_bos_token / add_eos_token as configured, else the class default (the
// SentencePiece classes Llama and Gemma add BOS; others nothing).
bool adds_bos_token(const TokenizerFolderConfig& config);
bool adds_eos_token(const TokenizerFolderConfig& config);

// Whether transformers' fast class for this folder rebuilds the
// tokenizer.json post-processor from add_bos_token/add_eos_token
// (LlamaTokenizerFast, CodeLlamaTokenizerFast, GemmaTokenizerFast,
// GPTNeoXTokenizerFast), overriding what the file's post-processor says.
bool rebuilds_post_processor(const TokenizerFolderConfig& config);

// Every configured special token string (bos, eos, unk, pad, additional, and
// added tokens marked special): what skip_special_tokens removes.
std::vector<std::string> special_token_strings(const TokenizerFolderConfig& config);

// The ids of the special tokens in `tokenizer`'s vocabulary. `fallback` is
// used for roles neither the configuration nor the class names (e.g. a bare
// tokenizer.model's own BOS/EOS/PAD/UNK pieces). A configured token missing
// from the vocabulary gets no id (transformers would append a new token the
// model has no embedding for).
SpecialTokenIds resolve_special_token_ids(const Tokenizer& tokenizer, const TokenizerFolderConfig& config,
                                          const SpecialTokenIds& fallback = {});

}  // namespace c2s
