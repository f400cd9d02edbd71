// The gene-level tokenizer for C2S models trained from scratch: a Hugging
// Face tokenizer.json (with tokenizer_config.json and special_tokens_map.json)
// in which every gene name is exactly one token, built from a store's genes,
// its label values and the prompt templates. Format: docs/formats/gene-tokenizer.md.
//
// Design. A WordLevel model (whole words -> ids, anything else <unk>) over a
// normalizer and a regex pre-tokenizer, rather than a BPE: a BPE can only
// promise one token per gene through merges that must never interfere, or
// through `ignore_merges`, which older readers lack; a word list states the
// property directly, and every id is a word of the data.
//   * A word carries the space before it, SentencePiece style ("▁CD3E"): a
//     cell sentence of n genes is n tokens, not 2n.
//   * Every gene has ONE token, wherever it stands: the normalizer puts a
//     space ("▁") at the start of the text and after every newline, tab,
//     carriage return and opening bracket that is followed by something but
//     a newline, and the decoder takes exactly those spaces out again. So "Cell 1:\nCD3E" holds the same
//     "▁CD3E" as "Genes: CD3E", without a second, rarely trained copy.
//   * Sentence punctuation [.,;:!?] and closing brackets are split off the
//     END of a word only ("B2M." -> "▁B2M" "."), so HLA-DRA, RP11-34P13.7,
//     MT-CO1 and CD14+ stay whole. A word made of digits only is split into
//     digits ("200" -> "▁2" "0" "0"), so any count in a prompt is covered.
//   * Newlines, tabs and every ASCII punctuation mark (bare and after a
//     space) are tokens, so any text made of known words, spaces, newlines
//     and punctuation decodes back exactly (decode(encode(t)) == t).
//   * Special tokens <pad>=0, <eos>=1, <bos>=2, <unk>=3: Gemma's order, so
//     the ids are the same as in the Gemma-2 SentencePiece vocabulary. With
//     add_special_tokens the post-processor puts <bos> first; no <eos>:
//     training appends <eos> to responses itself, and a prompt must not end
//     in one.
// Every component (Replace/Prepend normalizers, Split pre-tokenizer,
// WordLevel, TemplateProcessing, Replace/Fuse/Strip decoders) exists in the
// Rust `tokenizers` library; tests/text/fixtures/gene_tokenizer holds its
// output on a tokenizer built here.
#pragma once
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "text/prompt_template.hpp"

namespace c2s {

struct GeneTokenizerInputs {
  std::vector<std::string> genes;   // each becomes one token (an Error if it cannot)
  std::vector<std::string> labels;  // label values (cell types, tissues...): their words
  // Prompt templates: the words of their literal text.
  std::vector<PromptTemplate> templates;
  std::size_t label_values = 0;  // how many of `labels` came from label columns
};

struct GeneTokenizerSummary {
  std::size_t vocab_size = 0;
  std::size_t genes = 0;           // distinct gene tokens
  std::size_t label_words = 0;     // tokens first seen in labels
  std::size_t template_words = 0;  // tokens first seen in templates
};

class SentenceStore;

// The inputs for a store: its genes; the values of `label_columns` (empty:
// every non-numeric obs column but `split`; an Error naming the store for an
// unknown one); the organisms and the multi-cell joiner's "Cell 1:"; the
// built-in templates of every task and those of `prompt_files`.
// `columns_used` (optional) receives the label columns taken.
GeneTokenizerInputs gene_tokenizer_inputs(const SentenceStore& store, const std::vector<std::string>& label_columns,
                                          const std::vector<std::string>& organisms,
                                          const std::vector<std::string>& prompt_files,
                                          std::vector<std::string>* columns_used = nullptr);

// Writes tokenizer.json, tokenizer_config.json and special_tokens_map.json
// into `folder`, which is created, or replaced as a whole, atomically.
// Ids: the four special tokens, fixed tokens (newline, tab, space, ASCII
// punctuation, digits), the genes in the given order, then label and
// template words in order of first appearance: the same inputs always give
// the same files, byte for byte.
GeneTokenizerSummary write_gene_tokenizer(const GeneTokenizerInputs& inputs, const std::filesystem::path& folder);

// The words a gene tokenizer splits `text` into (its normalizer and
// pre-tokenizer, computed as the `tokenizers` library does): each word is one
// token if it is in the vocabulary, else <unk>.
std::vector<std::string> gene_tokenizer_words(std::string_view text);

}  // namespace c2s
