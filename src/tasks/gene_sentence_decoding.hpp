// Constrained decoding of cell sentences: at each generation step, the
// tokens a model may write so that its answer is a sentence of vocabulary
// genes, each at most once, closed by the text its response template puts
// after the genes (e.g. ".") and EOS — or several such sentences with fixed
// text between them (a group of cells) — and the genes of what it wrote.
// Works for the gene-level tokenizer (one token per gene) and for subword
// tokenizers (a gene is several tokens): every gene's token sequence, as it
// stands in a sentence, is a path in a prefix trie, so a partial gene can
// only continue into a real gene. Independent of the task: perturbation
// prediction uses it as cell generation does.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/generator.hpp"
#include "text/prompt_template.hpp"
#include "text/tokenizer.hpp"

namespace c2s {

// How a task decodes a cell sentence: constrained (only vocabulary genes,
// each at most once: GeneSentenceConstraint) or free (the model's text as
// generated, cleaned afterwards as the reference package does:
// data/reconstruction.hpp's SentenceParser).
enum class SentenceDecoding { Constrained, Free };

// The tokens that end a generated sentence: the tokenizer's EOS and the
// other end-of-generation tokens it names. An Error naming `task` when the
// tokenizer has no EOS.
std::vector<std::int64_t> sentence_end_ids(const Tokenizer& tokenizer, const std::string& task);

// The vocabulary indices whose `known` flag (one per vocabulary gene, from
// check_store_genes) is 0: genes the model was not trained on, never to be
// written. An Error naming `task` when the flags do not match the vocabulary.
std::vector<std::uint32_t> unknown_genes(const std::vector<std::uint8_t>& known, std::size_t vocabulary,
                                         const std::string& task);

// The names a GeneSentenceConstraint is built over: `vocabulary` with the
// genes of `not_in_model` blanked, so that no token paths are built for
// genes that are never to be written (blanks are not counted among its
// genes_left_out()).
std::vector<std::string> constraint_genes(std::vector<std::string> vocabulary,
                                          const std::vector<std::uint32_t>& not_in_model);

// Where a cell sentence sits in a response: the text before its first gene
// and after its last gene (alternatives: one per response template), the
// genes separated by single spaces. A response may hold several sentences
// (the cells of {multi_cell_sentences}): `between` then holds the text
// between sentence k and k + 1, fixed, and `before` / `after` frame the
// first and the last sentence.
struct GeneSentenceFrame {
  std::vector<std::string> before{""};
  std::vector<std::string> after{"."};
  std::vector<std::string> between;  // empty: one sentence
  std::size_t sentences() const { return between.size() + 1; }
};

// The frame of every response template around `placeholder` (e.g.
// "cell_sentence"), the other placeholders filled from `values`;
// "{cell_sentence}." gives before "" and after ".".
GeneSentenceFrame gene_sentence_frame(const PromptTemplates& templates, const std::string& placeholder,
                                      PromptValues values = {});

// The frame of `cells` cell sentences joined as {multi_cell_sentences}
// (text/prompt_formatter.hpp) inside `response`, the frame of the
// placeholder in the response templates: "Cell 1:\n" after each `before`,
// ".\nCell k:\n" between cells, ".\n" before each `after`.
GeneSentenceFrame multi_cell_frame(const GeneSentenceFrame& response, std::size_t cells);

// What one prompt may write.
struct GeneLimits {
  std::int64_t max_genes = 0;            // at most this many genes a sentence (0: no limit but the vocabulary)
  std::vector<std::uint32_t> forbidden;  // vocabulary indices never written
  // The first this many sentences of the frame are written, the last
  // closed by the end text (0: all of them; more than the frame has is an
  // Error): one constraint serves groups of any size up to the frame's.
  std::size_t sentences = 0;
};

// The genes of generated tokens.
struct DecodedGenes {
  std::vector<std::uint32_t> genes;  // vocabulary indices, in the order written, each once a sentence
  // Sentence k holds genes[sentence_offsets[k], sentence_offsets[k + 1]);
  // the sentences begun (one for a single-sentence frame).
  std::vector<std::size_t> sentence_offsets{0};
  std::size_t sentences() const { return sentence_offsets.size() - 1; }
  bool closed = false;               // the sentence's end text and/or EOS was written
  // Index of the first token that fits no sentence (-1: none): never the
  // case for tokens generated under the constraint.
  std::int64_t invalid_at = -1;
};

class GeneSentenceConstraint {
 public:
  // `genes`: the vocabulary (gene names as they are written in sentences);
  // `end_ids`: the tokens that end generation (EOS), allowed only after the
  // frame's last sentence. A gene the tokenizer cannot write (unknown
  // token) or whose tokens are another gene's is left out and counted; a
  // blank name is never written and not counted (constraint_genes). An
  // Error when no gene can be written, or when the tokenizer joins a word
  // with the next one across a space or the text between sentences (then a
  // gene's tokens would depend on its neighbour).
  GeneSentenceConstraint(const Tokenizer& tokenizer, std::vector<std::string> genes, const GeneSentenceFrame& frame,
                         std::vector<std::int64_t> end_ids);

