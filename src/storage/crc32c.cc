#include "storage/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace crew::storage {

namespace {

// The "raw" CRC32C update: no inversion in or out (Extend inverts around it). Reflected
// polynomial 0x82F63B78 (Castagnoli), one byte per table lookup.
constexpr std::array<uint32_t, 256> MakeTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ ((c & 1) ? 0x82F63B78u : 0u);
    t[i] = c;
  }
  return t;
}
constexpr std::array<uint32_t, 256> kTable = MakeTable();

// data == nullptr: n zero bytes.
uint32_t RawByTable(uint32_t state, const char* data, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const uint8_t byte = data ? static_cast<uint8_t>(data[i]) : 0;
    state = kTable[(state ^ byte) & 0xff] ^ (state >> 8);
  }
  return state;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t RawByInstruction(uint32_t state, const char* data,
                                                            size_t n) {
  uint64_t wide = state;
  for (; n >= 8; n -= 8) {
    uint64_t word = 0;
    if (data) {
      std::memcpy(&word, data, 8);
      data += 8;
    }
    wide = _mm_crc32_u64(wide, word);
  }
  state = static_cast<uint32_t>(wide);
  for (; n > 0; --n) state = _mm_crc32_u8(state, data ? static_cast<uint8_t>(*data++) : 0);
  return state;
}

bool HasInstruction() {
  // (__builtin_cpu_init: a static initializer elsewhere may checksum before libgcc's own ran)
  static const bool has = (__builtin_cpu_init(), __builtin_cpu_supports("sse4.2"));
  return has;
}
#else
uint32_t RawByInstruction(uint32_t state, const char* data, size_t n) {
  return RawByTable(state, data, n);
}
bool HasInstruction() { return false; }
#endif

uint32_t Raw(uint32_t state, const char* data, size_t n) {
  return HasInstruction() ? RawByInstruction(state, data, n) : RawByTable(state, data, n);
}

}  // namespace

bool Crc32cOnHardware() { return HasInstruction(); }

uint32_t Crc32cByTable(uint32_t crc, const char* data, size_t n) {
  return ~RawByTable(~crc, data, n);
}

uint32_t Crc32cByInstruction(uint32_t crc, const char* data, size_t n) {
  return ~RawByInstruction(~crc, data, n);
}

}  // namespace crew::storage

#if defined(__x86_64__)
namespace rocksdb::crc32c {

std::string IsFastCrc32Supported() {
  return crew::storage::Crc32cOnHardware() ? "Supported on x86 (crew)"
                                           : "Not supported on x86 (crew)";
}

uint32_t Extend(uint32_t init_crc, const char* data, size_t n) {
  return ~crew::storage::Raw(~init_crc, data, n);
}

// The checksum of A then B from crc1 = CRC(A) and crc2 = CRC(B), with len2 = |B|. The raw update
// is linear over GF(2): feeding n zero bytes multiplies the state by x^(8n) mod P, which is what
// RocksDB computes with its table of powers. Then CRC(A B) = raw(crc1, n zeros) ^ crc2: the
// inversions around A's end and B's start cancel.
uint32_t Crc32cCombine(uint32_t crc1, uint32_t crc2, size_t crc2len) {
  return crew::storage::Raw(crc1, nullptr, crc2len) ^ crc2;
}

}  // namespace rocksdb::crc32c
#endif
