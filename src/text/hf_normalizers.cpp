// Normalizers work on plain strings: c2s needs ids, not offsets into the
// input, so the alignment bookkeeping of the Rust NormalizedString is left out.
#include "text/hf_normalizers.hpp"

#include <vector>

#include "text/byte_level.hpp"
#include "text/onig_regex.hpp"
#include "text/unicode_categories.hpp"
#include "text/unicode_normalization.hpp"
#include "text/utf8.hpp"

namespace c2s {
namespace {

class UnicodeFormNormalizer final : public HfNormalizer {
 public:
  explicit UnicodeFormNormalizer(unicode::NormalForm form) : form_(form) {}
  bool normalize(std::string& text) const override {
    text = unicode::normalize(text, form_);
    return false;
  }

 private:
  unicode::NormalForm form_;
};

class LowercaseNormalizer final : public HfNormalizer {
 public:
  bool normalize(std::string& text) const override {
    text = unicode::to_lowercase(text);
    return false;
  }
};

class StripNormalizer final : public HfNormalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  bool normalize(std::string& text) const override {
    std::size_t begin = 0, end = text.size();
    if (left_) {
      while (begin < end) {
        std::size_t i = begin;
        if (!unicode::is_whitespace(utf8::next(text, i))) break;
        begin = i;
      }
    }
    if (right_) {
      while (end > begin) {
        std::size_t i = end;
        if (!unicode::is_whitespace(utf8::previous(text, i))) break;
        end = i;
      }
    }
    text = text.substr(begin, end - begin);
    return begin > 0;
  }

 private:
  bool left_, right_;
};

// Removes combining marks (general category M*), which after NFD are the
// accents.
class StripAccentsNormalizer final : public HfNormalizer {
 public:
  bool normalize(std::string& text) const override {
    std::string out;
    out.reserve(text.size());
    bool first_dropped = false;
    for (std::size_t i = 0; i < text.size();) {
      const std::size_t start = i;
      const char32_t cp = utf8::next(text, i);
      if (!unicode::is_mark(cp))
        out.append(text, start, i - start);
      else if (start == 0)
        first_dropped = true;
    }
    text = std::move(out);
    return first_dropped;
  }
};

class PrependNormalizer final : public HfNormalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  // Like NormalizedString::prepend, nothing is added to an empty string.
  bool normalize(std::string& text) const override {
    if (!text.empty()) text.insert(0, prefix_);
    return false;
  }

 private:
  std::string prefix_;
};

class ReplaceNormalizer final : public HfNormalizer {
 public:
  ReplaceNormalizer(const std::string& pattern, std::string content, const std::string& context)
      : regex_(pattern, context), content_(std::move(content)) {}
  bool normalize(std::string& text) const override {
    if (text.empty()) return false;
    std::vector<std::pair<std::size_t, std::size_t>> matches;
    regex_.find_all(text, matches);
    if (matches.empty()) return false;
    // Replacement text takes the place of what it replaces; only deleting
    // a match at the start moves where the text starts.
    const bool first_dropped = content_.empty() && matches[0].first == 0 && matches[0].second > 0;
    std::string out;
    out.reserve(text.size());
    std::size_t prev = 0;
    for (const auto& [s, e] : matches) {
      out.append(text, prev, s - prev);
      out.append(content_);
      prev = e;
    }
    out.append(text, prev, std::string::npos);
    text = std::move(out);
    return first_dropped;
  }

 private:
  OnigRegex regex_;
  std::string content_;
};

class ByteLevelNormalizer final : public HfNormalizer {
 public:
  bool normalize(std::string& text) const override {
    std::string out;
    out.reserve(text.size() * 2);
    byte_level::append_chars(out, text);
    text = std::move(out);
    return false;
  }
};

class SequenceNormalizer final : public HfNormalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<HfNormalizer>> steps) : steps_(std::move(steps)) {}
  bool normalize(std::string& text) const override {
    bool first_dropped = false;
    for (const auto& s : steps_) first_dropped |= s->normalize(text);
    return first_dropped;
  }

 private:
  std::vector<std::unique_ptr<HfNormalizer>> steps_;
};

}  // namespace

std::unique_ptr<HfNormalizer> parse_hf_normalizer(const nlohmann::json& json, const std::string& where,
                                                  const std::string& file) {
  if (json.is_null()) return nullptr;
  const HfJsonComponent c(json, where, file);
  const std::string type = c.type();
  if (type == "NFC") return std::make_unique<UnicodeFormNormalizer>(unicode::NormalForm::NFC);
  if (type == "NFD") return std::make_unique<UnicodeFormNormalizer>(unicode::NormalForm::NFD);
  if (type == "NFKC") return std::make_unique<UnicodeFormNormalizer>(unicode::NormalForm::NFKC);
  if (type == "NFKD") return std::make_unique<UnicodeFormNormalizer>(unicode::NormalForm::NFKD);
  if (type == "Lowercase") return std::make_unique<LowercaseNormalizer>();
  if (type == "StripAccents") return std::make_unique<StripAccentsNormalizer>();
  if (type == "ByteLevel") return std::make_unique<ByteLevelNormalizer>();
  if (type == "Strip") return std::make_unique<StripNormalizer>(c.boolean("strip_left"), c.boolean("strip_right"));
  if (type == "Prepend") return std::make_unique<PrependNormalizer>(c.string("prepend"));
  if (type == "Replace") {
    return std::make_unique<ReplaceNormalizer>(c.pattern_regex("pattern"), c.string("content"), file + ": " + where + " (Replace)");
  }
  if (type == "Sequence") {
    return std::make_unique<SequenceNormalizer>(c.components("normalizers", parse_hf_normalizer));
  }
  if (type == "BertNormalizer" || type == "Precompiled" || type == "Nmt")
    c.fail("normalizer type '" + type + "' is not supported by c2s");
  c.fail("unknown normalizer type '" + type + "'");
}

}  // namespace c2s
