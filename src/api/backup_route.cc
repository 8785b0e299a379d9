// GET /api/v1/backup (SPEC N6): a consistent online snapshot of the store as a tar archive.
// The snapshot is a RocksDB checkpoint in the data dir (hard links, so it costs no copy and
// holds every write acknowledged before the request); its files are streamed as one ustar
// archive with a Content-Length, so a client can tell a complete download from a cut one, and
// the snapshot is removed when the answer is done (or abandoned). Writes go on meanwhile.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include <spdlog/spdlog.h>

#include "api/route_util.h"
#include "api/routes.h"
#include "util/tar.h"

namespace crew::api {

namespace {

namespace fs = std::filesystem;

// The archive's layout: each file's header, data and padding, then the end blocks. Answers
// any byte range of it, so httplib may also serve Range requests.
class TarStream {
 public:
  struct File {
    std::string path;
    std::string header;
    uint64_t size;
    uint64_t start;  // offset of its header in the archive
  };

  static Result<std::shared_ptr<TarStream>> Of(const std::string& dir) {
    auto t = std::make_shared<TarStream>();
    t->dir_ = dir;
    std::error_code ec;
    std::vector<fs::directory_entry> entries;
    for (const auto& e : fs::directory_iterator(dir, ec)) entries.push_back(e);
    if (ec) return Status::IoError("cannot list the snapshot " + dir + ": " + ec.message());
    std::sort(entries.begin(), entries.end());
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    uint64_t offset = 0;
    for (const auto& e : entries) {
      if (!e.is_regular_file()) continue;
      uint64_t size = e.file_size(ec);
      if (ec) return Status::IoError("cannot stat " + e.path().string() + ": " + ec.message());
      ASSIGN_OR_RETURN(std::string header, TarFileHeader(e.path().filename().string(), size, now));
      t->files_.push_back({e.path().string(), std::move(header), size, offset});
      offset += TarEntrySize(size);
    }
    t->total_ = offset + 2 * kTarBlock;
    return t;
  }

  const std::string& dir() const { return dir_; }
  uint64_t total() const { return total_; }
  size_t files() const { return files_.size(); }

  // Writes the bytes from `offset` on (at most 256 KiB); false when a file cannot be read.
  bool Write(uint64_t offset, uint64_t length, httplib::DataSink& sink) {
    length = std::min<uint64_t>(length, buf_.size());
    auto it = std::upper_bound(files_.begin(), files_.end(), offset,
                               [](uint64_t off, const File& f) { return off < f.start; });
    if (it == files_.begin() || offset >= total_ - 2 * kTarBlock) {  // the end blocks
      std::fill_n(buf_.begin(), length, '\0');
      return sink.write(buf_.data(), static_cast<size_t>(length));
    }
    const File& f = *std::prev(it);
    const uint64_t at = offset - f.start;
    if (at < kTarBlock) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(length, kTarBlock - at));
      return sink.write(f.header.data() + at, n);
    }
    if (at < kTarBlock + f.size) {
      uint64_t pos = at - kTarBlock;
      size_t n = static_cast<size_t>(std::min<uint64_t>(length, f.size - pos));
      if (open_ != &f) {
        in_ = std::ifstream(f.path, std::ios::binary);
        open_ = &f;
      }
      in_.seekg(static_cast<std::streamoff>(pos));
      in_.read(buf_.data(), static_cast<std::streamsize>(n));
      if (static_cast<size_t>(in_.gcount()) != n) {
        spdlog::error("backup: cannot read {}", f.path);
        return false;
      }
      return sink.write(buf_.data(), n);
    }
    size_t n = static_cast<size_t>(std::min<uint64_t>(length, TarEntrySize(f.size) - at));
    std::fill_n(buf_.begin(), n, '\0');  // the padding
    return sink.write(buf_.data(), n);
  }

 private:
  std::string dir_;
  std::vector<File> files_;
  uint64_t total_ = 0;
  std::vector<char> buf_ = std::vector<char>(256 << 10);
  std::ifstream in_;
  const File* open_ = nullptr;
};

}  // namespace

void RegisterBackup(Router& s, storage::Store* store) {
  s.Get("/api/v1/backup", [store](const httplib::Request&, httplib::Response& res) {
    auto dir = store->CreateSnapshot();
    if (!dir.ok()) {
      spdlog::error("backup: {}", dir.status().ToString());
      return ReplyError(res, dir.status());
    }
    auto tar = TarStream::Of(*dir);
    if (!tar.ok()) {
      store->RemoveSnapshot(*dir);
      spdlog::error("backup: {}", tar.status().ToString());
      return ReplyError(res, tar.status());
    }
    auto stream = *tar;
    spdlog::info("backup: streaming a snapshot of {} files, {} bytes", stream->files(),
                 stream->total());
    res.set_header("Content-Disposition", "attachment; filename=\"crew-backup.tar\"");
    res.set_header("Cache-Control", "no-store");
    res.set_content_provider(
        static_cast<size_t>(stream->total()), "application/x-tar",
        [stream](size_t offset, size_t length, httplib::DataSink& sink) {
          return stream->Write(offset, length, sink);
        },
        [store, stream](bool success) {
          store->RemoveSnapshot(stream->dir());
          if (!success) spdlog::warn("backup: the download did not complete");
        });
  });
}

}  // namespace crew::api
