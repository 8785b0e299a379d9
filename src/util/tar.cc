#include "util/tar.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

namespace crew {

namespace {

// Header field offsets and widths (POSIX ustar).
constexpr size_t kName = 0, kNameLen = 100;
constexpr size_t kMode = 100, kUid = 108, kGid = 116, kIdLen = 8;
constexpr size_t kSize = 124, kSizeLen = 12;
constexpr size_t kMtime = 136, kMtimeLen = 12;
constexpr size_t kChksum = 148, kChksumLen = 8;
constexpr size_t kType = 156;
constexpr size_t kMagic = 257, kVersion = 263;
constexpr size_t kPrefix = 345, kPrefixLen = 155;

// `value` as zero-padded octal digits and a NUL, filling `width` bytes.
void PutOctal(std::string& h, size_t at, size_t width, uint64_t value) {
  for (size_t i = width - 1; i-- > 0;) {
    h[at + i] = static_cast<char>('0' + (value & 7));
    value >>= 3;
  }
  h[at + width - 1] = '\0';
}

// GNU base-256: the high bit of the first byte set, then the value big-endian.
void PutBase256(std::string& h, size_t at, size_t width, uint64_t value) {
  for (size_t i = width; i-- > 1;) {
    h[at + i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  h[at] = static_cast<char>(0x80);
}

uint64_t Checksum(std::string_view block) {
  uint64_t sum = 0;
  for (size_t i = 0; i < kTarBlock; ++i) {
    bool in_field = i >= kChksum && i < kChksum + kChksumLen;
    sum += in_field ? ' ' : static_cast<unsigned char>(block[i]);
  }
  return sum;
}

// An octal or base-256 numeric field; nullopt when malformed.
std::optional<uint64_t> ParseNumber(std::string_view field) {
  if (!field.empty() && (static_cast<unsigned char>(field[0]) & 0x80)) {
    uint64_t v = static_cast<unsigned char>(field[0]) & 0x7f;
    for (size_t i = 1; i < field.size(); ++i) {
      if (v >> 56) return std::nullopt;
      v = (v << 8) | static_cast<unsigned char>(field[i]);
    }
    return v;
  }
  uint64_t v = 0;
  size_t i = 0;
  while (i < field.size() && field[i] == ' ') ++i;
  size_t digits = 0;
  for (; i < field.size() && field[i] >= '0' && field[i] <= '7'; ++i, ++digits) {
    if (v >> 60) return std::nullopt;
    v = (v << 3) | static_cast<uint64_t>(field[i] - '0');
  }
  for (; i < field.size(); ++i) {
    if (field[i] != ' ' && field[i] != '\0') return std::nullopt;
  }
  if (!digits) return std::nullopt;
  return v;
}

std::string CString(std::string_view field) {
  return std::string(field.substr(0, std::min(field.size(), field.find('\0'))));
}

// Reads exactly n bytes; false at end of input.
bool ReadFully(std::istream& in, char* buf, size_t n) {
  in.read(buf, static_cast<std::streamsize>(n));
  return static_cast<size_t>(in.gcount()) == n;
}

Status Truncated() { return Status::Corruption("the archive ends early (truncated download?)"); }

}  // namespace

Result<std::string> TarFileHeader(std::string_view name, uint64_t size, int64_t mtime_s) {
  if (name.empty() || name.size() >= kNameLen) {
    return Status::Invalid("tar entry name must be 1 to 99 bytes: " + std::string(name));
  }
  std::string h(kTarBlock, '\0');
  std::memcpy(&h[kName], name.data(), name.size());
  PutOctal(h, kMode, kIdLen, 0644);
  PutOctal(h, kUid, kIdLen, 0);
  PutOctal(h, kGid, kIdLen, 0);
  if (size < (uint64_t{1} << 33)) {
    PutOctal(h, kSize, kSizeLen, size);
  } else {
    PutBase256(h, kSize, kSizeLen, size);
  }
  PutOctal(h, kMtime, kMtimeLen, static_cast<uint64_t>(std::max<int64_t>(0, mtime_s)));
  h[kType] = '0';
  std::memcpy(&h[kMagic], "ustar", 6);  // with its NUL
  std::memcpy(&h[kVersion], "00", 2);
  uint64_t sum = Checksum(h);
  PutOctal(h, kChksum, 7, sum);  // six digits, NUL, then a space
  h[kChksum + 7] = ' ';
  return h;
}

bool SafeTarName(std::string_view name) {
  if (name.empty() || name.front() == '/' || name.find('\\') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos) {
    return false;
  }
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view part = name.substr(start, end - start);
    bool trailing_slash = part.empty() && end == name.size() && start > 0;
    if ((part.empty() && !trailing_slash) || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

Status ReadTar(std::istream& in, const std::function<Result<TarSink>(const TarEntry&)>& open) {
  std::string block(kTarBlock, '\0');
  std::vector<char> buf(1 << 16);
  while (true) {
    if (!ReadFully(in, block.data(), kTarBlock)) return Truncated();
    if (block.find_first_not_of('\0') == std::string::npos) return Status::Ok();  // the end
    auto stored = ParseNumber(std::string_view(block).substr(kChksum, kChksumLen));
    if (!stored || *stored != Checksum(block)) {
      return Status::Corruption("not a tar archive, or a damaged one (header checksum)");
    }
    auto size = ParseNumber(std::string_view(block).substr(kSize, kSizeLen));
    if (!size) return Status::Corruption("a tar header has a malformed size");
    TarEntry entry;
    entry.name = CString(std::string_view(block).substr(kName, kNameLen));
    std::string prefix = CString(std::string_view(block).substr(kPrefix, kPrefixLen));
    if (block.compare(kMagic, 5, "ustar") == 0 && !prefix.empty()) {
      entry.name = prefix + "/" + entry.name;
    }
    entry.type = block[kType] == '\0' ? '0' : block[kType];
    entry.size = *size;
    ASSIGN_OR_RETURN(TarSink sink, open(entry));
    uint64_t left = entry.size;
    while (left > 0) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(left, buf.size()));
      if (!ReadFully(in, buf.data(), n)) return Truncated();
      if (sink) RETURN_IF_ERROR(sink(std::string_view(buf.data(), n)));
      left -= n;
    }
    if (size_t pad = TarPadding(entry.size); pad && !ReadFully(in, buf.data(), pad)) {
      return Truncated();
    }
  }
}

}  // namespace crew
