// Every pre-tokenizer cuts a piece by a list of spans, each a match of its
// pattern or the text between matches, and keeps or merges the matches
// according to a split behaviour, exactly as NormalizedString::split does.
#include "text/hf_pre_tokenizers.hpp"

#include <algorithm>
#include <vector>

#include "text/byte_level.hpp"
#include "text/onig_regex.hpp"
#include "text/unicode_categories.hpp"
#include "text/utf8.hpp"

namespace c2s {
namespace {

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

struct Span {
  std::size_t begin, end;
  bool is_match;
};

// Spans of the characters satisfying `pred` (one span each) and of the runs
// between them (Rust's Pattern for Fn(char) -> bool).
template <class Pred>
void char_spans(std::string_view s, Pred pred, std::vector<Span>& spans) {
  spans.clear();
  if (s.empty()) {
    spans.push_back({0, 0, false});
    return;
  }
  std::size_t last = 0;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t start = i;
    const char32_t c = utf8::next(s, i);
    if (pred(c)) {
      if (last < start) spans.push_back({last, start, false});
      spans.push_back({start, i, true});
      last = i;
    }
  }
  if (last < s.size()) spans.push_back({last, s.size(), false});
}

// Spans of the regex matches and the gaps between them (Rust's Pattern for
// an Oniguruma regex).
void regex_spans(const OnigRegex& re, std::string_view s, std::vector<Span>& spans) {
  spans.clear();
  if (s.empty()) {
    spans.push_back({0, 0, false});
    return;
  }
  thread_local std::vector<std::pair<std::size_t, std::size_t>> matches;
  matches.clear();
  re.find_all(s, matches);
  std::size_t prev = 0;
  for (const auto& [b, e] : matches) {
    if (prev != b) spans.push_back({prev, b, false});
    spans.push_back({b, e, true});
    prev = e;
  }
  if (prev != s.size()) spans.push_back({prev, s.size(), false});
}

// Appends the pieces of `s` that `spans` make under `behavior`.
void emit_split(std::string_view s, bool at_text_start, std::vector<Span>& spans, SplitBehavior behavior,
                PreTokens& out) {
  thread_local std::vector<Span> acc;
  acc.clear();
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::Isolated:
      acc = spans;
      break;
    case SplitBehavior::Removed:
      for (const auto& sp : spans)
        if (!sp.is_match) acc.push_back(sp);
      break;
    case SplitBehavior::Contiguous:
      for (const auto& sp : spans) {
        if (sp.is_match == previous_match && !acc.empty())
          acc.back().end = sp.end;
        else
          acc.push_back(sp);
        previous_match = sp.is_match;
      }
      break;
    case SplitBehavior::MergedWithPrevious:
      for (const auto& sp : spans) {
        if (sp.is_match && !previous_match && !acc.empty())
          acc.back().end = sp.end;
        else
          acc.push_back(sp);
        previous_match = sp.is_match;
      }
      break;
    case SplitBehavior::MergedWithNext:
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->is_match && !previous_match && !acc.empty())
          acc.back().begin = it->begin;
        else
          acc.push_back(*it);
        previous_match = it->is_match;
      }
      std::reverse(acc.begin(), acc.end());
      break;
  }
  for (const auto& sp : acc) out.add(s.substr(sp.begin, sp.end - sp.begin), at_text_start && sp.begin == 0);
}

// Runs `fn(text, at_text_start)` on each text piece of `in`, copying the
// added-token pieces to `out` in their place.
template <class Fn>
void for_each_text_piece(const PreTokens& in, PreTokens& out, Fn&& fn) {
  for (const auto& p : in.pieces()) {
    if (p.added_id >= 0)
      out.add_added(p.added_id);
    else
      fn(in.view(p), p.at_text_start);
  }
}

template <class Pred>
class CharSplitPreTokenizer final : public HfPreTokenizer {
 public:
  CharSplitPreTokenizer(Pred pred, SplitBehavior behavior) : pred_(pred), behavior_(behavior) {}
  void pre_tokenize(const PreTokens& in, PreTokens& out) const override {
    thread_local std::vector<Span> spans;
    for_each_text_piece(in, out, [&](std::string_view s, bool start) {
      char_spans(s, pred_, spans);
      emit_split(s, start, spans, behavior_, out);
    });
  }

 private:
  Pred pred_;
  SplitBehavior behavior_;
};

template <class Pred>
std::unique_ptr<HfPreTokenizer> make_char_split(Pred pred, SplitBehavior behavior) {
  return std::make_unique<CharSplitPreTokenizer<Pred>>(pred, behavior);
}

