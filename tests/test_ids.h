// Ids that sort as the numbers they are made from: n in the last 8 bytes, big-endian (ids order
// bytewise, as RocksDB's keys do).
#pragma once

#include <cstdint>
#include <string>

#include "util/id.h"

namespace crew::testing {

inline Id MakeId(uint64_t n) {
  std::string bytes(12, '\0');
  for (int i = 0; i < 8; ++i) bytes[11 - i] = static_cast<char>(n >> (8 * i));
  return Id::FromBytes(bytes);
}

}  // namespace crew::testing
