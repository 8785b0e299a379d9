// Tar archives (POSIX ustar) of plain files, the format of `crew backup` (SPEC N6): written as
// a stream by the server, read back by `crew restore`. Only regular files in one directory
// level are written; sizes above 8 GiB use the GNU base-256 size field. Thread-compatible.
#pragma once

#include <cstdint>
#include <functional>
#include <istream>
#include <string>
#include <string_view>

#include "util/status.h"

namespace crew {

constexpr size_t kTarBlock = 512;

// The 512-byte header of a regular file. kInvalidArgument for a name of 100 bytes or more.
Result<std::string> TarFileHeader(std::string_view name, uint64_t size, int64_t mtime_s);
// Zero bytes that pad a file of `size` bytes to a whole block.
inline size_t TarPadding(uint64_t size) {
  return static_cast<size_t>((kTarBlock - size % kTarBlock) % kTarBlock);
}
// Bytes an entry takes: header, data, padding.
inline uint64_t TarEntrySize(uint64_t size) { return kTarBlock + size + TarPadding(size); }
// The end of an archive: two zero blocks.
inline std::string TarEnd() { return std::string(2 * kTarBlock, '\0'); }

struct TarEntry {
  std::string name;  // prefix/name as stored
  char type = '0';   // '0' regular file, '5' directory, '2' symlink, ...
  uint64_t size = 0;
};

// A relative path without "..", "." or empty components and without a backslash: safe to
// create under a directory.
bool SafeTarName(std::string_view name);

// Receives an entry's data in order, chunk by chunk.
using TarSink = std::function<Status(std::string_view chunk)>;
// Reads every entry: open(entry) answers where its data goes (nullptr: skipped). A bad header
// checksum, a malformed field or an archive that ends early is kCorruption; a Status from
// open or a sink stops the reading and is returned.
Status ReadTar(std::istream& in, const std::function<Result<TarSink>(const TarEntry&)>& open);

}  // namespace crew
