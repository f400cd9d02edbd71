// Decoders as decoders/*.rs define them, token list in, token list out.
#include "text/hf_decoders.hpp"

#include "text/byte_level.hpp"
#include "text/onig_regex.hpp"
#include "text/utf8.hpp"

namespace c2s {
namespace {

// Joins all tokens into one, mapping byte-level characters back to bytes; a
// token with any character outside the alphabet keeps its own bytes.
class ByteLevelDecoder final : public HfDecoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string bytes;
    for (const auto& t : tokens) {
      const std::size_t mark = bytes.size();
      bool mapped = true;
      for (std::size_t i = 0; i < t.size();) {
        const int b = byte_level::byte_of_char(utf8::next(t, i));
        if (b < 0) {
          mapped = false;
          break;
        }
        bytes.push_back(static_cast<char>(b));
      }
      if (!mapped) {
        bytes.resize(mark);
        bytes.append(t);
      }
    }
    tokens.assign(1, utf8::from_bytes_lossy(bytes));
  }
};

class MetaspaceDecoder final : public HfDecoder {
 public:
  MetaspaceDecoder(char32_t replacement, bool prepends) : replacement_(replacement), prepends_(prepends) {}
  // Every replacement character becomes a space, except in the first token,
  // where they are dropped when the pre-tokenizer prepends one.
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::size_t k = 0; k < tokens.size(); ++k) {
      const std::string& t = tokens[k];
      std::string out;
      out.reserve(t.size());
      for (std::size_t i = 0; i < t.size();) {
        const std::size_t start = i;
        if (utf8::next(t, i) == replacement_) {
          if (!(k == 0 && prepends_)) out.push_back(' ');
        } else {
          out.append(t, start, i - start);
        }
      }
      tokens[k] = std::move(out);
    }
  }

 private:
  char32_t replacement_;
  bool prepends_;
};

// Runs of <0xXX> tokens become the bytes they name: their text when the run
// is valid UTF-8, else one U+FFFD per byte.
class ByteFallbackDecoder final : public HfDecoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    std::string pending;
    auto flush = [&] {
      if (pending.empty()) return;
      if (utf8::is_valid(pending))
        out.push_back(pending);
      else
        for (std::size_t i = 0; i < pending.size(); ++i) out.emplace_back("\xEF\xBF\xBD");
      pending.clear();
    };
    for (auto& t : tokens) {
      int byte = -1;
      if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>') byte = hex_byte(t[3], t[4]);
      if (byte >= 0) {
        pending.push_back(static_cast<char>(byte));
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    tokens = std::move(out);
  }

 private:
  static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  static int hex_byte(char hi, char lo) {
    const int h = hex_digit(hi), l = hex_digit(lo);
    return h < 0 || l < 0 ? -1 : h * 16 + l;
  }
};

class FuseDecoder final : public HfDecoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string all;
    for (const auto& t : tokens) all += t;
    tokens.assign(1, std::move(all));
  }
};

// Removes up to `start` leading and `stop` trailing `content` characters
// from each token.
class StripDecoder final : public HfDecoder {
 public:
  StripDecoder(char32_t content, std::size_t start, std::size_t stop) : content_(content), start_(start), stop_(stop) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (auto& t : tokens) {
      std::vector<std::size_t> bounds;  // byte offset of each character, then the end
      for (std::size_t i = 0; i < t.size();) {
        bounds.push_back(i);
        utf8::next(t, i);
      }
      const std::size_t n = bounds.size();
      bounds.push_back(t.size());
      auto char_at = [&](std::size_t k) {
        std::size_t i = bounds[k];
        return utf8::next(t, i);
      };
      std::size_t start_cut = 0;
      for (std::size_t k = 0; k < std::min(start_, n); ++k) {
        if (char_at(k) != content_) break;
        start_cut = k + 1;
      }
      std::size_t stop_cut = n;
      for (std::size_t k = 0; k < std::min(stop_, n - start_cut); ++k) {
        const std::size_t index = n - k - 1;
        if (char_at(index) != content_) break;
        stop_cut = index;
      }
      t = t.substr(bounds[start_cut], bounds[stop_cut] - bounds[start_cut]);
    }
  }

 private:
  char32_t content_;
  std::size_t start_, stop_;
};

class ReplaceDecoder final : public HfDecoder {
 public:
  ReplaceDecoder(const std::string& regex, std::string content, const std::string& context)
      : regex_(regex, context), content_(std::move(content)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::pair<std::size_t, std::size_t>> matches;
    for (auto& t : tokens) {
      if (t.empty()) continue;
      matches.clear();
      regex_.find_all(t, matches);
      if (matches.empty()) continue;
      std::string out;
      std::size_t prev = 0;
      for (const auto& [s, e] : matches) {
        out.append(t, prev, s - prev);
        out.append(content_);
        prev = e;
      }
      out.append(t, prev, std::string::npos);
      t = std::move(out);
    }
  }

