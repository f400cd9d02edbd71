// The tokenizer.json fuzz body, shared by the GoogleTest mutation loop
// (hf_tokenizer_fuzz_test.cpp) and the libFuzzer target (fuzz/).
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "text/hf_tokenizer.hpp"
#include "text/utf8.hpp"

namespace c2s::fuzzing {

// What the inputs reached, for the GoogleTest driver's report.
struct FuzzStats {
  std::size_t tokenizers = 0, encodes = 0;
};
inline FuzzStats& fuzz_stats() {
  static FuzzStats stats;
  return stats;
}

// Reads choices from the fuzz input; past the end every read is zero.
class FuzzBytes {
 public:
  FuzzBytes(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  std::uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  bool flag() { return byte() & 1; }
  std::size_t below(std::size_t n) { return n == 0 ? 0 : byte() % n; }
  std::string raw(std::size_t n) {
    n = std::min(n, size_ - std::min(pos_, size_));
    std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return s;
  }
  std::string rest() { return raw(size_); }

  // A short string: mostly a snippet that means something to some
  // component or a few characters, rarely raw bytes (maybe invalid UTF-8).
  std::string text() {
    static const char* const kSnippets[] = {
        "",     " ",      "  ",     "a",       "b",       "ab",      "abc",    "▁",      "Ġ",       "<s>",
        "</s>", "<unk>",  "##",     "</w>",    "é",       "😀",      "\n",     "'s",     "\\s+",    "[a-z]+",
        "(",    "a*",     ".*",     "x|",      "\\p{L}+", "(?=a)",   "\\b",    "^",      "$",       "|",
        "<0x61>", "<0xC3>", "\\",   "[^\\s]",  "(?i)A",   "\\d{1,3}", "e",     "-",      "İ",       "ﬁ"};
    constexpr std::size_t kCount = sizeof(kSnippets) / sizeof(kSnippets[0]);
    const std::uint8_t b = byte();
    if (b < 160) return kSnippets[b % kCount];
    if (b < 250) {
      std::string s;
      for (std::size_t n = b % 5; n > 0; --n) s += character();
      return s;
    }
    return raw(b % 8);
  }
  // One character, spaces and separators likely.
  std::string character() {
    static const char* const kChars[] = {" ", "a", "e", "Z", "1", "▁", "Ġ", "-", "'", "<", ">", "é", "日",
                                       "😀", "\t", "\n", "\xC2\xA0", "\xCC\x81", ".", "_", "#", "\xE2\x80\xA8"};
    return kChars[below(sizeof(kChars) / sizeof(kChars[0]))];
  }
  // Mostly 0, now and then 1: picks the rare, deliberately broken variants.
  bool rarely() { return byte() >= 248; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

inline nlohmann::json fuzz_normalizer(FuzzBytes& in, int depth) {
  switch (in.rarely() ? 12 + in.below(2) : in.below(12)) {
    case 0: return nullptr;
    case 1: return {{"type", "NFC"}};
    case 2: return {{"type", "NFD"}};
    case 3: return {{"type", "NFKC"}};
    case 4: return {{"type", "NFKD"}};
    case 5: return {{"type", "Lowercase"}};
    case 6: return {{"type", "Strip"}, {"strip_left", in.flag()}, {"strip_right", in.flag()}};
    case 7: return {{"type", "StripAccents"}};
    case 8: return {{"type", "Prepend"}, {"prepend", in.text()}};
    case 9: {
      nlohmann::json pattern;
      pattern[in.flag() ? "String" : "Regex"] = in.text();
      return {{"type", "Replace"}, {"pattern", pattern}, {"content", in.text()}};
    }
    case 10: return {{"type", "ByteLevel"}};
    case 11: {
      nlohmann::json list = nlohmann::json::array();
      if (depth < 2)
        for (std::size_t n = in.below(4); n > 0; --n) list.push_back(fuzz_normalizer(in, depth + 1));
      return {{"type", "Sequence"}, {"normalizers", list}};
    }
    case 12: return {{"type", in.text()}};
    default: return {{"type", "Replace"}, {"content", 3}};
  }
}

inline nlohmann::json fuzz_behavior(FuzzBytes& in) {
  static const char* const kBehaviors[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext",
                                           "Contiguous", "Sideways"};
  return kBehaviors[in.rarely() ? 5 : in.below(5)];
}

inline nlohmann::json fuzz_pre_tokenizer(FuzzBytes& in, int depth) {
  switch (in.rarely() ? 11 + in.below(2) : in.below(11)) {
    case 0: return nullptr;
    case 1: return {{"type", "ByteLevel"}, {"add_prefix_space", in.flag()}, {"trim_offsets", true}, {"use_regex", in.byte() % 4 != 0}};
    case 2: {
      nlohmann::json m = {{"type", "Metaspace"}, {"replacement", in.rarely() ? in.text() : in.character()}};
      static const char* const kSchemes[] = {"always", "first", "never", "sometimes"};
      if (in.flag()) m["prepend_scheme"] = kSchemes[in.rarely() ? 3 : in.below(3)];
      if (in.flag()) m["add_prefix_space"] = in.flag();
      if (in.flag()) m["split"] = in.flag();
      return m;
    }
    case 3: {
      nlohmann::json pattern;
      pattern[in.flag() ? "String" : "Regex"] = in.text();
      return {{"type", "Split"}, {"pattern", pattern}, {"behavior", fuzz_behavior(in)}, {"invert", in.flag()}};
    }
    case 4: return {{"type", "Whitespace"}};
    case 5: return {{"type", "WhitespaceSplit"}};
    case 6: return {{"type", "Punctuation"}, {"behavior", fuzz_behavior(in)}};
    case 7: return {{"type", "Digits"}, {"individual_digits", in.flag()}};
    case 8: return {{"type", "CharDelimiterSplit"}, {"delimiter", in.rarely() ? in.text() : in.character()}};
    case 9: return {{"type", "BertPreTokenizer"}};
    case 10: {
      nlohmann::json list = nlohmann::json::array();
      if (depth < 2)
        for (std::size_t n = in.below(4); n > 0; --n) list.push_back(fuzz_pre_tokenizer(in, depth + 1));
      return {{"type", "Sequence"}, {"pretokenizers", list}};
    }
    case 11: return {{"type", in.text()}};
    default: return {{"type", "Split"}, {"pattern", in.text()}, {"behavior", "Isolated"}};
  }
}

// Tokens the models are built from: characters, byte tokens, specials.
inline std::vector<std::string> fuzz_pieces(FuzzBytes& in) {
  std::vector<std::string> pieces = {"<unk>", "<s>", "</s>", "a", "b", "c", "e", " ", "▁", "Ġ", "é",
                                     "<0x61>", "<0xC3>", "<0xA9>", "<0x20>", "##b", "c</w>"};
  for (std::size_t n = in.below(6); n > 0; --n) pieces.push_back(in.text());
  // Longer pieces made of two earlier ones, as merges would make them.
  for (std::size_t n = in.below(12); n > 0; --n)
    pieces.push_back(pieces[in.below(pieces.size())] + pieces[in.below(pieces.size())]);
  return pieces;
}

inline nlohmann::json fuzz_model(FuzzBytes& in) {
  const auto pieces = fuzz_pieces(in);
  const std::size_t kind = in.below(5);
  if (kind == 0 || kind == 1) {  // BPE
    nlohmann::json vocab = nlohmann::json::object();
    for (std::size_t i = 0; i < pieces.size(); ++i) vocab[pieces[i]] = in.byte() == 255 ? i + 1000 : i;
    nlohmann::json merges = nlohmann::json::array();
    const bool legacy = in.flag();
    for (std::size_t n = in.below(16); n > 0; --n) {
      const std::string a = pieces[in.below(pieces.size())], b = pieces[in.below(pieces.size())];
      // Usually a merge whose result exists; sometimes one the loader must refuse.
      if (!in.rarely() && !vocab.contains(a + b)) vocab[a + b] = vocab.size();
      if (legacy)
        merges.push_back(a + " " + b);
      else
        merges.push_back(nlohmann::json::array({a, b}));
    }
    nlohmann::json m = {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}};
    if (in.flag()) m["unk_token"] = in.flag() ? "<unk>" : in.text();
    if (in.flag()) m["continuing_subword_prefix"] = in.flag() ? "##" : in.text();
    if (in.flag()) m["end_of_word_suffix"] = in.flag() ? "</w>" : in.text();
    m["fuse_unk"] = in.flag();
    m["byte_fallback"] = in.flag();
    m["ignore_merges"] = in.flag();
    if (in.rarely()) m["dropout"] = in.byte() / 100.0;
    if (in.rarely()) m.erase(in.flag() ? "vocab" : "merges");
    return m;
  }
  if (kind == 2 || kind == 3) {  // Unigram
    nlohmann::json vocab = nlohmann::json::array();
    for (const auto& p : pieces) vocab.push_back(nlohmann::json::array({p, -static_cast<double>(in.byte()) / 16.0}));
    nlohmann::json m = {{"type", "Unigram"}, {"vocab", vocab}, {"byte_fallback", in.flag()}};
    if (in.byte() < 200) m["unk_id"] = in.byte() < 250 ? in.below(pieces.size()) : 100000;
    return m;
  }
  nlohmann::json vocab = nlohmann::json::object();
  for (std::size_t i = 0; i < pieces.size(); ++i) vocab[pieces[i]] = i;
  return {{"type", in.rarely() ? "Wordy" : "WordLevel"}, {"vocab", vocab}, {"unk_token", in.flag() ? "<unk>" : in.text()}};
}

inline nlohmann::json fuzz_post_processor(FuzzBytes& in, int depth) {
  auto piece = [&](bool special) -> nlohmann::json {
    if (!special) return {{"Sequence", {{"id", in.byte() < 240 ? "A" : "B"}, {"type_id", 0}}}};
    return {{"SpecialToken", {{"id", in.flag() ? "<s>" : in.text()}, {"type_id", 0}}}};
  };
  switch (in.rarely() ? 6 : in.below(6)) {
    case 0: return nullptr;
    case 1: case 2: {
      nlohmann::json single = nlohmann::json::array();
      for (std::size_t n = in.below(4) + 1; n > 0; --n) single.push_back(piece(in.byte() < 100));
      nlohmann::json specials = {{"<s>", {{"id", "<s>"}, {"ids", {in.below(40)}}, {"tokens", {"<s>"}}}}};
      return {{"type", "TemplateProcessing"}, {"single", single}, {"pair", single}, {"special_tokens", specials}};
    }
    case 3: return {{"type", in.flag() ? "RobertaProcessing" : "BertProcessing"},
                    {"cls", {"<s>", in.below(40)}}, {"sep", {"</s>", in.below(40)}}};
    case 4: return {{"type", "ByteLevel"}, {"add_prefix_space", in.flag()}, {"trim_offsets", in.flag()}};
    case 5: {
      nlohmann::json list = nlohmann::json::array();
      if (depth < 2)
        for (std::size_t n = in.below(3); n > 0; --n) list.push_back(fuzz_post_processor(in, depth + 1));
      return {{"type", "Sequence"}, {"processors", list}};
    }
    default: return {{"type", in.text()}};
  }
}

inline nlohmann::json fuzz_decoder(FuzzBytes& in, int depth) {
  switch (in.rarely() ? 10 : in.below(10)) {
    case 0: return nullptr;
    case 1: return {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}};
    case 2: return {{"type", "Metaspace"}, {"replacement", in.rarely() ? in.text() : in.character()}, {"prepend_scheme", in.flag() ? "always" : "never"}};
    case 3: return {{"type", "ByteFallback"}};
    case 4: return {{"type", "Fuse"}};
    case 5: return {{"type", "Strip"}, {"content", in.rarely() ? in.text() : in.character()}, {"start", in.below(3)}, {"stop", in.below(3)}};
    case 6: {
      nlohmann::json pattern;
      pattern[in.flag() ? "String" : "Regex"] = in.text();
      return {{"type", "Replace"}, {"pattern", pattern}, {"content", in.text()}};
    }
    case 7: return {{"type", "WordPiece"}, {"prefix", in.flag() ? "##" : in.text()}, {"cleanup", in.flag()}};
    case 8: return {{"type", "BPEDecoder"}, {"suffix", in.flag() ? "</w>" : in.text()}};
    case 9: {
      nlohmann::json list = nlohmann::json::array();
      if (depth < 2)
        for (std::size_t n = in.below(4); n > 0; --n) list.push_back(fuzz_decoder(in, depth + 1));
      return {{"type", "Sequence"}, {"decoders", list}};
    }
    default: return {{"type", in.text()}};
  }
}

inline nlohmann::json fuzz_tokenizer_json(FuzzBytes& in) {
  nlohmann::json j = {{"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr}};
  j["normalizer"] = fuzz_normalizer(in, 0);
  j["pre_tokenizer"] = fuzz_pre_tokenizer(in, 0);
  j["model"] = fuzz_model(in);
  j["post_processor"] = fuzz_post_processor(in, 0);
  j["decoder"] = fuzz_decoder(in, 0);
  nlohmann::json added = nlohmann::json::array();
  for (std::size_t n = in.below(5); n > 0; --n) {
    const std::uint8_t f = in.byte();
    added.push_back({{"id", in.below(64)}, {"content", in.flag() ? "<s>" : in.text()},
                     {"single_word", (f & 1) != 0}, {"lstrip", (f & 2) != 0}, {"rstrip", (f & 4) != 0},
                     {"normalized", (f & 8) != 0}, {"special", (f & 16) != 0}});
  }
  j["added_tokens"] = added;
  return j;
}

// Runs the tokenizer on `text` and checks what must hold whatever the file.
inline void exercise_tokenizer(const Tokenizer& tok, const std::string& text, FuzzBytes& in) {
  const bool valid = utf8::is_valid(text);
  for (const bool add_special : {false, true}) {
    std::vector<TokenId> ids;
    try {
      ids = tok.encode(text, add_special);
    } catch (const Error&) {
      continue;
    }
    if (!valid) throw std::logic_error("invalid UTF-8 was encoded without an Error");
    ++fuzz_stats().encodes;
    if (tok.encode(text, add_special) != ids) throw std::logic_error("a second encode gave other ids");
    if (!add_special) {
      for (const TokenId id : ids) {
        try {
          tok.id_to_token(id);
        } catch (const Error&) {
          throw std::logic_error("encode produced id " + std::to_string(id) + ", which has no token");
        }
      }
    }
    try {
      for (const bool skip : {false, true})
        if (!utf8::is_valid(tok.decode(ids, skip))) throw std::logic_error("decode gave invalid UTF-8");
    } catch (const Error&) {
    }
  }
  // Arbitrary ids, some out of range.
  std::vector<TokenId> ids;
  for (std::size_t n = in.below(16); n > 0; --n) ids.push_back(static_cast<TokenId>(in.byte()) - 8);
  try {
    tok.decode(ids, in.flag());
  } catch (const Error&) {
  }
  for (const TokenId id : ids) {
    tok.is_special(id);
    try {
      tok.token_to_id(tok.id_to_token(id));
    } catch (const Error&) {
    }
  }
  tok.token_to_id(text);
  tok.vocab_size();
}

// The first bytes of the input build a tokenizer.json, either as raw JSON
// text (mode byte % 4 == 0, then a 16-bit length) or by choosing components
// and their fields; the rest is the text to encode. A c2s::Error anywhere is
// an acceptable outcome; any other exception, a crash or a hang is a bug, and
// so are ids that encode produced but the tokenizer cannot name, encodings
// that change on a second call, and invalid UTF-8 that encodes without an
// Error.
inline void fuzz_hf_tokenizer(const std::uint8_t* data, std::size_t size) {
  FuzzBytes in(data, size);
  std::unique_ptr<Tokenizer> tok;
  std::string text;
  try {
    if (in.byte() % 4 == 0) {
      // Raw mode: two length bytes, that much JSON text, then the input.
      const std::size_t len = in.byte() | (static_cast<std::size_t>(in.byte()) << 8);
      const std::string json_text = in.raw(len);
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(json_text);
      } catch (const nlohmann::json::exception&) {
        return;
      }
      tok = parse_hf_tokenizer(j, "fuzz");
      text = in.rest();
    } else {
      const nlohmann::json j = fuzz_tokenizer_json(in);
      tok = parse_hf_tokenizer(j, "fuzz");
      if (in.rarely()) {
        text = in.raw(in.byte() + 256 * (in.byte() % 4));
      } else {
        for (std::size_t n = in.below(48); n > 0; --n) text += in.flag() ? in.character() : in.text();
      }
    }
  } catch (const Error&) {
    return;
  }
  ++fuzz_stats().tokenizers;
  exercise_tokenizer(*tok, text, in);
}

}  // namespace c2s::fuzzing
