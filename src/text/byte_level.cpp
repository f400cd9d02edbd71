// Byte-level alphabet tables and the GPT-2 scanner, which tries the regex's
// alternatives in order at each position as the backtracking engine does.
#include "text/byte_level.hpp"

#include <array>

#include "text/unicode_categories.hpp"
#include "text/utf8.hpp"

namespace c2s::byte_level {
namespace {

struct Alphabet {
  std::array<char32_t, 256> chars{};
  std::array<std::array<char, 2>, 256> utf8{};
  std::array<std::uint8_t, 256> utf8_len{};
  // Characters used are below U+0144 (256 + 68).
  std::array<std::int16_t, 0x200> bytes{};

  Alphabet() {
    bytes.fill(-1);
    unsigned extra = 0;
    for (unsigned b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      chars[b] = printable ? b : 256 + extra++;
      bytes[chars[b]] = static_cast<std::int16_t>(b);
      std::string s;
      utf8::append(s, chars[b]);
      utf8_len[b] = static_cast<std::uint8_t>(s.size());
      for (std::size_t k = 0; k < s.size(); ++k) utf8[b][k] = s[k];
    }
  }
};

const Alphabet& alphabet() {
  static const Alphabet a;
  return a;
}

enum class Kind : std::uint8_t { Letter, Number, Space, Other };

// ASCII kinds by table; the scanner meets ASCII almost always.
constexpr std::array<Kind, 128> make_ascii_kinds() {
  std::array<Kind, 128> k{};
  for (unsigned c = 0; c < 128; ++c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
      k[c] = Kind::Letter;
    else if (c >= '0' && c <= '9')
      k[c] = Kind::Number;
    else if (c == ' ' || (c >= 0x09 && c <= 0x0D))
      k[c] = Kind::Space;
    else
      k[c] = Kind::Other;
  }
  return k;
}
constexpr auto kAsciiKinds = make_ascii_kinds();

Kind kind_of(char32_t c) {
  if (c < 0x80) return kAsciiKinds[c];
  if (unicode::is_letter(c)) return Kind::Letter;
  if (unicode::is_number(c)) return Kind::Number;
  if (unicode::is_whitespace(c)) return Kind::Space;
  return Kind::Other;
}

struct Cursor {
  std::string_view text;
  // Kind and end of the character at byte i (i < text.size()).
  Kind kind_at(std::size_t i, std::size_t& next) const {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b < 0x80) {
      next = i + 1;
      return kAsciiKinds[b];
    }
    next = i;
    return kind_of(utf8::next(text, next));
  }
  // End of the run of characters of kind `k` starting at i.
  std::size_t run_end(std::size_t i, Kind k) const {
    while (i < text.size()) {
      std::size_t next;
      if (kind_at(i, next) != k) break;
      i = next;
    }
    return i;
  }
  // End of the run of characters that are neither letters, numbers nor space.
  std::size_t other_run_end(std::size_t i) const { return run_end(i, Kind::Other); }
};

// Length of the contraction ('s 't 're 've 'm 'll 'd) at i, or 0.
std::size_t contraction_at(std::string_view text, std::size_t i) {
  if (text[i] != '\'' || i + 1 >= text.size()) return 0;
  const char a = text[i + 1];
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if (i + 2 >= text.size()) return 0;
  const char b = text[i + 2];
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  return 0;
}

}  // namespace

char32_t char_of_byte(std::uint8_t b) { return alphabet().chars[b]; }

int byte_of_char(char32_t c) { return c < 0x200 ? alphabet().bytes[c] : -1; }

void append_chars(std::string& out, std::string_view bytes) {
  const auto& a = alphabet();
  const std::size_t start = out.size();
  out.resize(start + 2 * bytes.size());
  char* w = out.data() + start;
  for (unsigned char b : bytes) {
    w[0] = a.utf8[b][0];
    w[1] = a.utf8[b][1];
    w += a.utf8_len[b];
  }
  out.resize(static_cast<std::size_t>(w - out.data()));
}

void split_gpt2(std::string_view text, std::vector<std::pair<std::size_t, std::size_t>>& matches) {
  const Cursor cur{text};
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    std::size_t end;
    if (const std::size_t c = contraction_at(text, i)) {
      matches.emplace_back(i, i + c);
      i += c;
      continue;
    }
    std::size_t next;
    Kind k = cur.kind_at(i, next);
    // ` ?\p{L}+`, ` ?\p{N}+` and ` ?[^\s\p{L}\p{N}]+` with their leading space.
    if (text[i] == ' ' && next < n) {
      std::size_t after;
      const Kind k2 = cur.kind_at(next, after);
      if (k2 != Kind::Space) {
        end = cur.run_end(after, k2);
        matches.emplace_back(i, end);
        i = end;
        continue;
      }
    }
    if (k != Kind::Space) {
      end = cur.run_end(next, k);
      matches.emplace_back(i, end);
      i = end;
      continue;
    }
    // `\s+(?!\S)`: a run of spaces, less its last character when text
    // follows it; `\s+` then takes a single space character before text.
    std::size_t last = i;
    end = next;
    while (end < n) {
      std::size_t after;
      if (cur.kind_at(end, after) != Kind::Space) break;
      last = end;
      end = after;
    }
    if (end < n && last > i) end = last;
    matches.emplace_back(i, end);
    i = end;
  }
}

}  // namespace c2s::byte_level
