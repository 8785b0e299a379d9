// Byte encodings used by storage keys and records.
// Big-endian fixed-width integers keep byte order equal to numeric order (with the sign bit
// flipped for signed values); records use varints. Decoder never reads past its input: every
// Get* returns false on truncated or malformed data.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace crew {

void PutU8(std::string& out, uint8_t v);
void PutFixed32BE(std::string& out, uint32_t v);
void PutFixed64BE(std::string& out, uint64_t v);
// Signed, order-preserving: INT64_MIN encodes as 00.., INT64_MAX as FF...
void PutOrderedI64(std::string& out, int64_t v);
void PutVarint(std::string& out, uint64_t v);
void PutVarsint(std::string& out, int64_t v);  // zig-zag
void PutDouble(std::string& out, double v);
void PutBytes(std::string& out, std::string_view s);  // varint length + bytes
// Length-prefixed with a fixed 4-byte big-endian length: used in keys, where every entry of one
// prefix must sort together.
void PutKeyString(std::string& out, std::string_view s);

uint64_t DecodeFixed64BE(const char* p);
int64_t DecodeOrderedI64(const char* p);

class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}
  bool GetU8(uint8_t& v);
  bool GetVarint(uint64_t& v);
  bool GetVarsint(int64_t& v);
  bool GetDouble(double& v);
  bool GetBytes(std::string& v);
  bool GetRaw(size_t n, std::string_view& v);
  bool done() const { return in_.empty(); }

 private:
  std::string_view in_;
};

}  // namespace crew
