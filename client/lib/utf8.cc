#include "client/lib/utf8.h"

#include <cstdint>

#include "absl/strings/str_format.h"

namespace ppsim::client {
namespace {

// Length of the well-formed sequence starting at text[i], or 0 (RFC 3629 §4's table).
size_t SequenceLength(absl::string_view text, size_t i) {
  const auto at = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  const uint8_t b = at(i);
  if (b < 0x80) return 1;
  size_t n;
  uint8_t lo = 0x80, hi = 0xbf;  // the second byte's range
  if (b >= 0xc2 && b <= 0xdf) {
    n = 2;
  } else if (b >= 0xe0 && b <= 0xef) {
    n = 3;
    if (b == 0xe0) lo = 0xa0;  // no overlongs
    if (b == 0xed) hi = 0x9f;  // no surrogates
  } else if (b >= 0xf0 && b <= 0xf4) {
    n = 4;
    if (b == 0xf0) lo = 0x90;
    if (b == 0xf4) hi = 0x8f;  // nothing past U+10FFFF
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  if (at(i + 1) < lo || at(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (at(i + k) < 0x80 || at(i + k) > 0xbf) return 0;
  }
  return n;
}

}  // namespace

absl::Status CheckUtf8(absl::string_view text, absl::string_view file) {
  size_t line = 1, line_start = 0;
  for (size_t i = 0; i < text.size();) {
    const size_t n = SequenceLength(text, i);
    if (n == 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s:%d:%d: byte 0x%02x is not valid UTF-8 (the file must be UTF-8 text)", file, line,
          i - line_start + 1, static_cast<uint8_t>(text[i])));
    }
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
    i += n;
  }
  return absl::OkStatus();
}

}  // namespace ppsim::client
