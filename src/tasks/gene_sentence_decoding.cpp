#include "tasks/gene_sentence_decoding.hpp"

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <tuple>
#include <unordered_set>

#include "core/error.hpp"
#include "text/prompt_formatter.hpp"

namespace c2s {

namespace {

// Stands for the sentence while a response template is formatted around it.
constexpr char kSentenceMark = '\x1f';

bool starts_with(std::span<const TokenId> ids, std::span<const TokenId> head) {
  return ids.size() >= head.size() && std::equal(head.begin(), head.end(), ids.begin());
}

}  // namespace

GeneSentenceFrame gene_sentence_frame(const PromptTemplates& templates, const std::string& placeholder,
                                      PromptValues values) {
  values[placeholder] = std::string(1, kSentenceMark);
  GeneSentenceFrame frame;
  frame.before.clear();
  frame.after.clear();
  for (const auto& t : templates.response) {
    if (!t.uses(placeholder)) continue;
    const std::string text = t.format(values);
    const std::size_t at = text.find(kSentenceMark);
    const std::string before = text.substr(0, at), after = text.substr(at + 1);
    if (std::find(frame.before.begin(), frame.before.end(), before) == frame.before.end()) frame.before.push_back(before);
    if (std::find(frame.after.begin(), frame.after.end(), after) == frame.after.end()) frame.after.push_back(after);
  }
  if (frame.before.empty())
    throw Error(templates.origin, "no response template holds {" + placeholder + "}: no sentence to constrain");
  return frame;
}

GeneSentenceFrame multi_cell_frame(const GeneSentenceFrame& response, std::size_t cells) {
  if (cells < 1) throw UsageError("a group of cells needs one cell or more");
  if (!response.between.empty()) throw Error("multi-cell frame", "the response frame already holds several sentences");
  GeneSentenceFrame frame{.before = {}, .after = {}};
  for (const auto& b : response.before) frame.before.push_back(b + multi_cell_header(1));
  for (const auto& a : response.after) frame.after.push_back(std::string(kMultiCellEnd) + a);
  for (std::size_t k = 2; k <= cells; ++k) frame.between.push_back(std::string(kMultiCellEnd) + multi_cell_header(k));
  return frame;
}

struct GeneSentenceConstraint::Blocked {
  std::unordered_map<std::int32_t, std::int32_t> nodes;  // node -> blocked gene ends below it
  std::unordered_set<std::uint32_t> genes;
  std::int32_t at(std::int32_t node) const {
    if (nodes.empty()) return 0;
    auto it = nodes.find(node);
    return it == nodes.end() ? 0 : it->second;
  }
};

struct GeneSentenceConstraint::State {
  enum class Phase { Gene, Separator, End, Closed } phase = Phase::Gene;
  std::int32_t node = kFirst;
  std::vector<std::uint32_t> genes;
  std::vector<std::size_t> starts{0};  // where each sentence begun starts in genes
  std::size_t separator_at = 0;        // Separator: tokens of it written
  Blocked written;                     // in the current sentence
  std::int64_t invalid_at = -1;
  std::size_t sentence() const { return starts.size() - 1; }
  std::int64_t in_sentence() const { return std::int64_t(genes.size() - starts.back()); }
};

std::vector<std::int64_t> sentence_end_ids(const Tokenizer& tokenizer, const std::string& task) {
  const auto& special = tokenizer.special_ids();
  if (!special.eos) throw Error(task, "the tokenizer has no end-of-sequence token");
  std::vector<std::int64_t> ids = {*special.eos};
  for (TokenId id : special.generation_eos)
    if (id != *special.eos) ids.push_back(id);
  return ids;
}

std::vector<std::uint32_t> unknown_genes(const std::vector<std::uint8_t>& known, std::size_t vocabulary,
                                         const std::string& task) {
  if (known.size() != vocabulary) throw Error(task, "one known-gene flag per vocabulary gene is needed");
  std::vector<std::uint32_t> out;
  for (std::size_t g = 0; g < known.size(); ++g)
    if (!known[g]) out.push_back(std::uint32_t(g));
  return out;
}

std::vector<std::string> constraint_genes(std::vector<std::string> vocabulary,
                                          const std::vector<std::uint32_t>& not_in_model) {
  for (std::uint32_t g : not_in_model) vocabulary.at(g).clear();
  return vocabulary;
}

GeneSentenceConstraint::GeneSentenceConstraint(const Tokenizer& tokenizer, std::vector<std::string> genes,
                                               const GeneSentenceFrame& frame, std::vector<std::int64_t> end_ids)
    : genes_(std::move(genes)), end_ids_(std::move(end_ids)), nodes_(kRoots), gene_ends_(genes_.size()) {
  const std::optional<TokenId> unk = tokenizer.special_ids().unk;
  auto writable = [&](std::span<const TokenId> path) {
    return !path.empty() && (!unk || std::find(path.begin(), path.end(), *unk) == path.end());
  };
  // The tokens that follow a word: a word's encoding, then the text's, less
  // the word's (checked to be its head: the tokenizer splits at the space).
  auto after_word = [&](const std::string& word, const std::string& text) {
    const auto head = tokenizer.encode(word, false);
    const auto both = tokenizer.encode(word + text, false);
    if (!starts_with(both, head))
      throw Error("gene sentence constraint", "the tokenizer writes '" + word + "' differently when '" + text +
                                                  "' follows it: gene tokens would depend on their neighbours");
    return std::vector<TokenId>(both.begin() + std::ptrdiff_t(head.size()), both.end());
  };

  if (genes_.empty()) throw Error("gene sentence constraint", "no genes");
  std::string anchor = genes_.front();
  for (const auto& g : genes_)
    if (!g.empty() && std::isalnum(static_cast<unsigned char>(g.back()))) {
      anchor = g;
      break;
    }
  std::vector<std::pair<std::string, std::vector<TokenId>>> ends;  // end text, its tokens after a word
  for (const auto& text : frame.after) {
    if (text.empty()) continue;  // EOS right after the genes
    const auto path = after_word(anchor, text);
    if (path.empty()) continue;
    nodes_[std::size_t(add_path(kEnd, path))].end = true;
    max_end_tokens_ = std::max(max_end_tokens_, std::int64_t(path.size()));
    ends.emplace_back(text, path);
  }
  for (const auto& text : frame.between) {
    const auto path = after_word(anchor, text);
    if (path.empty()) throw Error("gene sentence constraint", "the text between sentences is empty");
    separators_.emplace_back(path.begin(), path.end());
  }
  // The tokens of `text` where a root puts it: after `prefix` (the first
  // gene), after a word and `prefix` (" ": a later gene; a later sentence's
  // first gene follows the text between sentences).
  auto tokens_at = [&](std::int32_t root, const std::string& prefix, const std::string& word,
                       const std::string& text) -> std::vector<TokenId> {
    if (root == kFirst) return tokenizer.encode(prefix + text, false);
    auto full = after_word(word, prefix + text);
    if (root == kInner) return full;
    const auto& separator = separators_.front();
    if (full.size() < separator.size() || !std::equal(separator.begin(), separator.end(), full.begin()))
      throw Error("gene sentence constraint", "the tokenizer writes the text between sentences differently when '" +
                                                  text + "' follows it: gene tokens would depend on their neighbours");
    return std::vector<TokenId>(full.begin() + std::ptrdiff_t(separator.size()), full.end());
  };
  // Whether a gene written as `path` keeps its tokens when an end text follows.
  auto end_merges = [&](std::int32_t root, const std::string& prefix, const std::string& word,
                        const std::string& name, std::span<const TokenId> path) {
    for (const auto& [text, end] : ends) {
      const auto full = tokens_at(root, prefix, word, name + text);
      if (full.size() != path.size() + end.size() || !starts_with(full, path) ||
          !std::equal(end.begin(), end.end(), full.begin() + std::ptrdiff_t(path.size())))
        return true;
    }
    return false;
  };

  std::size_t blanks = 0;
  const std::vector<std::string> befores = frame.before.empty() ? std::vector<std::string>{""} : frame.before;
  for (std::size_t g = 0; g < genes_.size(); ++g) {
    const std::string& name = genes_[g];
    if (name.empty()) {  // a blank: never to be written, and not counted as left out
      ++blanks;
      continue;
    }
    if (std::any_of(name.begin(), name.end(), [](unsigned char c) { return std::isspace(c); })) {
      ++left_out_;
      continue;
    }
    // (root, prefix, word before it, tokens): the first gene, after each
    // text before it; a later gene, after a word and a space; the first
    // gene of a later sentence, after a gene and the text between.
    std::vector<std::tuple<std::int32_t, std::string, std::string, std::vector<TokenId>>> paths;
    for (const auto& before : befores) paths.emplace_back(kFirst, before, "", tokens_at(kFirst, before, "", name));
    paths.emplace_back(kInner, " ", name, tokens_at(kInner, " ", name, name));
    if (!frame.between.empty())
      paths.emplace_back(kNext, frame.between.front(), anchor, tokens_at(kNext, frame.between.front(), anchor, name));
    bool ok = true;
    for (const auto& [root, prefix, word, path] : paths) ok = ok && writable(path);
    std::vector<std::int32_t> terminals;
    for (const auto& [root, prefix, word, path] : paths) {
      if (!ok) break;
      const std::int32_t end = add_path(root, path);
      // Another gene with the same tokens (e.g. names equal once normalised).
      if (nodes_[std::size_t(end)].gene >= 0 && nodes_[std::size_t(end)].gene != std::int32_t(g)) ok = false;
      terminals.push_back(end);
    }
    if (!ok) {
      ++left_out_;
      continue;
    }
    for (std::size_t k = 0; k < paths.size(); ++k) {
      const auto& [root, prefix, word, path] = paths[k];
      Node& n = nodes_[std::size_t(terminals[k])];
      n.gene = std::int32_t(g);
      n.end_merges = n.end_merges || end_merges(root, prefix, word, name, path);
      if (std::find(gene_ends_[g].begin(), gene_ends_[g].end(), terminals[k]) == gene_ends_[g].end())
        gene_ends_[g].push_back(terminals[k]);
      max_gene_tokens_ = std::max(max_gene_tokens_, std::int64_t(path.size()));
    }
  }
  if (left_out_ + blanks == genes_.size())
    throw Error("gene sentence constraint", "none of the " + std::to_string(genes_.size() - blanks) +
                                                " genes can be written with the model's tokenizer");
  for (const auto& ends : gene_ends_)
    for (std::int32_t end : ends)
      for (std::int32_t n = end; n >= 0; n = nodes_[std::size_t(n)].parent) ++nodes_[std::size_t(n)].genes;
  // Children of each node, in token order.
  std::vector<std::int64_t> counts(nodes_.size() + 1, 0);
  for (std::size_t n = kRoots; n < nodes_.size(); ++n) ++counts[std::size_t(nodes_[n].parent) + 1];
  child_offsets_.assign(nodes_.size() + 1, 0);
  for (std::size_t n = 0; n < nodes_.size(); ++n) child_offsets_[n + 1] = child_offsets_[n] + counts[n + 1];
  children_.assign(std::size_t(child_offsets_.back()), 0);
  std::vector<std::int64_t> next(child_offsets_.begin(), child_offsets_.end() - 1);
  for (std::size_t n = kRoots; n < nodes_.size(); ++n)
    children_[std::size_t(next[std::size_t(nodes_[n].parent)]++)] = std::int32_t(n);
  for (std::size_t n = 0; n < nodes_.size(); ++n)
    std::sort(children_.begin() + child_offsets_[n], children_.begin() + child_offsets_[n + 1],
              [&](std::int32_t a, std::int32_t b) { return nodes_[std::size_t(a)].token < nodes_[std::size_t(b)].token; });
}

std::int64_t GeneSentenceConstraint::token_budget(std::int64_t max_genes) const {
  std::int64_t between = 0;
  for (const auto& s : separators_) between += std::int64_t(s.size());
  return std::int64_t(sentences()) * max_genes * max_gene_tokens_ + between + max_end_tokens_ + 1;
}

std::int32_t GeneSentenceConstraint::add_path(std::int32_t root, std::span<const TokenId> path) {
  std::int32_t node = root;
  for (TokenId t : path) {
    const std::uint64_t key = (std::uint64_t(std::uint32_t(node)) << 32) | std::uint32_t(t);
    auto [it, added] = edges_.emplace(key, std::int32_t(nodes_.size()));
    if (added) nodes_.push_back({.parent = node, .token = t});
    node = it->second;
  }
  return node;
}

std::int32_t GeneSentenceConstraint::child(std::int32_t node, std::int64_t token) const {
  if (token < 0 || token > std::int64_t(UINT32_MAX)) return -1;
  auto it = edges_.find((std::uint64_t(std::uint32_t(node)) << 32) | std::uint32_t(token));
  return it == edges_.end() ? -1 : it->second;
}

bool GeneSentenceConstraint::is_end_id(std::int64_t token) const {
  return std::find(end_ids_.begin(), end_ids_.end(), token) != end_ids_.end();
}

void GeneSentenceConstraint::block(std::uint32_t gene, Blocked& blocked) const {
  if (gene >= genes_.size() || !blocked.genes.insert(gene).second) return;
  for (std::int32_t end : gene_ends_[gene])
    for (std::int32_t n = end; n >= 0; n = nodes_[std::size_t(n)].parent) ++blocked.nodes[n];
}

GeneSentenceConstraint::Blocked GeneSentenceConstraint::forbidden_of(const GeneLimits& limits) const {
  if (limits.sentences > sentences())
    throw Error("gene sentence constraint", std::to_string(limits.sentences) + " sentences asked of a frame of " +
                                                std::to_string(sentences()));
  Blocked b;
  for (auto g : limits.forbidden) block(g, b);
  return b;
}

bool GeneSentenceConstraint::usable(std::int32_t node, const Blocked& forbidden, const Blocked& written) const {
  return nodes_[std::size_t(node)].genes - forbidden.at(node) - written.at(node) > 0;
}

void GeneSentenceConstraint::next_sentence(State& s) {
  s.starts.push_back(s.genes.size());
  s.written = Blocked{};
  s.phase = State::Phase::Gene;
  s.node = kNext;
  s.separator_at = 0;
}

bool GeneSentenceConstraint::step(std::int64_t token, const GeneLimits& limits, const Blocked& forbidden,
                                  State& s) const {
  using Phase = State::Phase;
  switch (s.phase) {
    case Phase::Gene: {
      // A token that continues the gene is read so whenever it may; only
      // then as the start of what follows a whole gene.
      const std::int32_t c = child(s.node, token);
      if (c >= 0 && usable(c, forbidden, s.written)) {
        s.node = c;
        return true;
      }
      if (s.node == kFirst || s.node == kNext) {  // nothing left to write: an empty sentence ends it all
        if (!is_end_id(token)) return false;
        s.phase = Phase::Closed;
        return true;
      }
      const std::int32_t gene_node = s.node, gene = nodes_[std::size_t(s.node)].gene;
      if (gene < 0 || forbidden.genes.count(std::uint32_t(gene)) || s.written.genes.count(std::uint32_t(gene)))
        return false;
      s.genes.push_back(std::uint32_t(gene));
      block(std::uint32_t(gene), s.written);
      if (limits.max_genes <= 0 || s.in_sentence() < limits.max_genes) {
        const std::int32_t start = child(kInner, token);
        if (start >= 0 && usable(start, forbidden, s.written)) {
          s.node = start;
          return true;
        }
      }
      if (s.sentence() + 1 < sentences_of(limits)) {  // only the text before the next sentence
        const auto& separator = separators_[s.sentence()];
        if (token != separator.front()) return false;
        s.phase = Phase::Separator;
        s.separator_at = 1;
        if (s.separator_at == separator.size()) next_sentence(s);
        return true;
      }
      if (const std::int32_t end = nodes_[std::size_t(gene_node)].end_merges ? -1 : child(kEnd, token); end >= 0) {
        s.phase = Phase::End;
        s.node = end;
        return true;
      }
      if (!is_end_id(token)) return false;
      s.phase = Phase::Closed;
      return true;
    }
    case Phase::Separator: {
      const auto& separator = separators_[s.sentence()];
      if (token != separator[s.separator_at]) return false;
      if (++s.separator_at == separator.size()) next_sentence(s);
      return true;
    }
    case Phase::End: {
      if (const std::int32_t c = child(s.node, token); c >= 0) {
        s.node = c;
        return true;
      }
      if (!nodes_[std::size_t(s.node)].end || !is_end_id(token)) return false;
      s.phase = Phase::Closed;
      return true;
    }
    case Phase::Closed:
      return false;
  }
  return false;
}

GeneSentenceConstraint::State GeneSentenceConstraint::walk(std::span<const std::int64_t> generated,
                                                           const GeneLimits& limits, const Blocked& forbidden) const {
  State s;
  for (std::size_t i = 0; i < generated.size(); ++i)
    if (!step(generated[i], limits, forbidden, s)) {
      s.invalid_at = std::int64_t(i);
      break;
    }
  return s;
}

void GeneSentenceConstraint::allow_children(std::int32_t node, std::initializer_list<const Blocked*> blocked,
                                            std::span<std::uint8_t> allowed) const {
  // Children whose every gene is blocked, found from the (few) blocked
  // nodes rather than by looking each child up; a token another call
  // allowed stays allowed.
  std::vector<std::pair<std::int64_t, std::uint8_t>> closed;
  for (const Blocked* b : blocked)
    for (const auto& [n, count] : b->nodes) {
      const Node& c = nodes_[std::size_t(n)];
      if (c.parent != node || std::size_t(c.token) >= allowed.size()) continue;
      std::int32_t left = c.genes;
      for (const Blocked* other : blocked) left -= other->at(n);
      if (left <= 0) closed.emplace_back(c.token, allowed[std::size_t(c.token)]);
    }
  const bool genes_only = blocked.size() > 0;
  for (std::int64_t i = child_offsets_[std::size_t(node)]; i < child_offsets_[std::size_t(node) + 1]; ++i) {
    const Node& c = nodes_[std::size_t(children_[std::size_t(i)])];
    // (A token beyond the model's vocabulary cannot be written.)
    if ((!genes_only || c.genes > 0) && std::size_t(c.token) < allowed.size()) allowed[std::size_t(c.token)] = 1;
  }
  for (const auto& [token, before] : closed) allowed[std::size_t(token)] = before;
}

void GeneSentenceConstraint::allow(const State& s, const GeneLimits& limits, const Blocked& forbidden,
                                   std::span<std::uint8_t> allowed) const {
  using Phase = State::Phase;
  std::fill(allowed.begin(), allowed.end(), std::uint8_t(0));
  auto allow_end_ids = [&] {
    for (auto id : end_ids_)
      if (id >= 0 && std::size_t(id) < allowed.size()) allowed[std::size_t(id)] = 1;
  };
  if (s.invalid_at >= 0 || s.phase == Phase::Closed) {
    allow_end_ids();
    return;
  }
  if (s.phase == Phase::Separator) {
    const std::int64_t next = separators_[s.sentence()][s.separator_at];
    if (std::size_t(next) < allowed.size()) allowed[std::size_t(next)] = 1;
    return;
  }
  if (s.phase == Phase::End) {
    allow_children(s.node, {}, allowed);
    if (nodes_[std::size_t(s.node)].end) allow_end_ids();
    return;
  }
  allow_children(s.node, {&forbidden, &s.written}, allowed);
  const std::int32_t gene = nodes_[std::size_t(s.node)].gene;
  if (gene >= 0 && !forbidden.genes.count(std::uint32_t(gene)) && !s.written.genes.count(std::uint32_t(gene))) {
    // The gene ends here if what follows is no continuation: the next gene
    // must be another.
    if (limits.max_genes <= 0 || s.in_sentence() + 1 < limits.max_genes) {
      Blocked ending;
      block(std::uint32_t(gene), ending);
      allow_children(kInner, {&forbidden, &s.written, &ending}, allowed);
    }
    if (s.sentence() + 1 < sentences_of(limits)) {
      // The next sentence follows (a gene whose last token would merge with
      // its text is still written with its own tokens: rare, and read back
      // the same).
      const std::int64_t next = separators_[s.sentence()].front();
      if (std::size_t(next) < allowed.size()) allowed[std::size_t(next)] = 1;
    } else {
      if (!nodes_[std::size_t(s.node)].end_merges) allow_children(kEnd, {}, allowed);
      allow_end_ids();
    }
  }
  if ((s.node == kFirst || s.node == kNext) && std::find(allowed.begin(), allowed.end(), std::uint8_t(1)) == allowed.end())
    allow_end_ids();  // every gene forbidden: the sentence can only be empty
}

void GeneSentenceConstraint::allow_next(std::span<const std::int64_t> generated, const GeneLimits& limits,
                                        std::span<std::uint8_t> allowed) const {
  const Blocked forbidden = forbidden_of(limits);
  allow(walk(generated, limits, forbidden), limits, forbidden, allowed);
}

AllowedTokens GeneSentenceConstraint::allowed_tokens(std::vector<GeneLimits> limits) const {
  if (limits.empty()) limits.emplace_back();
  auto forbidden = std::make_shared<std::vector<Blocked>>();
  for (const auto& l : limits) forbidden->push_back(forbidden_of(l));
  return [this, limits = std::move(limits), forbidden](std::size_t prompt, std::span<const std::int64_t> generated,
                                                        std::span<std::uint8_t> allowed) {
    const std::size_t i = limits.size() == 1 ? 0 : prompt;
    if (i >= limits.size())
      throw Error("gene sentence constraint", "no limits for prompt " + std::to_string(prompt));
    allow(walk(generated, limits[i], (*forbidden)[i]), limits[i], (*forbidden)[i], allowed);
  };
}

DecodedGenes GeneSentenceConstraint::decode(std::span<const std::int64_t> generated, const GeneLimits& limits) const {
  const Blocked forbidden = forbidden_of(limits);
  State s = walk(generated, limits, forbidden);
  DecodedGenes out;
  out.invalid_at = s.invalid_at;
  if (s.invalid_at < 0 && s.phase == State::Phase::Gene) {
    // Cut off right after a whole gene: it counts.
    const std::int32_t gene = nodes_[std::size_t(s.node)].gene;
    if (gene >= 0 && !forbidden.genes.count(std::uint32_t(gene)) && !s.written.genes.count(std::uint32_t(gene)) &&
        (limits.max_genes <= 0 || s.in_sentence() < limits.max_genes))
      s.genes.push_back(std::uint32_t(gene));
  }
  out.closed = s.phase == State::Phase::Closed || (s.phase == State::Phase::End && nodes_[std::size_t(s.node)].end);
  out.sentence_offsets = std::move(s.starts);
  out.sentence_offsets.push_back(s.genes.size());
  out.genes = std::move(s.genes);
  return out;
}

}  // namespace c2s