class ByteLevelPreTokenizer final : public HfPreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex)
      : add_prefix_space_(add_prefix_space), use_regex_(use_regex) {}
  void pre_tokenize(const PreTokens& in, PreTokens& out) const override {
    thread_local std::string prefixed;
    thread_local std::vector<std::pair<std::size_t, std::size_t>> words;
    for_each_text_piece(in, out, [&](std::string_view s, bool start) {
      if (add_prefix_space_ && s.front() != ' ') {
        prefixed.assign(1, ' ');
        prefixed.append(s);
        s = prefixed;
      }
      words.clear();
      if (use_regex_)
        byte_level::split_gpt2(s, words);
      else
        words.emplace_back(0, s.size());
      for (const auto& [b, e] : words) {
        const std::size_t begin = out.begin_piece();
        byte_level::append_chars(out.text(), s.substr(b, e - b));
        out.end_piece(begin, start && b == 0);
      }
    });
  }

 private:
  bool add_prefix_space_, use_regex_;
};

enum class PrependScheme { Always, First, Never };

class MetaspacePreTokenizer final : public HfPreTokenizer {
 public:
  MetaspacePreTokenizer(char32_t replacement, PrependScheme scheme, bool split)
      : replacement_(replacement), scheme_(scheme), split_(split) {
    utf8::append(replacement_utf8_, replacement);
  }
  void pre_tokenize(const PreTokens& in, PreTokens& out) const override {
    thread_local std::string t;
    thread_local std::vector<Span> spans;
    for_each_text_piece(in, out, [&](std::string_view s, bool start) {
      t.clear();
      const bool starts_with_replacement = s.substr(0, replacement_utf8_.size()) == replacement_utf8_ || s.front() == ' ';
      if (!starts_with_replacement && (scheme_ == PrependScheme::Always || (scheme_ == PrependScheme::First && start)))
        t.append(replacement_utf8_);
      for (char c : s) {
        if (c == ' ')
          t.append(replacement_utf8_);
        else
          t.push_back(c);
      }
      if (!split_) {
        out.add(t, start);
        return;
      }
      const char32_t r = replacement_;
      char_spans(t, [r](char32_t c) { return c == r; }, spans);
      emit_split(t, start, spans, SplitBehavior::MergedWithNext, out);
    });
  }

 private:
  char32_t replacement_;
  std::string replacement_utf8_;
  PrependScheme scheme_;
  bool split_;
};

class RegexSplitPreTokenizer final : public HfPreTokenizer {
 public:
  RegexSplitPreTokenizer(const std::string& regex, SplitBehavior behavior, bool invert, const std::string& context)
      : regex_(regex, context), behavior_(behavior), invert_(invert) {}
  void pre_tokenize(const PreTokens& in, PreTokens& out) const override {
    thread_local std::vector<Span> spans;
    for_each_text_piece(in, out, [&](std::string_view s, bool start) {
      regex_spans(regex_, s, spans);
      if (invert_)
        for (auto& sp : spans) sp.is_match = !sp.is_match;
      emit_split(s, start, spans, behavior_, out);
    });
  }

 private:
  OnigRegex regex_;
  SplitBehavior behavior_;
  bool invert_;
};

// Rust regex \w+|[^\w\s]+ with the matches kept and the rest dropped: runs of
// word characters and runs of other non-space characters.
class WhitespacePreTokenizer final : public HfPreTokenizer {
 public:
  void pre_tokenize(const PreTokens& in, PreTokens& out) const override {
    for_each_text_piece(in, out, [&](std::string_view s, bool start) {
      std::size_t i = 0;
      while (i < s.size()) {
        const std::size_t run_begin = i;
        const int kind = kind_of(utf8::next(s, i));
        std::size_t run_end = i;
        while (run_end < s.size()) {
          std::size_t j = run_end;
          if (kind_of(utf8::next(s, j)) != kind) break;
          run_end = j;
        }
        if (kind != kSpace) out.add(s.substr(run_begin, run_end - run_begin), start && run_begin == 0);
        i = run_end;
      }
    });
  }

 private:
  static constexpr int kWord = 0, kSpace = 1, kOther = 2;
  static int kind_of(char32_t c) {
    if (unicode::is_word_char(c)) return kWord;
    if (unicode::is_whitespace(c)) return kSpace;
    return kOther;
  }
};