 private:
  OnigRegex regex_;
  std::string content_;
};

class WordPieceDecoder final : public HfDecoder {
 public:
  WordPieceDecoder(std::string prefix, bool cleanup) : prefix_(std::move(prefix)), cleanup_(cleanup) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      auto& t = tokens[i];
      if (i != 0) {
        if (t.compare(0, prefix_.size(), prefix_) == 0)
          t.erase(0, prefix_.size());
        else
          t = " " + t;
      }
      if (cleanup_) t = cleanup(t);
    }
  }

 private:
  static void replace_all(std::string& s, std::string_view from, std::string_view to) {
    std::string out;
    std::size_t prev = 0;
    for (std::size_t pos; (pos = s.find(from, prev)) != std::string::npos; prev = pos + from.size()) {
      out.append(s, prev, pos - prev);
      out.append(to);
    }
    out.append(s, prev, std::string::npos);
    s = std::move(out);
  }
  static std::string cleanup(std::string s) {
    static const std::pair<std::string_view, std::string_view> kRules[] = {
        {" .", "."},   {" ?", "?"},     {" !", "!"},           {" ,", ","},   {" ' ", "'"},   {" n't", "n't"},
        {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
    for (const auto& [from, to] : kRules) replace_all(s, from, to);
    return s;
  }
  std::string prefix_;
  bool cleanup_;
};

// BPEDecoder: the end-of-word suffix becomes a space, or nothing in the last
// token. Rust's str::replace with an empty suffix inserts at every character
// boundary, and so does this.
class BpeSuffixDecoder final : public HfDecoder {
 public:
  explicit BpeSuffixDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      auto& t = tokens[i];
      const std::string_view to = i + 1 == tokens.size() ? "" : " ";
      std::string out;
      if (suffix_.empty()) {
        out.append(to);
        for (std::size_t k = 0; k < t.size();) {
          const std::size_t start = k;
          utf8::next(t, k);
          out.append(t, start, k - start);
          out.append(to);
        }
      } else {
        std::size_t prev = 0;
        for (std::size_t pos; (pos = t.find(suffix_, prev)) != std::string::npos; prev = pos + suffix_.size()) {
          out.append(t, prev, pos - prev);
          out.append(to);
        }
        out.append(t, prev, std::string::npos);
      }
      t = std::move(out);
    }
  }

 private:
  std::string suffix_;
};

class SequenceDecoder final : public HfDecoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<HfDecoder>> steps) : steps_(std::move(steps)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (const auto& s : steps_) s->decode_chain(tokens);
  }

 private:
  std::vector<std::unique_ptr<HfDecoder>> steps_;
};

}  // namespace

std::unique_ptr<HfDecoder> parse_hf_decoder(const nlohmann::json& json, const std::string& where,
                                            const std::string& file) {
  if (json.is_null()) return nullptr;
  const HfJsonComponent c(json, where, file);
  const std::string type = c.type();
  if (type == "ByteLevel") {
    c.boolean("add_prefix_space");  // required by the library, no effect on decoding
    c.boolean("trim_offsets");
    return std::make_unique<ByteLevelDecoder>();
  }
  if (type == "Metaspace") {
    bool prepends = true;
    if (c.find("prepend_scheme")) {
      const std::string s = c.string("prepend_scheme");
      if (s != "always" && s != "first" && s != "never") c.fail("unknown prepend_scheme '" + s + "'");
      prepends = s != "never";
    }
    if (c.find("add_prefix_space") && !c.boolean("add_prefix_space")) {
      if (prepends && c.find("prepend_scheme")) c.fail("add_prefix_space does not match declared prepend_scheme");
      prepends = false;
    }
    return std::make_unique<MetaspaceDecoder>(c.character("replacement"), prepends);
  }
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Strip")
    return std::make_unique<StripDecoder>(c.character("content"), c.unsigned_integer("start"), c.unsigned_integer("stop"));
  if (type == "Replace") {
    return std::make_unique<ReplaceDecoder>(c.pattern_regex("pattern"), c.string("content"),
                                            file + ": " + where + " (Replace)");
  }
  if (type == "WordPiece") return std::make_unique<WordPieceDecoder>(c.string("prefix"), c.boolean("cleanup"));
  if (type == "BPEDecoder") return std::make_unique<BpeSuffixDecoder>(c.string("suffix"));
  if (type == "Sequence") {
    return std::make_unique<SequenceDecoder>(c.components("decoders", parse_hf_decoder));
  }
  if (type == "CTC") c.fail("decoder type 'CTC' is not supported by c2s");
  c.fail("unknown decoder type '" + type + "'");
}

}  // namespace c2s
