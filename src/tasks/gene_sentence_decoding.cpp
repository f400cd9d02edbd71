#include "tasks/gene_sentence_decoding.hpp"

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <tuple>
#include <unordered_set>

#include "core/error.hpp"

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
  enum class Phase { Gene, End, Closed } phase = Phase::Gene;
  std::int32_t node = kFirst;
  std::vector<std::uint32_t> genes;
  Blocked written;
  std::int64_t invalid_at = -1;
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

GeneSentenceConstraint::GeneSentenceConstraint(const Tokenizer& tokenizer, std::vector<std::string> genes,
                                               const GeneSentenceFrame& frame, std::vector<std::int64_t> end_ids)
    : genes_(std::move(genes)), end_ids_(std::move(end_ids)), nodes_(3), gene_ends_(genes_.size()) {
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
  // Whether a gene written as `path` (tokens of `prefix` + gene) keeps its
  // tokens when an end text follows.
  auto end_merges = [&](const std::string& prefix, const std::string& name, std::span<const TokenId> path,
                        bool inner) {
    for (const auto& [text, end] : ends) {
      const auto full = inner ? after_word(name, prefix + name + text) : tokenizer.encode(prefix + name + text, false);
      if (full.size() != path.size() + end.size() || !starts_with(full, path) ||
          !std::equal(end.begin(), end.end(), full.begin() + std::ptrdiff_t(path.size())))
        return true;
    }
    return false;
  };

  const std::vector<std::string> befores = frame.before.empty() ? std::vector<std::string>{""} : frame.before;
  for (std::size_t g = 0; g < genes_.size(); ++g) {
    const std::string& name = genes_[g];
    if (name.empty() || std::any_of(name.begin(), name.end(), [](unsigned char c) { return std::isspace(c); })) {
      ++left_out_;
      continue;
    }
    // (root, prefix, tokens): the first gene, after each text before it;
    // a later gene, after a word and a space.
    std::vector<std::tuple<std::int32_t, std::string, std::vector<TokenId>>> paths;
    for (const auto& before : befores) paths.emplace_back(kFirst, before, tokenizer.encode(before + name, false));
    paths.emplace_back(kInner, " ", after_word(name, " " + name));
    bool ok = true;
    for (const auto& [root, prefix, path] : paths) ok = ok && writable(path);
    std::vector<std::int32_t> terminals;
    for (const auto& [root, prefix, path] : paths) {
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
      const auto& [root, prefix, path] = paths[k];
      Node& n = nodes_[std::size_t(terminals[k])];
      n.gene = std::int32_t(g);
      n.end_merges = n.end_merges || end_merges(root == kInner ? " " : prefix, name, path, root == kInner);
      if (std::find(gene_ends_[g].begin(), gene_ends_[g].end(), terminals[k]) == gene_ends_[g].end())
        gene_ends_[g].push_back(terminals[k]);
      max_gene_tokens_ = std::max(max_gene_tokens_, std::int64_t(path.size()));
    }
  }
  if (left_out_ == genes_.size())
    throw Error("gene sentence constraint",
                "none of the " + std::to_string(genes_.size()) + " genes can be written with the model's tokenizer");
  for (const auto& ends : gene_ends_)
    for (std::int32_t end : ends)
      for (std::int32_t n = end; n >= 0; n = nodes_[std::size_t(n)].parent) ++nodes_[std::size_t(n)].genes;
  // Children of each node, in token order.
  std::vector<std::int64_t> counts(nodes_.size() + 1, 0);
  for (std::size_t n = 3; n < nodes_.size(); ++n) ++counts[std::size_t(nodes_[n].parent) + 1];
  child_offsets_.assign(nodes_.size() + 1, 0);
  for (std::size_t n = 0; n < nodes_.size(); ++n) child_offsets_[n + 1] = child_offsets_[n] + counts[n + 1];
  children_.assign(std::size_t(child_offsets_.back()), 0);
  std::vector<std::int64_t> next(child_offsets_.begin(), child_offsets_.end() - 1);
  for (std::size_t n = 3; n < nodes_.size(); ++n)
    children_[std::size_t(next[std::size_t(nodes_[n].parent)]++)] = std::int32_t(n);
  for (std::size_t n = 0; n < nodes_.size(); ++n)
    std::sort(children_.begin() + child_offsets_[n], children_.begin() + child_offsets_[n + 1],
              [&](std::int32_t a, std::int32_t b) { return nodes_[std::size_t(a)].token < nodes_[std::size_t(b)].token; });
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
  Blocked b;
  for (auto g : limits.forbidden) block(g, b);
  return b;
}

bool GeneSentenceConstraint::usable(std::int32_t node, const Blocked& forbidden, const Blocked& written) const {
  return nodes_[std::size_t(node)].genes - forbidden.at(node) - written.at(node) > 0;
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
      if (s.node == kFirst) {  // nothing left to write: an empty sentence
        if (!is_end_id(token)) return false;
        s.phase = Phase::Closed;
        return true;
      }
      const std::int32_t gene_node = s.node, gene = nodes_[std::size_t(s.node)].gene;
      if (gene < 0 || forbidden.genes.count(std::uint32_t(gene)) || s.written.genes.count(std::uint32_t(gene)))
        return false;
      s.genes.push_back(std::uint32_t(gene));
      block(std::uint32_t(gene), s.written);
      if (limits.max_genes <= 0 || std::int64_t(s.genes.size()) < limits.max_genes) {
        const std::int32_t start = child(kInner, token);
        if (start >= 0 && usable(start, forbidden, s.written)) {
          s.node = start;
          return true;
        }
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
  if (s.phase == Phase::End) {
    allow_children(s.node, {}, allowed);
    if (nodes_[std::size_t(s.node)].end) allow_end_ids();
    return;
  }
  allow_children(s.node, {&forbidden, &s.written}, allowed);
  const std::int32_t gene = nodes_[std::size_t(s.node)].gene;
  if (s.node != kFirst && gene >= 0 && !forbidden.genes.count(std::uint32_t(gene)) &&
      !s.written.genes.count(std::uint32_t(gene))) {
    // The gene ends here if what follows is no continuation: the next gene
    // must be another.
    if (limits.max_genes <= 0 || std::int64_t(s.genes.size()) + 1 < limits.max_genes) {
      Blocked ending;
      block(std::uint32_t(gene), ending);
      allow_children(kInner, {&forbidden, &s.written, &ending}, allowed);
    }
    if (!nodes_[std::size_t(s.node)].end_merges) allow_children(kEnd, {}, allowed);
    allow_end_ids();
  }
  if (s.node == kFirst && std::find(allowed.begin(), allowed.end(), std::uint8_t(1)) == allowed.end())
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
  if (s.invalid_at < 0 && s.phase == State::Phase::Gene && s.node != kFirst) {
    // Cut off right after a whole gene: it counts.
    const std::int32_t gene = nodes_[std::size_t(s.node)].gene;
    if (gene >= 0 && !forbidden.genes.count(std::uint32_t(gene)) && !s.written.genes.count(std::uint32_t(gene)) &&
        (limits.max_genes <= 0 || std::int64_t(s.genes.size()) < limits.max_genes))
      s.genes.push_back(std::uint32_t(gene));
  }
  out.closed = s.phase == State::Phase::Closed || (s.phase == State::Phase::End && nodes_[std::size_t(s.node)].end);
  out.genes = std::move(s.genes);
  return out;
}

}  // namespace c2s
