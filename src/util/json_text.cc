#include "util/json_text.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdlib>

#include "util/ascii.h"

namespace crew {

namespace {

constexpr std::string_view kReplacement = "\\ufffd";
constexpr std::string_view kReplacementUtf8 = "\xEF\xBF\xBD";

// The code unit of a `\uXXXX` escape at text[i] (the backslash), or -1.
int EscapedUnit(std::string_view text, size_t i) {
  if (i + 6 > text.size() || text[i] != '\\' || text[i + 1] != 'u') return -1;
  int unit = 0;
  for (size_t k = i + 2; k < i + 6; ++k) {
    int h = HexValue(text[k]);
    if (h < 0) return -1;
    unit = unit * 16 + h;
  }
  return unit;
}

// The length of the well-formed UTF-8 sequence at text[i], or 0 (RFC 3629: no overlong forms,
// no surrogates, nothing past U+10FFFF).
size_t Utf8Length(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  const uint8_t b = byte(i);
  size_t n;
  uint8_t lo = 0x80, hi = 0xBF;
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) {
    n = 2;
  } else if (b >= 0xE0 && b <= 0xEF) {
    n = 3;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    n = 4;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > text.size() || byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = i + 2; k < i + n; ++k) {
    if (byte(k) < 0x80 || byte(k) > 0xBF) return 0;
  }
  return n;
}

// Whether the integer literal's digits (no sign) exceed what a 64-bit integer holds: uint64 for
// a positive one, int64 for a negative one.
bool BeyondInt64(std::string_view digits, bool negative) {
  const std::string_view max = negative ? "9223372036854775808" : "18446744073709551615";
  if (digits.size() != max.size()) return digits.size() > max.size();
  return digits > max;
}

}  // namespace

std::optional<std::string> JavaScriptJson(std::string_view text, bool fix_utf8) {
  std::string out;
  bool changed = false;
  out.reserve(text.size() + 16);
  bool in_string = false;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (in_string) {
      if (c == '"') {
        in_string = false;
      } else if (c == '\\') {
        const int unit = EscapedUnit(text, i);
        if (unit >= 0xD800 && unit <= 0xDBFF) {
          const int next = EscapedUnit(text, i + 6);
          if (next >= 0xDC00 && next <= 0xDFFF) {
            out.append(text.substr(i, 12));
            i += 12;
          } else {
            out.append(kReplacement);
            changed = true;
            i += 6;
          }
          continue;
        }
        if (unit >= 0xDC00 && unit <= 0xDFFF) {
          out.append(kReplacement);
          changed = true;
          i += 6;
          continue;
        }
        const size_t n = i + 1 < text.size() ? 2 : 1;  // (any other escape: kept as it is)
        out.append(text.substr(i, n));
        i += n;
        continue;
      } else if (fix_utf8 && static_cast<uint8_t>(c) >= 0x80) {
        const size_t n = Utf8Length(text, i);
        if (n == 0) {
          out.append(kReplacementUtf8);
          changed = true;
          ++i;
        } else {
          out.append(text.substr(i, n));
          i += n;
        }
        continue;
      }
      out.push_back(c);
      ++i;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      size_t end = i + (c == '-');
      const size_t digits_start = end;
      while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
      const bool integer =
          end >= text.size() || (text[end] != '.' && text[end] != 'e' && text[end] != 'E');
      out.append(text.substr(i, end - i));
      if (integer && BeyondInt64(text.substr(digits_start, end - digits_start), c == '-')) {
        out.append(".0");
        changed = true;
      }
      i = end;
      continue;
    }
    out.push_back(c);
    ++i;
  }
  if (!changed) return std::nullopt;
  return out;
}

char* ToJsNumber(double v, char* out) {
  if (v == 0) {  // (-0 too)
    *out = '0';
    return out + 1;
  }
  char sci[32];  // "-d.ddddddddddddddde-308": the shortest round trip, in exponent form
  const char* sci_end = std::to_chars(sci, sci + sizeof sci, v, std::chars_format::scientific).ptr;
  const char* p = sci;
  if (*p == '-') *out++ = *p++;
  const char* e = std::find(p, sci_end, 'e');
  char digits[20];
  int k = 0;
  for (const char* d = p; d < e; ++d) {
    if (*d != '.') digits[k++] = *d;
  }
  int exponent = 0;
  std::from_chars(e + 1 + (e[1] == '+'), sci_end, exponent);
  const int n = exponent + 1;  // where the decimal point goes, counted in digits
  auto put = [&](const char* from, int count) { out = std::copy(from, from + count, out); };
  if (k <= n && n <= 21) {  // an integer: the digits, then zeros
    put(digits, k);
    out = std::fill_n(out, n - k, '0');
  } else if (0 < n && n <= 21) {  // 1.5
    put(digits, n);
    *out++ = '.';
    put(digits + n, k - n);
  } else if (-6 < n && n <= 0) {  // 0.0001
    *out++ = '0';
    *out++ = '.';
    out = std::fill_n(out, -n, '0');
    put(digits, k);
  } else {  // 1.5e-7, 1e+21
    *out++ = digits[0];
    if (k > 1) {
      *out++ = '.';
      put(digits + 1, k - 1);
    }
    *out++ = 'e';
    *out++ = n - 1 < 0 ? '-' : '+';
    out = std::to_chars(out, out + 4, std::abs(n - 1)).ptr;
  }
  return out;
}

}  // namespace crew
