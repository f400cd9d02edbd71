// UTF-8 validation and lossy decoding by the table of well-formed byte
// sequences (Unicode 15, table 3-7).
#include "text/utf8.hpp"

#include "core/error.hpp"

namespace c2s::utf8 {
namespace {

// Length of the well-formed sequence at text[i], or the length of the longest
// well-formed prefix (negated, at least 1 byte) when it is ill-formed.
long sequence_at(std::string_view text, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  if (b0 < 0x80) return 1;
  int need;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return -1;
  }
  for (int k = 1; k <= need; ++k) {
    if (i + static_cast<std::size_t>(k) >= text.size()) return -k;
    const auto b = static_cast<unsigned char>(text[i + static_cast<std::size_t>(k)]);
    if (b < lo || b > hi) return -k;
    lo = 0x80;
    hi = 0xBF;
  }
  return need + 1;
}

}  // namespace

std::size_t find_invalid(std::string_view text) {
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    // ASCII runs are the common case: skip them eight bytes at a time.
    while (i + 8 <= n) {
      std::uint64_t w;
      __builtin_memcpy(&w, text.data() + i, 8);
      if (w & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= n) break;
    const long len = sequence_at(text, i);
    if (len < 0) return i;
    i += static_cast<std::size_t>(len);
  }
  return std::string_view::npos;
}

void require_valid(std::string_view text, const std::string& context) {
  if (const auto at = find_invalid(text); at != std::string_view::npos)
    throw Error(context, "invalid UTF-8 at byte " + std::to_string(at));
}

std::string from_bytes_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  std::size_t i = 0;
  while (i < bytes.size()) {
    const long len = sequence_at(bytes, i);
    if (len > 0) {
      out.append(bytes.data() + i, static_cast<std::size_t>(len));
      i += static_cast<std::size_t>(len);
    } else {
      out.append("\xEF\xBF\xBD");
      i += static_cast<std::size_t>(-len);
    }
  }
  return out;
}

}  // namespace c2s::utf8
