// The tokenizer.json WordLevel model: each pre-tokenized word is one token,
// or the unk token.
#pragma once
#include <memory>

#include "text/hf_model.hpp"

namespace c2s {

std::unique_ptr<HfModel> parse_hf_word_level_model(const HfJsonComponent& model);

}  // namespace c2s
