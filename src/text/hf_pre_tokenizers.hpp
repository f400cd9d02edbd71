// tokenizer.json pre-tokenizers: ByteLevel, Metaspace, Split, Whitespace,
// WhitespaceSplit, Punctuation, Digits, CharDelimiterSplit,
// BertPreTokenizer and Sequence.
#pragma once
#include <memory>
#include <string>

#include "text/hf_json_component.hpp"
#include "text/hf_pre_tokens.hpp"

namespace c2s {

class HfPreTokenizer {
 public:
  virtual ~HfPreTokenizer() = default;
  // Cuts (and, for ByteLevel and Metaspace, rewrites) the text pieces of
  // `in` into `out`, which starts empty; added-token pieces pass unchanged.
  virtual void pre_tokenize(const PreTokens& in, PreTokens& out) const = 0;
};

// The pre-tokenizer described by `json` (null gives nullptr).
std::unique_ptr<HfPreTokenizer> parse_hf_pre_tokenizer(const nlohmann::json& json, const std::string& where,
                                                       const std::string& file);

}  // namespace c2s
