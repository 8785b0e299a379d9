// Id: a 12-byte identifier in the MongoDB ObjectId layout (SPEC §1): 4 bytes of big-endian
// seconds, then 8 bytes that make it unique. Crew fills those 8 bytes with a big-endian
// microsecond timestamp that never repeats or goes backwards (IdSource), so byte order of ids is
// creation order; list indexes rely on that.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "util/clock.h"
#include "util/coding.h"

namespace crew {

struct Id {
  std::array<uint8_t, 12> bytes{};

  std::string Hex() const;                                  // 24 lowercase hex chars
  void AppendHex(std::string* out) const;                   // Hex(), appended
  char* WriteHex(char* to) const;                           // Hex() into to[0..24); returns to + 24
  static std::optional<Id> FromHex(std::string_view text);  // nullopt unless 24 hex chars
  std::string_view View() const {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  }
  static Id FromBytes(std::string_view raw);  // REQUIRES: raw.size() == 12
  int64_t MicrosPart() const;                 // the 8-byte tail as an integer
  // Byte order, compared as big-endian words: the defaults compared the array with a call of
  // memcmp each (~50 per task handed out, in the ready queues', maps' and Txns' lookups).
  bool operator==(const Id& o) const {
    return Word(0) == o.Word(0) && Word(4) == o.Word(4);  // (bytes 0-7, then 4-11)
  }
  std::strong_ordering operator<=>(const Id& o) const {
    if (Word(0) != o.Word(0)) return DecodeFixed64BE(At(0)) <=> DecodeFixed64BE(o.At(0));
    return DecodeFixed64BE(At(4)) <=> DecodeFixed64BE(o.At(4));  // (bytes 4-7 are equal here)
  }

 private:
  friend struct IdHash;
  const char* At(size_t i) const { return reinterpret_cast<const char*>(bytes.data()) + i; }
  uint64_t Word(size_t i) const {  // bytes i..i+7 as they lie in memory
    uint64_t v;
    std::memcpy(&v, bytes.data() + i, 8);
    return v;
  }
};

struct IdHash {
  size_t operator()(const Id& id) const {
    return std::hash<uint64_t>()(id.Word(0) * 0x9E3779B97F4A7C15ULL ^ id.Word(4));
  }
};

// Hands out strictly increasing ids. Thread-safe.
class IdSource {
 public:
  explicit IdSource(const Clock* clock) : clock_(clock) {}
  // Ids made later are greater than `floor` (restored from storage at start-up).
  void RaiseFloor(int64_t micros);
  Id Next();
  // Creation time (ms) encoded in an id made by Next().
  static int64_t CreatedMs(const Id& id) { return id.MicrosPart() / 1000; }

 private:
  const Clock* clock_;
  std::mutex mu_;
  int64_t last_us_ = 0;
};

}  // namespace crew
