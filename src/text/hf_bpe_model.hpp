// The tokenizer.json BPE model: vocabulary, ranked merges and the word
// merging loop of the Rust library (unk fusing, byte fallback, subword
// prefix and end-of-word suffix, ignore_merges).
#pragma once
#include <memory>

#include "text/hf_model.hpp"

namespace c2s {

// Dropout is accepted (in [0, 1], as the library checks) but never applied:
// c2s encodes deterministically, as inference does.
std::unique_ptr<HfModel> parse_hf_bpe_model(const HfJsonComponent& model);

}  // namespace c2s