  const std::vector<std::string>& genes() const { return genes_; }
  std::size_t sentences() const { return separators_.size() + 1; }
  std::size_t genes_left_out() const { return left_out_; }
  // The longest token sequence of a gene, and of an end text: with the gene
  // limit, a bound on the new tokens a sentence needs.
  std::int64_t max_gene_tokens() const { return max_gene_tokens_; }
  std::int64_t max_end_tokens() const { return max_end_tokens_; }
  // The new tokens all of the frame's sentences need at most, `max_genes` each.
  std::int64_t token_budget(std::int64_t max_genes) const;

  // The generator's mask: prompt i is held to limits[i], or to limits[0]
  // when one entry is given for all prompts.
  AllowedTokens allowed_tokens(std::vector<GeneLimits> limits) const;
  // The same for one prompt: sets `allowed` (one flag per vocabulary id) to
  // the tokens that may follow `generated`.
  void allow_next(std::span<const std::int64_t> generated, const GeneLimits& limits,
                  std::span<std::uint8_t> allowed) const;

  // The genes of `generated` (under `limits`, as the mask read them). A gene
  // cut short by the token limit is dropped; a row cut right after a whole
  // gene keeps it.
  DecodedGenes decode(std::span<const std::int64_t> generated, const GeneLimits& limits = {}) const;

 private:
  struct Node {
    std::int32_t parent = -1;
    std::int64_t token = -1;   // the token leading here from the parent
    std::int32_t gene = -1;    // the gene whose tokens end here
    bool end = false;          // an end text's tokens end here
    // A gene ends here whose last tokens merge with an end text (e.g. a
    // gene ending in '+' before '.'): after it, EOS but no end text, so the
    // tokens stay those of the sentence's own text.
    bool end_merges = false;
    std::int32_t genes = 0;    // gene ends in this subtree
  };
  struct Blocked;  // genes not to be written (forbidden, or written already), counted per node
  struct State;    // where a walk through generated tokens stands

  std::int32_t add_path(std::int32_t root, std::span<const TokenId> path);
  std::int32_t child(std::int32_t node, std::int64_t token) const;
  bool is_end_id(std::int64_t token) const;
  void block(std::uint32_t gene, Blocked& blocked) const;
  Blocked forbidden_of(const GeneLimits& limits) const;  // (checks limits.sentences too)
  std::size_t sentences_of(const GeneLimits& limits) const {
    return limits.sentences == 0 ? sentences() : limits.sentences;
  }
  // Whether some gene below `node` may still be written.
  bool usable(std::int32_t node, const Blocked& forbidden, const Blocked& written) const;
  static void next_sentence(State& state);
  bool step(std::int64_t token, const GeneLimits& limits, const Blocked& forbidden, State& state) const;
  State walk(std::span<const std::int64_t> generated, const GeneLimits& limits, const Blocked& forbidden) const;
  void allow(const State& state, const GeneLimits& limits, const Blocked& forbidden,
             std::span<std::uint8_t> allowed) const;
  // Allows the children of `node`; with `blocked` given, only those below
  // which some gene is blocked by none of them.
  void allow_children(std::int32_t node, std::initializer_list<const Blocked*> blocked,
                      std::span<std::uint8_t> allowed) const;

  std::vector<std::string> genes_;
  std::vector<std::int64_t> end_ids_;
  std::vector<Node> nodes_;
  std::unordered_map<std::uint64_t, std::int32_t> edges_;  // (node, token) -> child
  std::vector<std::int64_t> child_offsets_;               // children of node i: children_[offsets[i], offsets[i+1])
  std::vector<std::int32_t> children_;
  std::vector<std::vector<std::int32_t>> gene_ends_;       // per gene, the nodes its paths end at
  std::vector<std::vector<std::int64_t>> separators_;      // per `between` text, its tokens after a gene
  std::size_t left_out_ = 0;
  std::int64_t max_gene_tokens_ = 0, max_end_tokens_ = 0;
  // The roots: the first gene of the first sentence, a gene after another,
  // an end text, the first gene of a later sentence.
  static constexpr std::int32_t kFirst = 0, kInner = 1, kEnd = 2, kNext = 3, kRoots = 4;
};

}  // namespace c2s
