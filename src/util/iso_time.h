// ISO-8601 dates: the wire format of every date field (SPEC §1, D7).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace crew {

// Epoch milliseconds -> "2022-11-14T22:15:46.123Z".
std::string FormatIso(int64_t ms);
void AppendIso(int64_t ms, std::string* to);  // FormatIso(ms), appended
constexpr size_t kMaxIsoSize = 40;
char* WriteIso(int64_t ms, char* to);  // FormatIso(ms) into to (kMaxIsoSize room); returns its end

// Parses the ISO-8601 forms luxon's fromISO reads (the reference's parser, §2.2): a calendar
// date (YYYY-MM-DD, YYYYMMDD, YYYY-MM, YYYY), a week date (YYYY-Www[-D], YYYYWww[D]) or an
// ordinal date (YYYY-DDD, YYYYDDD), the year possibly ±YYYYYY; then an optional time
// "THH[:MM[:SS[.fraction]]]" or "THH[MM[SS[.fraction]]]" (a space may stand for the T) with an
// optional offset "Z", "±HH", "±HH:MM" or "±HHMM". No offset means UTC (SPEC D7). Returns epoch
// milliseconds, or nullopt for anything else.
std::optional<int64_t> ParseIso(std::string_view text);

}  // namespace crew
