// RocksDB's CRC32C on the CPU's crc32 instruction (x86-64).
//
// RocksDB checksums every WAL record and every table block with CRC32C. Debian builds librocksdb
// portable (no -msse4.2), and then its crc32c::Extend runs a table-driven loop even on CPUs that
// have the instruction, and Crc32cCombine (once per WAL record since 7.x) multiplies polynomials
// one bit at a time: ~2.2k instructions per record, ~4.5% of the event loop's work per task in
// the relaxed drain. crc32c.cc defines the three functions of RocksDB's util/crc32c.cc that the
// rest of the library calls, with the same checksums bit for bit (standard CRC32C, RFC 3720).
// Linked statically, they are found here first and RocksDB's own member of the archive is never
// pulled in (were it pulled in for another symbol, its duplicate definitions would fail the
// link, not silently win). Linked as a shared library, the executable's definitions interpose.
// On other architectures nothing is defined here and RocksDB's own are used.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace rocksdb::crc32c {

// As declared in RocksDB's util/crc32c.h (the same in 6.29 through 11.x).
std::string IsFastCrc32Supported();
uint32_t Extend(uint32_t init_crc, const char* data, size_t n);
uint32_t Crc32cCombine(uint32_t crc1, uint32_t crc2, size_t crc2len);

}  // namespace rocksdb::crc32c

namespace crew::storage {

// Whether RocksDB's CRC32C runs on the crc32 instruction (false: a table-driven loop).
bool Crc32cOnHardware();

// The two ways crc32c.cc computes, for tests: the CRC32C of data continued from crc (as Extend),
// by the table and by the instruction (which only a CPU with Crc32cOnHardware() may run).
uint32_t Crc32cByTable(uint32_t crc, const char* data, size_t n);
uint32_t Crc32cByInstruction(uint32_t crc, const char* data, size_t n);

}  // namespace crew::storage
