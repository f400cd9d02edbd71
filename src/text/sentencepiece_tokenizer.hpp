// A Tokenizer over a SentencePiece model (tokenizer.model, e.g. Gemma-2's),
// encoding and decoding as transformers' GemmaTokenizer does: added and
// special tokens are matched in the text first (longest match, leftmost) and
// the text between them goes to SentencePiece; decoding writes added tokens
// verbatim and the pieces between them through SentencePiece (byte fallback,
// U+2581 as space). Models with add_dummy_prefix (Llama-1/2) get
// SentencePiece's own prefix handling, not transformers' "legacy" variants:
// use their tokenizer.json.
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "text/special_tokens.hpp"
#include "text/tokenizer.hpp"

namespace c2s {

struct SentencePieceOptions {
  // encode(add_special_tokens=true) puts special_ids().bos first / eos last.
  bool add_bos = true, add_eos = false;
  // tokenizer_config.json's added_tokens_decoder (ids may lie beyond the
  // model's pieces: they extend the vocabulary).
  std::vector<AddedTokenSpec> added_tokens;
  // Token strings that are special (removed by skip_special_tokens) besides
  // the model's control and unknown pieces and added tokens marked special.
  std::vector<std::string> special_tokens;
};

// Loads `model_file`; a missing, unreadable or corrupt file is an Error
// naming it. special_ids() starts as the model's own BOS/EOS/PAD/UNK pieces.
std::unique_ptr<Tokenizer> load_sentencepiece_tokenizer(const std::filesystem::path& model_file,
                                                        const SentencePieceOptions& options = {});

}  // namespace c2s
