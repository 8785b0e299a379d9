// Byte encodings used by storage keys and records.
// Big-endian fixed-width integers keep byte order equal to numeric order (with the sign bit
// flipped for signed values); records use varints. Decoder never reads past its input: every
// Get* returns false on truncated or malformed data.
// Defined here, inline: a task record is ~40 of these calls each way, on every write.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace crew {

inline void PutU8(std::string& out, uint8_t v) { out.push_back(static_cast<char>(v)); }

// A signed integer as the varint of its zig-zag form: small magnitudes, either sign, stay short.
inline uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}

// Appends what write(char* to) -> char* end writes into the `room` bytes it is given: one resize
// for a text of many pieces, each then a plain copy (an append per piece costs a call and a
// capacity check, ~40 instructions). REQUIRES: write writes at most `room` bytes.
template <typename Write>
void AppendWritten(std::string* out, size_t room, Write&& write) {
  const size_t at = out->size();
  out->resize(at + room);
  out->resize(write(out->data() + at) - out->data());
}

// Writes a record into room made beforehand (AppendWritten): each piece a store and a step of
// the pointer, with no capacity check or call (a task record is ~30 pieces, encoded on every
// write). The caller sizes the room: kMaxVarint per varint, 8 per double, the bytes themselves.
// (PutVarint and PutFixed64BE below append one piece each, encoded by it.)
class ByteWriter {
 public:
  static constexpr size_t kMaxVarint = 10;

  explicit ByteWriter(char* to) : p_(to) {}
  char* end() const { return p_; }

  void U8(uint8_t v) { *p_++ = static_cast<char>(v); }
  void Varint(uint64_t v) {
    while (v >= 0x80) {
      *p_++ = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    *p_++ = static_cast<char>(v);
  }
  void Varsint(int64_t v) { Varint(ZigZag(v)); }
  void Fixed64BE(uint64_t v) {
    for (int i = 0; i < 8; ++i) *p_++ = static_cast<char>(v >> (8 * (7 - i)));
  }
  void Double(double v) { Fixed64BE(std::bit_cast<uint64_t>(v)); }
  void Raw(std::string_view s) {
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void Bytes(std::string_view s) {  // varint length + bytes
    Varint(s.size());
    Raw(s);
  }

 private:
  char* p_;
};

inline void PutFixed32BE(std::string& out, uint32_t v) {
  char buf[4];
  for (int i = 0; i < 4; ++i) buf[i] = static_cast<char>(v >> (8 * (3 - i)));
  out.append(buf, 4);
}

inline void PutFixed64BE(std::string& out, uint64_t v) {
  char buf[8];
  ByteWriter(buf).Fixed64BE(v);
  out.append(buf, 8);
}

// Signed, order-preserving: INT64_MIN encodes as 00.., INT64_MAX as FF...
inline void PutOrderedI64(std::string& out, int64_t v) {
  PutFixed64BE(out, static_cast<uint64_t>(v) ^ (1ULL << 63));
}

inline void PutVarint(std::string& out, uint64_t v) {
  char buf[ByteWriter::kMaxVarint];
  ByteWriter w(buf);
  w.Varint(v);
  out.append(buf, w.end());
}

inline void PutVarsint(std::string& out, int64_t v) { PutVarint(out, ZigZag(v)); }

inline void PutDouble(std::string& out, double v) { PutFixed64BE(out, std::bit_cast<uint64_t>(v)); }

inline void PutBytes(std::string& out, std::string_view s) {  // varint length + bytes
  PutVarint(out, s.size());
  out.append(s);
}

// Length-prefixed with a fixed 4-byte big-endian length: used in keys, where every entry of one
// prefix must sort together.
inline void PutKeyString(std::string& out, std::string_view s) {
  PutFixed32BE(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

inline uint64_t DecodeFixed64BE(const char* p) {  // (one load and a swap: a byte loop was not)
  uint64_t v;
  std::memcpy(&v, p, 8);
  return std::endian::native == std::endian::little ? __builtin_bswap64(v) : v;
}

inline int64_t DecodeOrderedI64(const char* p) {
  return static_cast<int64_t>(DecodeFixed64BE(p) ^ (1ULL << 63));
}

// (a pointer and an end: a record is decoded on every read of a task, ~30 pieces, most of them
// varints of one byte)
class Decoder {
 public:
  explicit Decoder(std::string_view in) : p_(in.data()), end_(in.data() + in.size()) {}

  bool GetU8(uint8_t& v) {
    if (p_ == end_) return false;
    v = static_cast<uint8_t>(*p_++);
    return true;
  }
  bool GetVarint(uint64_t& v) {
    if (p_ != end_ && !(*p_ & 0x80)) {  // one byte
      v = static_cast<uint8_t>(*p_++);
      return true;
    }
    v = 0;
    for (int shift = 0; shift <= 63; shift += 7) {
      if (p_ == end_) return false;
      const uint8_t b = static_cast<uint8_t>(*p_++);
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  }
  bool GetVarsint(int64_t& v) {
    uint64_t u;
    if (!GetVarint(u)) return false;
    v = static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
    return true;
  }
  bool GetDouble(double& v) {
    if (left() < 8) return false;
    const uint64_t bits = DecodeFixed64BE(p_);
    std::memcpy(&v, &bits, 8);
    p_ += 8;
    return true;
  }
  bool GetBytes(std::string& v) {
    uint64_t n;
    if (!GetVarint(n) || n > left()) return false;
    v.assign(p_, n);
    p_ += n;
    return true;
  }
  bool GetRaw(size_t n, std::string_view& v) {
    if (n > left()) return false;
    v = std::string_view(p_, n);
    p_ += n;
    return true;
  }
  bool done() const { return p_ == end_; }

 private:
  size_t left() const { return static_cast<size_t>(end_ - p_); }

  const char* p_;
  const char* end_;
};

}  // namespace crew
