// The gene-sentence constraint with the gene-level tokenizer (one token per
// gene), the GPT-NeoX BPE tokenizer of the released C2S-Pythia models and
// Gemma's SentencePiece (a gene is several tokens): what each step allows,
// random walks through the allowed tokens (every one a sentence of distinct
// vocabulary genes, tokenized as the sentence's own text is), decoding, the
// limits, and generation by a real model under the mask.
#include "tasks/gene_sentence_decoding.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/error.hpp"
#include "core/random.hpp"
#include "model/golden_models.hpp"
#include "text/builtin_prompts.hpp"
#include "text/gene_tokenizer.hpp"
#include "text/prompt_formatter.hpp"
#include "text/tokenizer.hpp"
#include "test_support.hpp"

namespace c2s {
namespace {

using namespace testing_support;
using Ids = std::vector<std::int64_t>;

// Names that stress a subword tokenizer: prefixes of each other, dashes,
// dots, a plus, digits.
const std::vector<std::string> kGenes = {"CD3E",   "CD3",    "CD3D",   "HLA-DRA", "HLA-DRB1", "B2M",   "MS4A1",
                                         "LYZ",    "RP11-34P13.7", "CD14+", "MT-CO1",   "GNLY",  "NKG7",
                                         "S100A8", "S100A9", "IL7R",   "FCGR3A",  "CCL5",     "MALAT1"};

std::unique_ptr<Tokenizer> gene_tokenizer(const ScratchDir& dir, std::vector<std::string> genes = kGenes) {
  GeneTokenizerInputs in;
  in.genes = std::move(genes);
  in.labels = {"Cell 1:"};  // the words of the multi-cell joiner, as c2s tokenizer build adds them
  in.templates.emplace_back("Genes: {cell_sentence}.", "test template");
  write_gene_tokenizer(in, dir.path() / "tok");
  return load_tokenizer(dir.path() / "tok");
}

std::unique_ptr<Tokenizer> neox_tokenizer() { return load_tokenizer(golden_model_dir("neox-tiny")); }

Ids ids_of(const Tokenizer& t, const std::string& text) {
  const auto ids = t.encode(text, false);
  return Ids(ids.begin(), ids.end());
}

std::string text_of(const Tokenizer& t, const Ids& ids) {
  return t.decode(std::vector<TokenId>(ids.begin(), ids.end()), true);
}

std::set<std::int64_t> allowed_after(const GeneSentenceConstraint& c, const Tokenizer& t, const Ids& generated,
                                     const GeneLimits& limits = {}) {
  std::vector<std::uint8_t> mask(t.vocab_size(), 1);
  c.allow_next(generated, limits, mask);
  std::set<std::int64_t> out;
  for (std::size_t i = 0; i < mask.size(); ++i)
    if (mask[i]) out.insert(std::int64_t(i));
  return out;
}

std::int64_t eos_of(const Tokenizer& t) { return *t.special_ids().eos; }

Ids cat(Ids a, const Ids& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Tokens drawn at random among those allowed, until EOS or `limit` tokens.
Ids random_walk(const GeneSentenceConstraint& c, const Tokenizer& t, const GeneLimits& limits, std::uint64_t seed,
                std::size_t limit = 200) {
  Rng rng(seed);
  Ids out;
  std::vector<std::uint8_t> mask(t.vocab_size());
  while (out.size() < limit) {
    std::fill(mask.begin(), mask.end(), 1);
    c.allow_next(out, limits, mask);
    Ids options;
    for (std::size_t i = 0; i < mask.size(); ++i)
      if (mask[i]) options.push_back(std::int64_t(i));
    if (options.empty()) {
      ADD_FAILURE() << "no token allowed after " << out.size() << " tokens";
      break;
    }
    out.push_back(options[rng.below(options.size())]);
    if (out.back() == eos_of(t)) break;
  }
  return out;
}

// A finished walk is a sentence of distinct, allowed genes within the
// limit, tokenized exactly as its own text is.
void check_walk(const GeneSentenceConstraint& c, const Tokenizer& t, const Ids& walk, const GeneLimits& limits,
                const std::string& before = "") {
  ASSERT_FALSE(walk.empty());
  ASSERT_EQ(walk.back(), eos_of(t));
  const DecodedGenes d = c.decode(walk, limits);
  EXPECT_EQ(d.invalid_at, -1);
  EXPECT_TRUE(d.closed);
  ASSERT_FALSE(d.genes.empty());
  EXPECT_EQ(std::set<std::uint32_t>(d.genes.begin(), d.genes.end()).size(), d.genes.size());
  if (limits.max_genes > 0) EXPECT_LE(std::int64_t(d.genes.size()), limits.max_genes);
  for (auto g : d.genes)
    EXPECT_EQ(std::count(limits.forbidden.begin(), limits.forbidden.end(), g), 0) << c.genes()[g];
  std::string sentence = before;
  for (std::size_t i = 0; i < d.genes.size(); ++i) sentence += (i ? " " : "") + c.genes()[d.genes[i]];
  const Ids body(walk.begin(), walk.end() - 1);
  const std::string text = text_of(t, body);
  EXPECT_TRUE(text == sentence || text == sentence + ".") << text << " | " << sentence;
  EXPECT_EQ(ids_of(t, text), body) << text;
}

TEST(GeneSentenceFrame, TheTextAroundTheSentenceInEachResponseTemplate) {
  const GeneSentenceFrame builtin = gene_sentence_frame(builtin_prompts(PromptTask::CellTypeGeneration), "cell_sentence");
  EXPECT_EQ(builtin.before, std::vector<std::string>{""});
  EXPECT_EQ(builtin.after, std::vector<std::string>{"."});
  PromptTemplates t;
  t.origin = "test";
  t.response = {PromptTemplate("Genes: {cell_sentence}", "r0"), PromptTemplate("{cell_sentence}.", "r1"),
                PromptTemplate("{organism} {{cell}}: {cell_sentence}.", "r2")};
  const GeneSentenceFrame f = gene_sentence_frame(t, "cell_sentence", {{"organism", "Mouse"}});
  EXPECT_EQ(f.before, (std::vector<std::string>{"Genes: ", "", "Mouse {cell}: "}));
  EXPECT_EQ(f.after, (std::vector<std::string>{"", "."}));
  expect_error([&] { gene_sentence_frame(t, "perturbed_cell_sentence"); }, "no response template");
}

TEST(GeneSentenceConstraint, GeneTokenizerOneTokenPerGeneEachOnceThenTheEnd) {
  ScratchDir dir;
  const auto tok = gene_tokenizer(dir);
  const std::int64_t eos = eos_of(*tok), period = *tok->token_to_id(".");
  const GeneSentenceConstraint c(*tok, kGenes, {}, {eos});
  EXPECT_EQ(c.max_gene_tokens(), 1);
  EXPECT_EQ(c.max_end_tokens(), 1);
  EXPECT_EQ(c.genes_left_out(), 0u);
  std::set<std::int64_t> gene_tokens;
  for (const auto& g : kGenes) gene_tokens.insert(*tok->token_to_id("\xe2\x96\x81" + g));
  // First: any gene, nothing else (no empty sentence, no stray word).
  EXPECT_EQ(allowed_after(c, *tok, {}), gene_tokens);
  // After CD3E: any other gene, the period or EOS.
  const Ids cd3e = ids_of(*tok, "CD3E");
  std::set<std::int64_t> next = gene_tokens;
  next.erase(cd3e[0]);
  next.insert({period, eos});
  EXPECT_EQ(allowed_after(c, *tok, cd3e), next);
  // After the period: EOS only.
  EXPECT_EQ(allowed_after(c, *tok, ids_of(*tok, "CD3E B2M.")), std::set<std::int64_t>{eos});
  // The gene limit: two genes written, only the end.
  EXPECT_EQ(allowed_after(c, *tok, ids_of(*tok, "CD3E B2M"), {.max_genes = 2}), (std::set<std::int64_t>{period, eos}));
  // Forbidden genes are never allowed.
  const std::uint32_t lyz = 7;
  ASSERT_EQ(kGenes[lyz], "LYZ");
  EXPECT_EQ(allowed_after(c, *tok, {}, {.forbidden = {lyz}}).count(ids_of(*tok, "LYZ")[0]), 0u);
  for (std::uint64_t seed = 0; seed < 30; ++seed) {
    const GeneLimits limits{.max_genes = 6, .forbidden = {lyz, 0}};
    check_walk(c, *tok, random_walk(c, *tok, limits, seed), limits);
  }
}

TEST(GeneSentenceConstraint, DecodeReadsTheGenesAndStopsAtWhatFitsNoSentence) {
  ScratchDir dir;
  const auto tok = gene_tokenizer(dir);
  const std::int64_t eos = eos_of(*tok);
  const GeneSentenceConstraint c(*tok, kGenes, {}, {eos});
  Ids ids = ids_of(*tok, "LYZ CD3E B2M.");
  ids.push_back(eos);
  DecodedGenes d = c.decode(ids);
  EXPECT_EQ(d.genes, (std::vector<std::uint32_t>{7, 0, 5}));
  EXPECT_TRUE(d.closed);
  EXPECT_EQ(d.invalid_at, -1);
  // Cut short right after a whole gene: kept, not closed.
  d = c.decode(ids_of(*tok, "LYZ CD3E"));
  EXPECT_EQ(d.genes, (std::vector<std::uint32_t>{7, 0}));
  EXPECT_FALSE(d.closed);
  // A repeated gene and a word that is no gene fit no sentence.
  EXPECT_EQ(c.decode(ids_of(*tok, "LYZ CD3E LYZ")).invalid_at, 2);
  EXPECT_EQ(c.decode(ids_of(*tok, "LYZ Genes")).invalid_at, 1);
  EXPECT_EQ(c.decode(ids_of(*tok, "LYZ CD3E B2M"), {.max_genes = 2}).invalid_at, 2);
  EXPECT_EQ(c.decode(ids_of(*tok, "LYZ"), {.forbidden = {7}}).invalid_at, 0);
}

TEST(GeneSentenceConstraint, GenesTheTokenizerCannotWriteAreLeftOut) {
  ScratchDir dir;
  const auto tok = gene_tokenizer(dir);
  std::vector<std::string> genes = kGenes;
  genes.push_back("NOTAGENE");  // not in the gene tokenizer: <unk>
  genes.push_back("TWO WORDS");
  genes.push_back("");  // a blank (constraint_genes: a gene the model lacks): never written, not counted
  const GeneSentenceConstraint c(*tok, genes, {}, {eos_of(*tok)});
  EXPECT_EQ(c.genes_left_out(), 2u);
  EXPECT_EQ(allowed_after(c, *tok, {}).count(*tok->special_ids().unk), 0u);
  expect_error([&] { GeneSentenceConstraint(*tok, {"NOPE", "NADA"}, {}, {eos_of(*tok)}); }, "none of the 2 genes");
  // Every gene forbidden: the sentence can only be empty.
  GeneLimits all;
  for (std::uint32_t g = 0; g < kGenes.size(); ++g) all.forbidden.push_back(g);
  EXPECT_EQ(allowed_after(c, *tok, {}, all), std::set<std::int64_t>{eos_of(*tok)});
}

TEST(GeneSentenceConstraint, BpeGenesAreTriePathsAndPartialGenesOnlyContinueIntoGenes) {
  const auto tok = neox_tokenizer();
  const std::int64_t eos = eos_of(*tok);
  const GeneSentenceConstraint c(*tok, kGenes, {}, {eos});
  EXPECT_EQ(c.genes_left_out(), 0u);
  EXPECT_GT(c.max_gene_tokens(), 2);  // e.g. RP11-34P13.7
  // First tokens: those of the genes written first (no space before them).
  std::set<std::int64_t> firsts;
  for (const auto& g : kGenes) firsts.insert(ids_of(*tok, g)[0]);
  EXPECT_EQ(allowed_after(c, *tok, {}), firsts);
  // Inside a gene: only the tokens that lead on to a gene.
  const Ids hla = ids_of(*tok, "B2M HLA-DRA"), hla_b = ids_of(*tok, "B2M HLA-DRB1");
  std::size_t shared = 0;
  while (shared < hla.size() && shared < hla_b.size() && hla[shared] == hla_b[shared]) ++shared;
  ASSERT_GT(shared, ids_of(*tok, "B2M").size());  // " HLA-DR..." shares a head
  ASSERT_LT(shared, std::min(hla.size(), hla_b.size()));
  EXPECT_EQ(allowed_after(c, *tok, Ids(hla.begin(), hla.begin() + std::ptrdiff_t(shared))),
            (std::set<std::int64_t>{hla[shared], hla_b[shared]}));
  // CD3 is a whole gene and the head of CD3E and CD3D: after it, a
  // continuation, another gene or the end; with CD3E and CD3D forbidden,
  // no continuation.
  const Ids cd3 = ids_of(*tok, "B2M CD3"), cd3e = ids_of(*tok, "B2M CD3E");
  ASSERT_TRUE(std::equal(cd3.begin(), cd3.end(), cd3e.begin()));
  ASSERT_EQ(cd3e.size(), cd3.size() + 1);
  const std::int64_t e_token = cd3e.back(), period = ids_of(*tok, "B2M.").back();
  const auto open = allowed_after(c, *tok, cd3);
  EXPECT_TRUE(open.count(e_token) && open.count(period) && open.count(eos));
  EXPECT_TRUE(open.count(ids_of(*tok, "B2M LYZ")[ids_of(*tok, "B2M").size()]));
  // CD14+ before '.' is not the tokens of "CD14+" then those of '.' ('+.'
  // is one token): after it, EOS but no period.
  const Ids cd14 = ids_of(*tok, "B2M CD14+");
  ASSERT_NE(ids_of(*tok, "B2M CD14+."), cat(cd14, {period}));
  const auto after_cd14 = allowed_after(c, *tok, cd14);
  EXPECT_FALSE(after_cd14.count(period));
  EXPECT_TRUE(after_cd14.count(eos));
  const auto closed = allowed_after(c, *tok, cd3, {.forbidden = {0, 2}});
  EXPECT_FALSE(closed.count(e_token));
  EXPECT_TRUE(closed.count(period));
  // Once CD3E is written, CD3D can still follow CD3, CD3E cannot.
  const Ids again = ids_of(*tok, "CD3E B2M CD3");
  const Ids cd3d = ids_of(*tok, "CD3E B2M CD3D");
  const auto after = allowed_after(c, *tok, again);
  EXPECT_FALSE(after.count(e_token));
  EXPECT_TRUE(after.count(cd3d.back()));
  for (std::uint64_t seed = 0; seed < 40; ++seed) {
    const GeneLimits limits{.max_genes = 8, .forbidden = {5}};
    check_walk(c, *tok, random_walk(c, *tok, limits, seed), limits);
  }
  // Decoding: a gene cut short is dropped.
  const Ids cut(hla.begin(), hla.begin() + std::ptrdiff_t(shared));
  const DecodedGenes d = c.decode(cut);
  EXPECT_EQ(d.genes, std::vector<std::uint32_t>{5});
  EXPECT_EQ(d.invalid_at, -1);
}

TEST(GeneSentenceConstraint, TextBeforeTheGenesIsPartOfTheFirstGenesPath) {
  const auto tok = neox_tokenizer();
  const GeneSentenceConstraint c(*tok, kGenes, {.before = {"Genes: "}, .after = {"."}}, {eos_of(*tok)});
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    const GeneLimits limits{.max_genes = 4};
    check_walk(c, *tok, random_walk(c, *tok, limits, seed), limits, "Genes: ");
  }
}

TEST(GeneSentenceConstraint, SentencePieceGenes) {
  const auto tok = load_tokenizer(golden_model_dir("gemma2-tiny"));
  const GeneSentenceConstraint c(*tok, kGenes, {}, {eos_of(*tok)});
  EXPECT_GT(c.max_gene_tokens(), 1);
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    const GeneLimits limits{.max_genes = 5};
    check_walk(c, *tok, random_walk(c, *tok, limits, seed), limits);
  }
}

TEST(GeneSentenceFrame, MultiCellFrameHoldsTheCellsHeadersBetweenSentences) {
  const GeneSentenceFrame response =
      gene_sentence_frame(builtin_prompts(PromptTask::TissueConditionalGeneration), "multi_cell_sentences");
  const GeneSentenceFrame f = multi_cell_frame(response, 3);
  EXPECT_EQ(f.before, std::vector<std::string>{"Cell 1:\n"});
  EXPECT_EQ(f.between, (std::vector<std::string>{".\nCell 2:\n", ".\nCell 3:\n"}));
  EXPECT_EQ(f.after, std::vector<std::string>{".\n"});
  EXPECT_EQ(f.sentences(), 3u);
  EXPECT_EQ(multi_cell_frame({.before = {"A: "}, .after = {"."}}, 1).after, std::vector<std::string>{".\n."});
  EXPECT_THROW(multi_cell_frame(response, 0), UsageError);
}

// Random walks through a frame of several sentences: every finished walk is
// the cells joined as {multi_cell_sentences} writes them (each cell's genes
// distinct, a gene free to recur in another cell), tokenized as that text
// is; EOS only after the last cell.
void check_multi_cell_walks(const Tokenizer& tok, std::size_t cells, std::uint64_t seeds) {
  const GeneSentenceConstraint c(tok, kGenes, multi_cell_frame({.before = {""}, .after = {""}}, cells),
                                 {eos_of(tok)});
  EXPECT_EQ(c.sentences(), cells);
  const GeneLimits limits{.max_genes = 4, .forbidden = {5}};
  EXPECT_GE(c.token_budget(4), std::int64_t(cells) * 4);
  std::size_t recurring = 0;
  for (std::uint64_t seed = 0; seed < seeds; ++seed) {
    const Ids walk = random_walk(c, tok, limits, seed, 400);
    ASSERT_EQ(walk.back(), eos_of(tok));
    const DecodedGenes d = c.decode(walk, limits);
    EXPECT_EQ(d.invalid_at, -1);
    EXPECT_TRUE(d.closed);
    ASSERT_EQ(d.sentences(), cells);
    std::vector<std::string> sentences;
    std::set<std::uint32_t> seen;
    for (std::size_t k = 0; k < cells; ++k) {
      const std::vector<std::uint32_t> genes(d.genes.begin() + std::ptrdiff_t(d.sentence_offsets[k]),
                                             d.genes.begin() + std::ptrdiff_t(d.sentence_offsets[k + 1]));
      ASSERT_FALSE(genes.empty());
      EXPECT_LE(genes.size(), 4u);
      EXPECT_EQ(std::set<std::uint32_t>(genes.begin(), genes.end()).size(), genes.size());
      EXPECT_EQ(std::count(genes.begin(), genes.end(), 5u), 0);
      std::string s;
      for (auto g : genes) {
        s += (s.empty() ? "" : " ") + c.genes()[g];
        recurring += seen.insert(g).second ? 0 : 1;
      }
      sentences.push_back(s);
    }
    const Ids body(walk.begin(), walk.end() - 1);
    const std::string text = text_of(tok, body);
    // The last cell closed by its ".\n", or EOS right after its last gene.
    const std::string joined = join_multi_cell_sentences(sentences);
    EXPECT_TRUE(text == joined || text + std::string(kMultiCellEnd) == joined) << text;
    // Tokenized as the text is, but for a cell ending in a gene whose last
    // token merges with the header that follows (BPE: "CD14+" then ".\n":
    // "+."), which keeps the gene's own tokens.
    if (text.find("+.\n") == std::string::npos) EXPECT_EQ(ids_of(tok, text), body) << text;
  }
  EXPECT_GT(recurring, 0u);  // genes recur across cells
  // No EOS before the last cell: after the first cell's first gene, the
  // next cell's header may follow, EOS may not.
  const Ids head = ids_of(tok, "Cell 1:\nLYZ");
  const auto after = allowed_after(c, tok, head, limits);
  EXPECT_FALSE(after.count(eos_of(tok)));
  EXPECT_TRUE(after.count(ids_of(tok, "Cell 1:\nLYZ.\nCell 2:")[head.size()]));
}

TEST(GeneSentenceConstraint, SeveralCellsGeneTokenizer) {
  ScratchDir dir;
  const auto tok = gene_tokenizer(dir);
  check_multi_cell_walks(*tok, 3, 30);
  // A prompt's limits may ask for fewer cells than the frame holds: then its
  // last cell is closed by the end text; more is an Error.
  const GeneSentenceConstraint c(*tok, kGenes, multi_cell_frame({.before = {""}, .after = {""}}, 4), {eos_of(*tok)});
  for (std::size_t cells : {1u, 2u, 4u})
    for (std::uint64_t seed = 0; seed < 5; ++seed) {
      const GeneLimits limits{.max_genes = 3, .sentences = cells};
      const Ids walk = random_walk(c, *tok, limits, seed, 400);
      ASSERT_EQ(walk.back(), eos_of(*tok));
      const DecodedGenes d = c.decode(walk, limits);
      EXPECT_EQ(d.invalid_at, -1);
      EXPECT_TRUE(d.closed);
      EXPECT_EQ(d.sentences(), cells);
    }
  expect_error([&] { c.decode({}, GeneLimits{.sentences = 5}); }, "5 sentences asked of a frame of 4");
}

TEST(GeneSentenceConstraint, SeveralCellsBpe) { check_multi_cell_walks(*neox_tokenizer(), 4, 30); }

TEST(GeneSentenceConstraint, SeveralCellsSentencePiece) {
  check_multi_cell_walks(*load_tokenizer(golden_model_dir("gemma2-tiny")), 2, 15);
}

// A real (random-weight) model sampling under the mask: every answer is a
// sentence of distinct genes.
TEST(GeneSentenceConstraint, GenerationUnderTheMask) {
  const auto tok = neox_tokenizer();
  const auto model = load_causal_lm(golden_model_dir("neox-tiny"), ComputeOptions{at::kFloat, c10::Device(c10::kCPU)});
  const std::int64_t eos = eos_of(*tok);
  const GeneSentenceConstraint c(*tok, kGenes, {}, {eos});
  std::vector<Ids> prompts;
  for (const char* p : {"Cell type: B cell. Genes:", "Cell type: T cell. Genes:", "Cell type: NK cell. Genes:"})
    prompts.push_back(ids_of(*tok, p));
  GenerationOptions options;
  options.max_new_tokens = c.token_budget(6);
  options.eos_ids = {eos};
  options.batch_size = 2;
  options.sampling = {.do_sample = true, .top_k = 50, .seed = 3};
  // Prompt 1 may not write B2M; the others share no limit but the count.
  std::vector<GeneLimits> limits(prompts.size(), GeneLimits{.max_genes = 6});
  limits[1].forbidden = {5};
  Generator generator(*model);
  const auto results = generator.generate(prompts, options, c.allowed_tokens(limits));
  for (std::size_t i = 0; i < results.size(); ++i) {
    const DecodedGenes d = c.decode(results[i].tokens, limits[i]);
    EXPECT_EQ(d.invalid_at, -1);
    EXPECT_LE(d.genes.size(), 6u);
    EXPECT_EQ(std::set<std::uint32_t>(d.genes.begin(), d.genes.end()).size(), d.genes.size());
    if (i == 1) EXPECT_EQ(std::count(d.genes.begin(), d.genes.end(), 5u), 0);
    if (results[i].finish_reason == "eos") check_walk(c, *tok, results[i].tokens, limits[i]);
  }
  // The mask needs limits for every prompt, or one entry for all.
  const std::vector<GeneLimits> two(2);
  expect_error([&] { generator.generate(prompts, options, c.allowed_tokens(two)); }, "no limits for prompt 2");
}

}  // namespace
}  // namespace c2s
