// util and storage key encodings: dates, ids, ordered integers, key order.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "storage/keys.h"
#include "util/ascii.h"
#include "util/coding.h"
#include "util/http_url.h"
#include "util/id.h"
#include "util/iso_time.h"
#include "util/json_text.h"

namespace crew {
namespace {

// What JSON.parse takes and strict parsers refuse, made what the original would have stored.
// The strings node's String(v) gives for each.
TEST(ToJsNumber, WritesNumbersAsJavaScriptDoes) {
  const std::pair<double, const char*> cases[] = {
      {0, "0"},
      {-0.0, "0"},
      {1.5, "1.5"},
      {-2.25, "-2.25"},
      {60, "60"},
      {100000, "100000"},
      {0.0001, "0.0001"},
      {1e-7, "1e-7"},
      {1.5e-7, "1.5e-7"},
      {0.000001, "0.000001"},
      {1.004, "1.004"},
      {1e21, "1e+21"},
      {1.5e300, "1.5e+300"},
      {123456789012345680000.0, "123456789012345680000"},
      {1152921504606846976.0, "1152921504606847000"},
      {0.1 + 0.2, "0.30000000000000004"},
      {5e-324, "5e-324"},
      {-1.7976931348623157e308, "-1.7976931348623157e+308"}};
  for (const auto& [v, js] : cases) {
    char buf[32];
    EXPECT_EQ(std::string(buf, ToJsNumber(v, buf)), js) << v;
  }
}

TEST(JavaScriptJson, MendsLoneSurrogatesAndIntegersPast64Bits) {
  EXPECT_FALSE(JavaScriptJson(R"({"a":[1,-2.5e3,"x\"y\\",true,null,18446744073709551615]})", true));
  EXPECT_FALSE(JavaScriptJson(R"({"s":"\ud83d\ude00 \u00e9"})", false));  // a pair is kept
  EXPECT_EQ(JavaScriptJson(R"({"s":"ab\ud83d"})", false), R"({"s":"ab\ufffd"})");
  EXPECT_EQ(JavaScriptJson(R"(["\ude00x","\ud83d\u0041","\uD83D\uDE00"])", false),
            R"(["\ufffdx","\ufffd\u0041","\uD83D\uDE00"])");
  EXPECT_EQ(JavaScriptJson(R"({"n":100000000000000000000,"m":-9223372036854775809})", false),
            R"({"n":100000000000000000000.0,"m":-9223372036854775809.0})");
  EXPECT_FALSE(JavaScriptJson(R"({"n":-9223372036854775808,"d":100000000000000000000.5})", false));
  EXPECT_EQ(JavaScriptJson(R"(18446744073709551616)", false), "18446744073709551616.0");
  // Inside a string a number is text; an escaped quote does not end the string.
  EXPECT_FALSE(JavaScriptJson(R"({"s":"100000000000000000000 \" 100000000000000000000"})", false));
  // Bytes that are no UTF-8 (Latin-1, a cut sequence, an overlong form, a surrogate): only with
  // fix_utf8.
  const std::string latin1 =
      "{\"s\":\"Gr\xfc\xdf"
      "e \xe2\x82 \xc0\xaf \xed\xa0\x80 \xc3\xa9\"}";
  EXPECT_FALSE(JavaScriptJson(latin1, false));
  const std::string r = "\xEF\xBF\xBD";  // U+FFFD
  EXPECT_EQ(JavaScriptJson(latin1, true),
            "{\"s\":\"Gr" + r + r + "e " + r + r + " " + r + r + " " + r + r + r + " \xc3\xa9\"}");
}

// EqualsNoCase reads eight characters at a time from eight on: every pair of bytes, at a place
// in a whole word and in the overlapping last one, is equal exactly when a byte's FoldCase is.
TEST(Ascii, EqualsNoCaseFoldsOnlyAsciiLettersInEveryPlace) {
  for (size_t len : {1u, 7u, 8u, 13u, 16u}) {
    for (size_t at : {size_t{0}, len / 2, len - 1}) {
      for (int c = 0; c < 256; ++c) {
        for (int d = 0; d < 256; ++d) {
          std::string a(len, 'k'), b(len, 'K');
          a[at] = static_cast<char>(c);
          b[at] = static_cast<char>(d);
          const bool same = FoldCase(static_cast<char>(c)) == FoldCase(static_cast<char>(d));
          ASSERT_EQ(EqualsNoCase(a, b), same) << len << " " << at << " " << c << " " << d;
        }
      }
    }
  }
  EXPECT_FALSE(EqualsNoCase("Content-Length", "Content-Type"));
  EXPECT_TRUE(EqualsNoCase("TRANSFER-ENCODING", "transfer-encoding"));
  EXPECT_TRUE(EqualsNoCase("", ""));
}

TEST(IsoTime, FormatsWithMillisecondsAndZ) {
  EXPECT_EQ(FormatIso(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatIso(1668464146123), "2022-11-14T22:15:46.123Z");
  EXPECT_EQ(FormatIso(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatIso(253402300799999), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatIso(253402300800000), "10000-01-01T00:00:00.000Z");  // past the fast path
  EXPECT_EQ(FormatIso(-62167219200000), "0000-01-01T00:00:00.000Z");
  for (int64_t ms : {int64_t{0}, int64_t{951782400007}, int64_t{4102444799999}}) {
    EXPECT_EQ(ParseIso(FormatIso(ms)), ms);
  }
}

// Each thread keeps the last day's date part: a moment of another day, and one past the fast
// path, between two of the same day must not reuse or spoil it.
TEST(IsoTime, SuccessiveMomentsOfOtherDaysEachGetTheirOwnDate) {
  const int64_t day = 86400000;
  EXPECT_EQ(FormatIso(1668464146123), "2022-11-14T22:15:46.123Z");
  EXPECT_EQ(FormatIso(1668464146123 + day), "2022-11-15T22:15:46.123Z");
  EXPECT_EQ(FormatIso(253402300800000), "10000-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatIso(1668464146123 + day + 1), "2022-11-15T22:15:46.124Z");
  EXPECT_EQ(FormatIso(1668384000000), "2022-11-14T00:00:00.000Z");
  EXPECT_EQ(FormatIso(1668470399999), "2022-11-14T23:59:59.999Z");
  EXPECT_EQ(FormatIso(1668470400000), "2022-11-15T00:00:00.000Z");
  EXPECT_EQ(FormatIso(1668470400000 + 9 * 3600000 + 8 * 60000 + 7 * 1000 + 60),
            "2022-11-15T09:08:07.060Z");
  EXPECT_EQ(FormatIso(-1), "1969-12-31T23:59:59.999Z");
}

TEST(IsoTime, ParsesTheFormsClientsSend) {
  struct Case {
    const char* text;
    std::optional<int64_t> ms;
  } cases[] = {
      {"2022-11-14T22:15:46.123Z", 1668464146123},
      {"2022-11-14T22:15:46Z", 1668464146000},
      {"2022-11-14T22:15:46", 1668464146000},  // no offset: UTC (D7)
      {"2022-11-14T23:15:46.123+01:00", 1668464146123},
      {"2022-11-14T21:15:46.123-0100", 1668464146123},
      {"2022-11-14 22:15", 1668464100000},
      {"2022-11-14", 1668384000000},
      {"2022-11-14T22:15:46.1234567Z", 1668464146123},
      // The other forms luxon's fromISO reads (reference §2.2).
      {"20221114T221546.123Z", 1668464146123},
      {"20221114T2215", 1668464100000},
      {"2022-11-14T22", 1668463200000},
      {"2022-11-14T221546,123+0000", 1668464146123},
      {"2022-11", 1667260800000},
      {"2022", 1640995200000},
      {"2022-W46-1", 1668384000000},  // Monday of week 46 is 2022-11-14
      {"2022W461", 1668384000000},
      {"2022-W46", 1668384000000},
      {"2022-318", 1668384000000},  // day 318 of 2022
      {"2022318T22:15:46.123Z", 1668464146123},
      {"2021-W01-1", 1609718400000},  // 2021-01-04
      {"2020-W53-5", 1609459200000},  // 2021-01-01, in 2020's week 53
      {"+002022-11-14", 1668384000000},
      {"2021-W53", std::nullopt},  // 2021 has 52 weeks
      {"2022-W46-8", std::nullopt},
      {"2022-366", std::nullopt},
      {"2022-", std::nullopt},
      {"2022-11-14T22:15:", std::nullopt},
      {"2022-11-14T2215:46", std::nullopt},
      {"not a date", std::nullopt},
      {"2022-02-30", std::nullopt},
      {"2022-11-14T25:00", std::nullopt},
      {"2022-11-14T22:15:46Zjunk", std::nullopt},
      {"2022-11-14T22:15:46+05:", std::nullopt},  // (was read as +05:00; luxon and node refuse it)
      {"2022-11-14T22:15:46+05", 1668446146000},
      {"", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(ParseIso(c.text), c.ms) << c.text;
}

TEST(HttpUrl, SplitsHttpAndHttpsUrlsAndRefusesTheRest) {
  auto split = [](std::string_view url) {
    auto u = SplitHttpUrl(url);
    return u ? u->origin + " " + u->path : std::string("refused");
  };
  EXPECT_EQ(split("http://127.0.0.1:3002/execute/c?x=1"), "http://127.0.0.1:3002 /execute/c?x=1");
  EXPECT_EQ(split("HTTPS://Example.com"), "https://Example.com /");
  EXPECT_EQ(split("http://h?q=1"), "http://h /?q=1");
  EXPECT_EQ(split("http://h/p#frag"), "http://h /p");
  EXPECT_EQ(split("http://[::1]:8080/x"), "http://[::1]:8080 /x");
  for (const char* bad : {"ftp://h/x", "ws://h", "file:///etc/passwd", "h/x", "", "http://",
                          "http://:80/x", "http://h:0/", "http://h:65536/", "http://h:99999999999/",
                          "http://h:8x/", "http://h:/", "http://a b/", "http://u@h/"}) {
    EXPECT_EQ(split(bad), "refused") << bad;
  }
}

TEST(Id, HexRoundTripAndRejectsBadText) {
  IdSource ids(SystemClock::Default());
  Id id = ids.Next();
  EXPECT_EQ(Id::FromHex(id.Hex()), id);
  EXPECT_EQ(id.Hex().size(), 24u);
  EXPECT_FALSE(Id::FromHex("0123456789abcdef0123456g"));
  EXPECT_FALSE(Id::FromHex("123"));
}

TEST(Id, IncreaseAndEncodeTheirSecond) {
  ManualClock clock(1'700'000'000'123);
  IdSource ids(&clock);
  Id a = ids.Next(), b = ids.Next();
  EXPECT_LT(a, b) << "same instant, still increasing";
  EXPECT_EQ(std::stoul(a.Hex().substr(0, 8), nullptr, 16), 1'700'000'000u);
  EXPECT_EQ(IdSource::CreatedMs(a), 1'700'000'000'123);
  ids.RaiseFloor(b.MicrosPart() + 1000);
  EXPECT_GT(ids.Next().MicrosPart(), b.MicrosPart() + 1000);
}

// Ids compare as their bytes do (memcmp): the stored order of every index keyed by an id. Pairs
// equal up to a position, each in turn, and random from there (so a later byte often says the
// opposite of the first that differs); a third of them equal.
TEST(Id, CompareAsTheirBytes) {
  std::mt19937_64 rng(7);
  auto sign = [](int c) { return (c > 0) - (c < 0); };
  for (int round = 0; round < 2000; ++round) {
    Id a, b;
    for (uint8_t& x : a.bytes) x = static_cast<uint8_t>(rng());
    b = a;
    if (round % 3 != 0) {
      for (size_t i = static_cast<size_t>(round / 3) % 12; i < 12; ++i) {
        b.bytes[i] = static_cast<uint8_t>(rng());
      }
    }
    const int want = sign(std::memcmp(a.bytes.data(), b.bytes.data(), 12));
    const std::strong_ordering got = a <=> b;
    EXPECT_TRUE(got == (want < 0   ? std::strong_ordering::less
                        : want > 0 ? std::strong_ordering::greater
                                   : std::strong_ordering::equal))
        << a.Hex() << " " << b.Hex();
    EXPECT_EQ(a == b, want == 0);
    EXPECT_EQ(a < b, want < 0);
    if (a == b) {
      EXPECT_EQ(IdHash()(a), IdHash()(b));
    }
  }
}

TEST(Coding, OrderedIntegersSortAsNumbers) {
  std::vector<int64_t> values = {INT64_MIN, -5, -1, 0, 1, 7, INT64_MAX};
  for (size_t i = 1; i < values.size(); ++i) {
    std::string a, b;
    PutOrderedI64(a, values[i - 1]);
    PutOrderedI64(b, values[i]);
    EXPECT_LT(a, b) << values[i - 1] << " < " << values[i];
    EXPECT_EQ(DecodeOrderedI64(b.data()), values[i]);
  }
}

TEST(Keys, ReadyKeysPutHigherPriorityThenOlderFirst) {
  ManualClock clock(1'700'000'000'000);
  IdSource ids(&clock);
  Id older = ids.Next(), newer = ids.Next();
  EXPECT_LT(storage::ReadyKey("c", 5, newer), storage::ReadyKey("c", 0, older));
  EXPECT_LT(storage::ReadyKey("c", 0, older), storage::ReadyKey("c", 0, newer));
  EXPECT_LT(storage::ReadyKey("c", -1, older), storage::ReadyKey("c", INT64_MIN, older));
  std::string prefix = storage::ChannelPrefix("c");
  EXPECT_EQ(storage::ReadyKey("c", 0, older).rfind(prefix, 0), 0u);
  EXPECT_NE(storage::ReadyKey("cc", 0, older).rfind(prefix, 0), 0u) << "prefixes do not collide";
  EXPECT_EQ(storage::TrailingId(storage::ReadyKey("c", 3, older)), older);
}

TEST(Keys, PrefixEndBoundsThePrefix) {
  EXPECT_EQ(storage::PrefixEnd("ab"), "ac");
  EXPECT_EQ(storage::PrefixEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(storage::PrefixEnd(std::string("\xff", 1)), "");
}

}  // namespace
}  // namespace crew
