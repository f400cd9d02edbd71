// Normal forms through utf8proc_map, with fast paths for text that no normal
// form changes (ASCII, and for the canonical forms anything below U+0300).
#include "text/unicode_normalization.hpp"

#include <utf8proc.h>

#include <cstdlib>
#include <memory>

#include "core/error.hpp"
#include "text/utf8.hpp"

namespace c2s::unicode {
namespace {

// ASCII is unchanged by every normal form. Below U+0300 nothing composes
// with a neighbour and every character is already composed, so NFC also
// leaves such text alone (NFD would split À; NFKC would change U+00A0).
bool unchanged_by(std::string_view text, NormalForm form) {
  const bool canonical = form == NormalForm::NFC;
  for (std::size_t i = 0; i < text.size();) {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    if (!canonical) return false;
    // Two-byte sequences with lead C2..CB encode U+0080..U+02FF.
    if (b > 0xCB) return false;
    i += 2;
  }
  return true;
}

}  // namespace

std::string normalize(std::string_view text, NormalForm form) {
  if (unchanged_by(text, form)) return std::string(text);
  int options = UTF8PROC_STABLE;
  switch (form) {
    case NormalForm::NFC: options |= UTF8PROC_COMPOSE; break;
    case NormalForm::NFD: options |= UTF8PROC_DECOMPOSE; break;
    case NormalForm::NFKC: options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT; break;
    case NormalForm::NFKD: options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT; break;
  }
  utf8proc_uint8_t* out = nullptr;
  const auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                              static_cast<utf8proc_ssize_t>(text.size()), &out, static_cast<utf8proc_option_t>(options));
  if (n < 0) throw Error(std::string("unicode normalization: ") + utf8proc_errmsg(n));
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(out, &std::free);
  return std::string(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
}

std::string to_lowercase(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b < 0x80) {
      out.push_back(static_cast<char>(b >= 'A' && b <= 'Z' ? b + 32 : b));
      ++i;
      continue;
    }
    const char32_t cp = utf8::next(text, i);
    if (cp == 0x130) {
      out.append("i\xCC\x87");
      continue;
    }
    utf8::append(out, static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))));
  }
  return out;
}

}  // namespace c2s::unicode
