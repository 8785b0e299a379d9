// ASCII helpers for protocol text (header names, tokens, route literals, escapes): locale-free
// and inline, where std::tolower and std::isxdigit are a call into the C library per character
// and depend on the locale.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

namespace crew {

inline constexpr char FoldCase(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c;
}

// Eight characters at a time, in a 64-bit word (a loop per character costs a compare and a
// branch or two each, and headers are read on every request).
namespace word {

inline constexpr uint64_t kOnes = 0x0101010101010101ULL;
inline constexpr uint64_t kHighs = 0x8080808080808080ULL;

inline uint64_t Load(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

// The high bit of each byte of `w` equal to `c`; bits above the lowest one may be set
// spuriously (a borrow carries up), so the mask answers "any?" and, on a little-endian machine,
// "which is first?" exactly, nothing more.
inline uint64_t BytesEqual(uint64_t w, char c) {
  const uint64_t x = w ^ (kOnes * static_cast<uint8_t>(c));
  return (x - kOnes) & ~x & kHighs;
}

// `w` with its bytes 'A'..'Z' made lower case (bytewise: no carry crosses a byte).
inline uint64_t FoldCase(uint64_t w) {
  const uint64_t low7 = w & ~kHighs;
  const uint64_t at_least_a = low7 + kOnes * (0x80 - 'A');    // high bit: >= 'A'
  const uint64_t past_z = low7 + kOnes * (0x80 - 'Z' - 1);    // high bit: > 'Z'
  const uint64_t upper = at_least_a & ~past_z & ~w & kHighs;  // (an ASCII byte)
  return w | (upper >> 2);                                    // 0x80 >> 2: 'a' - 'A'
}

}  // namespace word

inline constexpr bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  const size_t n = a.size();
  if (!std::is_constant_evaluated() && n >= 8) {
    // Whole words, then the last eight characters (overlapping the last word).
    for (size_t i = 0; i + 8 <= n; i += 8) {
      if (word::FoldCase(word::Load(a.data() + i)) != word::FoldCase(word::Load(b.data() + i))) {
        return false;
      }
    }
    return word::FoldCase(word::Load(a.data() + n - 8)) ==
           word::FoldCase(word::Load(b.data() + n - 8));
  }
  for (size_t i = 0; i < n; ++i) {
    if (FoldCase(a[i]) != FoldCase(b[i])) return false;
  }
  return true;
}

inline constexpr bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && EqualsNoCase(text.substr(0, prefix.size()), prefix);
}

// The value of a hexadecimal digit, either case; -1 for any other character.
inline constexpr int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace crew
