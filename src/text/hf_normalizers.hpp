// tokenizer.json normalizers: NFC/NFD/NFKC/NFKD, Lowercase, Strip,
// StripAccents, Prepend, Replace, ByteLevel and Sequence.
#pragma once
#include <memory>
#include <string>

#include "text/hf_json_component.hpp"

namespace c2s {

class HfNormalizer {
 public:
  virtual ~HfNormalizer() = default;
  // Rewrites `text` (valid UTF-8) in place. Returns true when it deleted the
  // first character, so that the result no longer starts where the input
  // did (Metaspace's prepend_scheme "first" asks about that).
  virtual bool normalize(std::string& text) const = 0;
};

// The normalizer described by `json` (null gives nullptr).
std::unique_ptr<HfNormalizer> parse_hf_normalizer(const nlohmann::json& json, const std::string& where,
                                                  const std::string& file);

}  // namespace c2s
