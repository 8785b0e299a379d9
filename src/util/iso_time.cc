#include "util/iso_time.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "util/coding.h"

namespace crew {

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static const unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Reads exactly n digits at text[pos]; advances pos.
bool Digits(std::string_view text, size_t& pos, size_t n, int& out) {
  if (pos + n > text.size()) return false;
  out = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = text[pos + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  pos += n;
  return true;
}

}  // namespace

std::string FormatIso(int64_t ms) {
  std::string out;
  AppendIso(ms, &out);
  return out;
}

void AppendIso(int64_t ms, std::string* to) {
  AppendWritten(to, kMaxIsoSize, [ms](char* p) { return WriteIso(ms, p); });
}

namespace {

// "00" to "99": two digits a copy each.
constexpr char kDigitPairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

char* PutPair(char* p, int64_t v) {
  std::memcpy(p, kDigitPairs + 2 * v, 2);
  return p + 2;
}

}  // namespace

char* WriteIso(int64_t ms, char* to) {
  int64_t days = ms >= 0 ? ms / 86400000 : (ms - 86399999) / 86400000;
  int64_t rem = ms - days * 86400000;
  // Every answer carries a few of these, nearly all of one day: each thread keeps the last day's
  // "YYYY-MM-DDT" (no snprintf, ~3,000 instructions; no date arithmetic, ~100).
  thread_local int64_t date_day = INT64_MIN;
  thread_local char date[11];
  if (days != date_day) {
    int64_t y;
    unsigned m, d;
    CivilFromDays(days, y, m, d);
    if (y >= 0 && y <= 9999) {
      char* p = PutPair(PutPair(date, y / 100), y % 100);
      *p++ = '-';
      p = PutPair(p, m);
      *p++ = '-';
      p = PutPair(p, d);
      *p = 'T';
      date_day = days;
    }
  }
  if (days == date_day) {
    std::memcpy(to, date, sizeof date);
    char* p = PutPair(to + sizeof date, rem / 3600000);
    *p++ = ':';
    p = PutPair(p, rem / 60000 % 60);
    *p++ = ':';
    p = PutPair(p, rem / 1000 % 60);
    *p++ = '.';
    const int64_t millis = rem % 1000;
    *p++ = static_cast<char>('0' + millis / 100);
    p = PutPair(p, millis % 100);
    *p++ = 'Z';
    return p;
  }
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, y, m, d);
  char buf[kMaxIsoSize + 1];
  const int n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ",
                              static_cast<long long>(y), m, d, static_cast<int>(rem / 3600000),
                              static_cast<int>(rem / 60000 % 60), static_cast<int>(rem / 1000 % 60),
                              static_cast<int>(rem % 1000));
  const size_t len = std::min<size_t>(n > 0 ? static_cast<size_t>(n) : 0, kMaxIsoSize);
  std::memcpy(to, buf, len);
  return to + len;
}

std::optional<int64_t> ParseIso(std::string_view text) {
  size_t pos = 0;
  int year, month, day, hour = 0, minute = 0, second = 0, millis = 0;
  if (!Digits(text, pos, 4, year) || pos >= text.size() || text[pos++] != '-' ||
      !Digits(text, pos, 2, month) || pos >= text.size() || text[pos++] != '-' ||
      !Digits(text, pos, 2, day)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || static_cast<unsigned>(day) > DaysInMonth(year, month)) {
    return std::nullopt;
  }
  int64_t offset_min = 0;
  if (pos < text.size() && (text[pos] == 'T' || text[pos] == 't' || text[pos] == ' ')) {
    ++pos;
    if (!Digits(text, pos, 2, hour) || pos >= text.size() || text[pos++] != ':' ||
        !Digits(text, pos, 2, minute)) {
      return std::nullopt;
    }
    if (pos < text.size() && text[pos] == ':') {
      ++pos;
      if (!Digits(text, pos, 2, second)) return std::nullopt;
      if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
        ++pos;
        size_t start = pos;
        int scale = 100;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
          millis += (text[pos] - '0') * scale;
          scale /= 10;
          ++pos;
        }
        if (pos == start) return std::nullopt;
      }
    }
    if (hour > 24 || minute > 59 || second > 59 || (hour == 24 && (minute || second || millis))) {
      return std::nullopt;
    }
    if (pos < text.size()) {
      char c = text[pos];
      if (c == 'Z' || c == 'z') {
        ++pos;
      } else if (c == '+' || c == '-') {
        ++pos;
        int oh, om = 0;
        if (!Digits(text, pos, 2, oh)) return std::nullopt;
        if (pos < text.size() && text[pos] == ':') ++pos;
        if (pos < text.size() && !Digits(text, pos, 2, om)) return std::nullopt;
        if (oh > 23 || om > 59) return std::nullopt;
        offset_min = (c == '+' ? 1 : -1) * (oh * 60 + om);
      }
    }
  }
  if (pos != text.size()) return std::nullopt;
  int64_t days = DaysFromCivil(year, month, day);
  int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_min * 60;
  return secs * 1000 + millis;
}

}  // namespace crew
