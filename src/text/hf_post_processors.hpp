// tokenizer.json post-processors for a single sequence: TemplateProcessing,
// RobertaProcessing, BertProcessing, ByteLevel and Sequence.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "text/hf_json_component.hpp"
#include "text/tokenizer.hpp"

namespace c2s {

class HfPostProcessor {
 public:
  virtual ~HfPostProcessor() = default;
  // The ids of one encoded sequence, rewritten as the post-processor does
  // (special tokens only when add_special_tokens).
  virtual void process(std::vector<TokenId>& ids, bool add_special_tokens) const = 0;
};

// The post-processor described by `json` (null gives nullptr).
std::unique_ptr<HfPostProcessor> parse_hf_post_processor(const nlohmann::json& json, const std::string& where,
                                                         const std::string& file);

}  // namespace c2s
