// JSON text as JavaScript's JSON.parse takes it, made parseable by strict parsers.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace crew {

// The text with what JSON.parse accepts but simdjson and nlohmann refuse made what the original
// Crew would have stored: a lone surrogate escape (`"\ud83d"`, which JSON.stringify writes for a
// string cut inside an emoji) becomes `\ufffd`, as MongoDB's UTF-8 stores it; an integer beyond
// 64 bits (`1e20` written out) gets a fraction, so it parses as the double JavaScript holds.
// With fix_utf8, bytes that are no UTF-8 become U+FFFD too, as axios and body-parser decode
// them. nullopt when nothing needed a change.
std::optional<std::string> JavaScriptJson(std::string_view text, bool fix_utf8);

// Writes v as JavaScript's String(v) does (ECMA-262 Number::toString): the shortest digits that
// read back as v, as a decimal from 1e-7 up to 1e21 (0.0001, 100000, 1152921504606847000) and in
// exponent form outside (1e-7, 1e+21). REQUIRES: v finite, 32 chars of room at out. Answers the
// end of what it wrote.
char* ToJsNumber(double v, char* out);

}  // namespace crew
