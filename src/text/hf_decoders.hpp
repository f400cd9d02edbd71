// tokenizer.json decoders: ByteLevel, Metaspace, ByteFallback, Fuse, Strip,
// Replace, WordPiece, BPEDecoder and Sequence.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "text/hf_json_component.hpp"

namespace c2s {

class HfDecoder {
 public:
  virtual ~HfDecoder() = default;
  // Rewrites the token strings in place (Rust Decoder::decode_chain); the
  // decoded text is their concatenation.
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
};

// The decoder described by `json` (null gives nullptr).
std::unique_ptr<HfDecoder> parse_hf_decoder(const nlohmann::json& json, const std::string& where,
                                            const std::string& file);

}  // namespace c2s