class SequencePreTokenizer final : public HfPreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<HfPreTokenizer>> steps) : steps_(std::move(steps)) {}
  void pre_tokenize(const PreTokens& in, PreTokens& out) const override {
    if (steps_.empty()) {
      for_each_text_piece(in, out, [&](std::string_view s, bool start) { out.add(s, start); });
      return;
    }
    PreTokens a, b;
    const PreTokens* src = &in;
    for (std::size_t i = 0; i < steps_.size(); ++i) {
      PreTokens* dst = i + 1 == steps_.size() ? &out : (src == &a ? &b : &a);
      dst->clear();
      steps_[i]->pre_tokenize(*src, *dst);
      src = dst;
    }
  }

 private:
  std::vector<std::unique_ptr<HfPreTokenizer>> steps_;
};

SplitBehavior parse_behavior(const HfJsonComponent& c, const char* field, SplitBehavior fallback) {
  if (!c.find(field)) return fallback;
  const std::string b = c.string(field);
  if (b == "Removed") return SplitBehavior::Removed;
  if (b == "Isolated") return SplitBehavior::Isolated;
  if (b == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (b == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (b == "Contiguous") return SplitBehavior::Contiguous;
  c.fail("unknown split behavior '" + b + "'");
}

bool is_punctuation(char32_t c) { return unicode::is_punctuation_or_ascii_symbol(c); }

}  // namespace

std::unique_ptr<HfPreTokenizer> parse_hf_pre_tokenizer(const nlohmann::json& json, const std::string& where,
                                                       const std::string& file) {
  if (json.is_null()) return nullptr;
  const HfJsonComponent c(json, where, file);
  const std::string type = c.type();
  if (type == "ByteLevel") {
    c.boolean("trim_offsets");  // offsets only, but required like the library requires it
    return std::make_unique<ByteLevelPreTokenizer>(c.boolean("add_prefix_space"), c.boolean_or("use_regex", true));
  }
  if (type == "Metaspace") {
    const char32_t replacement = c.character("replacement");
    PrependScheme scheme = PrependScheme::Always;
    if (c.find("prepend_scheme")) {
      const std::string s = c.string("prepend_scheme");
      if (s == "always")
        scheme = PrependScheme::Always;
      else if (s == "first")
        scheme = PrependScheme::First;
      else if (s == "never")
        scheme = PrependScheme::Never;
      else
        c.fail("unknown prepend_scheme '" + s + "'");
    }
    // The legacy add_prefix_space: false means "never" and must not
    // contradict an explicit scheme.
    if (c.find("add_prefix_space") && !c.boolean("add_prefix_space")) {
      if (scheme != PrependScheme::Never && c.find("prepend_scheme"))
        c.fail("add_prefix_space does not match declared prepend_scheme");
      scheme = PrependScheme::Never;
    }
    return std::make_unique<MetaspacePreTokenizer>(replacement, scheme, c.boolean_or("split", true));
  }
  if (type == "Split") {
    const std::string regex = c.pattern_regex("pattern");
    if (!c.find("behavior")) c.fail("missing field 'behavior'");
    const auto behavior = parse_behavior(c, "behavior", SplitBehavior::Removed);
    return std::make_unique<RegexSplitPreTokenizer>(regex, behavior, c.boolean("invert"),
                                                    file + ": " + where + " (Split)");
  }
  if (type == "Whitespace") return std::make_unique<WhitespacePreTokenizer>();
  if (type == "WhitespaceSplit") return make_char_split(unicode::is_whitespace, SplitBehavior::Removed);
  if (type == "Punctuation") return make_char_split(is_punctuation, parse_behavior(c, "behavior", SplitBehavior::Isolated));
  if (type == "Digits")
    return make_char_split(unicode::is_number,
                           c.boolean("individual_digits") ? SplitBehavior::Isolated : SplitBehavior::Contiguous);
  if (type == "CharDelimiterSplit") {
    const char32_t d = c.character("delimiter");
    return make_char_split([d](char32_t x) { return x == d; }, SplitBehavior::Removed);
  }
  if (type == "BertPreTokenizer") {
    std::vector<std::unique_ptr<HfPreTokenizer>> steps;
    steps.push_back(make_char_split(unicode::is_whitespace, SplitBehavior::Removed));
    steps.push_back(make_char_split(is_punctuation, SplitBehavior::Isolated));
    return std::make_unique<SequencePreTokenizer>(std::move(steps));
  }
  if (type == "Sequence") {
    return std::make_unique<SequencePreTokenizer>(c.components("pretokenizers", parse_hf_pre_tokenizer));
  }
  if (type == "UnicodeScripts" || type == "FixedLength")
    c.fail("pre_tokenizer type '" + type + "' is not supported by c2s");
  c.fail("unknown pre_tokenizer type '" + type + "'");
}

}  // namespace c2s
