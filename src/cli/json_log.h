// Structured logs (SPEC N6): `--log-format json` (CREW_LOG_FORMAT=json) writes one JSON object
// per line to stderr, {"ts": ISO-8601 UTC with ms, "level", "msg"}, for log shippers; `text`
// (the default) keeps the human pattern. Call before any thread logs.
#pragma once

#include <string>
#include <string_view>

namespace crew::cli {

// Installs the format ("text" or "json") on the default logger, keeping its level.
void UseLogFormat(const std::string& format);
// `text` as a JSON string literal: escapes quotes, backslashes and control characters, and
// replaces bytes that are not UTF-8 with U+FFFD, so every line parses.
std::string JsonString(std::string_view text);

}  // namespace crew::cli
