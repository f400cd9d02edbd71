// The tokenizer.json Unigram model (SentencePiece unigram): the best-scoring
// segmentation of a word by Viterbi over a trie of the vocabulary, with
// unknown characters fused into one unk and optional byte fallback.
#pragma once
#include <memory>

#include "text/hf_model.hpp"

namespace c2s {

std::unique_ptr<HfModel> parse_hf_unigram_model(const HfJsonComponent& model);

}  // namespace c2s
