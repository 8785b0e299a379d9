#include "util/id.h"

#include <algorithm>
#include <cstring>

#include "util/coding.h"

namespace crew {

namespace {
constexpr char kHex[] = "0123456789abcdef";
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string Id::Hex() const {
  std::string out;
  AppendHex(&out);
  return out;
}

void Id::AppendHex(std::string* out) const {
  AppendWritten(out, 24, [this](char* to) { return WriteHex(to); });
}

char* Id::WriteHex(char* to) const {
  for (size_t i = 0; i < 12; ++i) {
    to[2 * i] = kHex[bytes[i] >> 4];
    to[2 * i + 1] = kHex[bytes[i] & 0xF];
  }
  return to + 24;
}

std::optional<Id> Id::FromHex(std::string_view text) {
  if (text.size() != 24) return std::nullopt;
  Id id;
  for (size_t i = 0; i < 12; ++i) {
    int hi = HexValue(text[2 * i]), lo = HexValue(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    id.bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return id;
}

Id Id::FromBytes(std::string_view raw) {
  Id id;
  std::memcpy(id.bytes.data(), raw.data(), std::min<size_t>(raw.size(), 12));
  return id;
}

int64_t Id::MicrosPart() const { return static_cast<int64_t>(DecodeFixed64BE(At(4))); }

void IdSource::RaiseFloor(int64_t micros) {
  std::lock_guard<std::mutex> lock(mu_);
  last_us_ = std::max(last_us_, micros);
}

Id IdSource::Next() {
  int64_t us;
  {
    std::lock_guard<std::mutex> lock(mu_);
    us = std::max(last_us_ + 1, clock_->NowUs());
    last_us_ = us;
  }
  Id id;
  uint32_t secs = static_cast<uint32_t>(us / 1000000);
  for (int i = 0; i < 4; ++i) id.bytes[i] = static_cast<uint8_t>(secs >> (24 - 8 * i));
  uint64_t u = static_cast<uint64_t>(us);
  for (int i = 0; i < 8; ++i) id.bytes[4 + i] = static_cast<uint8_t>(u >> (56 - 8 * i));
  return id;
}

}  // namespace crew
