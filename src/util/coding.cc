#include "util/coding.h"

#include <cstring>

namespace crew {

void PutU8(std::string& out, uint8_t v) { out.push_back(static_cast<char>(v)); }

void PutFixed32BE(std::string& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>(v >> (8 * i)));
}

void PutFixed64BE(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>(v >> (8 * i)));
}

void PutOrderedI64(std::string& out, int64_t v) {
  PutFixed64BE(out, static_cast<uint64_t>(v) ^ (1ULL << 63));
}

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void PutVarsint(std::string& out, int64_t v) {
  PutVarint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

void PutDouble(std::string& out, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, 8);
  PutFixed64BE(out, bits);
}

void PutBytes(std::string& out, std::string_view s) {
  PutVarint(out, s.size());
  out.append(s);
}

void PutKeyString(std::string& out, std::string_view s) {
  PutFixed32BE(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

uint64_t DecodeFixed64BE(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | static_cast<uint8_t>(p[i]);
  return v;
}

int64_t DecodeOrderedI64(const char* p) {
  return static_cast<int64_t>(DecodeFixed64BE(p) ^ (1ULL << 63));
}

bool Decoder::GetU8(uint8_t& v) {
  if (in_.empty()) return false;
  v = static_cast<uint8_t>(in_[0]);
  in_.remove_prefix(1);
  return true;
}

bool Decoder::GetVarint(uint64_t& v) {
  v = 0;
  for (int shift = 0; shift <= 63; shift += 7) {
    if (in_.empty()) return false;
    uint8_t b = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    v |= static_cast<uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

bool Decoder::GetVarsint(int64_t& v) {
  uint64_t u;
  if (!GetVarint(u)) return false;
  v = static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
  return true;
}

bool Decoder::GetDouble(double& v) {
  if (in_.size() < 8) return false;
  uint64_t bits = DecodeFixed64BE(in_.data());
  std::memcpy(&v, &bits, 8);
  in_.remove_prefix(8);
  return true;
}

bool Decoder::GetBytes(std::string& v) {
  uint64_t n;
  if (!GetVarint(n) || n > in_.size()) return false;
  v.assign(in_.data(), n);
  in_.remove_prefix(n);
  return true;
}

bool Decoder::GetRaw(size_t n, std::string_view& v) {
  if (n > in_.size()) return false;
  v = in_.substr(0, n);
  in_.remove_prefix(n);
  return true;
}

}  // namespace crew
