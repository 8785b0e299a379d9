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

namespace {

// How many digits follow text[pos].
size_t DigitRun(std::string_view text, size_t pos) {
  size_t n = 0;
  while (pos + n < text.size() && text[pos + n] >= '0' && text[pos + n] <= '9') ++n;
  return n;
}

bool At(std::string_view text, size_t pos, char c) { return pos < text.size() && text[pos] == c; }

// The Monday of the year's ISO week 1 (the week of its first Thursday, so of January 4th), in
// days since the epoch (a Thursday).
int64_t WeekOneMonday(int64_t year) {
  const int64_t jan4 = DaysFromCivil(year, 1, 4);
  return jan4 - ((jan4 + 3) % 7 + 7) % 7;
}

// The date part: a calendar date (YYYY, YYYY-MM, YYYY-MM-DD, YYYYMMDD), a week date (YYYY-Www,
// YYYY-Www-D, YYYYWwwD) or an ordinal date (YYYY-DDD, YYYYDDD); the year may be ±YYYYYY. Its
// days since the epoch, or nullopt.
std::optional<int64_t> ParseIsoDate(std::string_view text, size_t& pos) {
  int64_t year;
  int digits;
  if (At(text, pos, '+') || At(text, pos, '-')) {
    const bool minus = text[pos++] == '-';
    if (!Digits(text, pos, 6, digits)) return std::nullopt;
    year = minus ? -digits : digits;
  } else {
    if (!Digits(text, pos, 4, digits)) return std::nullopt;
    year = digits;
  }
  const bool dash = At(text, pos, '-');
  if (At(text, pos + dash, 'W')) {  // week date: week 1 holds the year's first Thursday
    pos += dash + 1;
    int week, weekday = 1;
    if (!Digits(text, pos, 2, week)) return std::nullopt;
    if (dash ? At(text, pos, '-') : DigitRun(text, pos) == 1) {
      pos += dash;
      if (!Digits(text, pos, 1, weekday)) return std::nullopt;
    }
    const int64_t days = WeekOneMonday(year) + (week - 1) * 7 + (weekday - 1);
    if (week < 1 || weekday < 1 || weekday > 7 || days >= WeekOneMonday(year + 1)) {
      return std::nullopt;  // (week 53 of a year of 52)
    }
    return days;
  }
  const size_t run = DigitRun(text, pos + dash);
  if (run == 0) return dash ? std::nullopt : std::optional(DaysFromCivil(year, 1, 1));
  if (run == 3) {
    pos += dash;
    int ordinal;
    if (!Digits(text, pos, 3, ordinal)) return std::nullopt;
    if (ordinal < 1 || ordinal > (IsLeap(year) ? 366 : 365)) return std::nullopt;
    return DaysFromCivil(year, 1, 1) + ordinal - 1;
  }
  int month, day = 1;
  pos += dash;
  if (!Digits(text, pos, 2, month)) return std::nullopt;
  if (dash ? At(text, pos, '-') : DigitRun(text, pos) > 0) {
    pos += dash;
    if (!Digits(text, pos, 2, day)) return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || static_cast<unsigned>(day) > DaysInMonth(year, month)) {
    return std::nullopt;
  }
  return DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
}

}  // namespace

std::optional<int64_t> ParseIso(std::string_view text) {
  size_t pos = 0;
  const std::optional<int64_t> days = ParseIsoDate(text, pos);
  if (!days) return std::nullopt;
  int hour = 0, minute = 0, second = 0, millis = 0;
  int64_t offset_min = 0;
  if (pos < text.size() && (text[pos] == 'T' || text[pos] == 't' || text[pos] == ' ')) {
    ++pos;
    if (!Digits(text, pos, 2, hour)) return std::nullopt;
    // Then [:]MM, then [:]SS, then a fraction of the seconds; each colon or none, as the
    // minutes had it.
    const bool colons = At(text, pos, ':');
    if (colons ? true : DigitRun(text, pos) >= 2) {
      pos += colons;
      if (!Digits(text, pos, 2, minute)) return std::nullopt;
      if (colons ? At(text, pos, ':') : DigitRun(text, pos) >= 2) {
        pos += colons;
        if (!Digits(text, pos, 2, second)) return std::nullopt;
        if (At(text, pos, '.') || At(text, pos, ',')) {
          ++pos;
          const size_t run = DigitRun(text, pos);
          if (run == 0) return std::nullopt;
          for (size_t i = 0, scale = 100; i < run; ++i, scale /= 10) {
            millis += (text[pos + i] - '0') * static_cast<int>(scale);
          }
          pos += run;
        }
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
        if (At(text, pos, ':')) {  // (then its minutes must follow: "+05:" is no offset)
          ++pos;
          if (!Digits(text, pos, 2, om)) return std::nullopt;
        } else if (pos < text.size() && !Digits(text, pos, 2, om)) {
          return std::nullopt;
        }
        if (oh > 23 || om > 59) return std::nullopt;
        offset_min = (c == '+' ? 1 : -1) * (oh * 60 + om);
      }
    }
  }
  if (pos != text.size()) return std::nullopt;
  const int64_t secs = *days * 86400 + hour * 3600 + minute * 60 + second - offset_min * 60;
  return secs * 1000 + millis;
}

}  // namespace crew
