#include "storage/wal_spare.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <spdlog/spdlog.h>

#include "util/file.h"
#include "util/thread_name.h"

namespace crew::storage {

namespace {

constexpr const char* kSpareName = "wal-spare";  // in the data dir; a fill writes NAME.tmp

uint64_t FileSize(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

}  // namespace

WalSpareFileSystem::WalSpareFileSystem(const std::shared_ptr<rocksdb::FileSystem>& base,
                                       std::string dir, uint64_t spare_bytes)
    : rocksdb::FileSystemWrapper(base),
      spare_(dir + "/" + kSpareName),
      tmp_(spare_ + ".tmp"),
      spare_bytes_(spare_bytes) {
  unlink(tmp_.c_str());  // a fill a crash cut short
  spare_ready_ = FileSize(spare_) == spare_bytes_ || Fill(/*pace=*/false);
  filler_ = std::thread([this] {
    SetThreadName("crew-walspare");
    FillLoop();
  });
}

WalSpareFileSystem::~WalSpareFileSystem() {
  StopPreparing();
  filler_.join();
}

void WalSpareFileSystem::StopPreparing() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
}

void WalSpareFileSystem::Discard(const std::string& dir) {
  const std::string spare = dir + "/" + kSpareName;
  unlink(spare.c_str());
  unlink((spare + ".tmp").c_str());
}

bool WalSpareFileSystem::IsWalFile(const std::string& fname) {
  // RocksDB names its WAL files NNNNNN.log.
  size_t slash = fname.rfind('/');
  std::string base = slash == std::string::npos ? fname : fname.substr(slash + 1);
  if (base.size() <= 4 || base.compare(base.size() - 4, 4, ".log") != 0) return false;
  for (size_t i = 0; i + 4 < base.size(); ++i) {
    if (base[i] < '0' || base[i] > '9') return false;
  }
  return true;
}

rocksdb::IOStatus WalSpareFileSystem::NewWritableFile(
    const std::string& fname, const rocksdb::FileOptions& options,
    std::unique_ptr<rocksdb::FSWritableFile>* result, rocksdb::IODebugContext* dbg) {
  if (!IsWalFile(fname)) return target()->NewWritableFile(fname, options, result, dbg);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (spare_ready_ && !stop_) {
      // Renames the spare to fname and opens it for writing from offset 0, without truncating.
      rocksdb::IOStatus s = target()->ReuseWritableFile(fname, spare_, options, result, dbg);
      if (s.ok()) {
        spare_ready_ = false;
        cv_.notify_all();
        prepared_.fetch_add(1);
        return s;
      }
      spdlog::warn("cannot use the prepared WAL file {}: {}", spare_, s.ToString());
    }
  }
  unprepared_.fetch_add(1);
  return target()->NewWritableFile(fname, options, result, dbg);
}

bool WalSpareFileSystem::Fill(bool pace) {
  Status s = WriteSpare(pace);
  if (!s.ok()) {
    spdlog::warn("cannot prepare a WAL file ({}): WAL syncs will also write file sizes",
                 s.message());
    unlink(tmp_.c_str());
  }
  return s.ok();
}

Status WalSpareFileSystem::WriteSpare(bool pace) {
  int fd = open(tmp_.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError("cannot create " + tmp_ + ": " + std::strerror(errno));
  // 1 MB at a time, each synced, with a pause between: a 64 MB burst of writeback would queue
  // in front of the WAL syncs of the requests being answered meanwhile.
  const std::string zeros(1 << 20, '\0');
  Status s;
  for (uint64_t off = 0; s.ok() && off < spare_bytes_; off += zeros.size()) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(zeros.size(), spare_bytes_ - off));
    s = WriteFully(fd, std::string_view(zeros).substr(0, n), tmp_);
    if (s.ok() && fdatasync(fd) != 0) s = Status::IoError("cannot sync " + tmp_);
    if (pace && !stop_) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  // fsync, not fdatasync: the size too. The blocks are then allocated and written.
  if (s.ok() && fsync(fd) != 0) s = Status::IoError("cannot sync " + tmp_);
  close(fd);
  RETURN_IF_ERROR(s);
  if (rename(tmp_.c_str(), spare_.c_str()) != 0) {
    return Status::IoError("cannot rename " + tmp_ + ": " + std::strerror(errno));
  }
  return SyncDir(spare_.substr(0, spare_.rfind('/')));
}

// Refills the spare after each use. Gives up after an I/O error: the WAL is still correct,
// only its syncs cost more, and a full disk should not be made fuller.
void WalSpareFileSystem::FillLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || !spare_ready_; });
    if (stop_) return;
    lock.unlock();
    bool ok = Fill(/*pace=*/true);
    lock.lock();
    if (!ok) return;
    spare_ready_ = true;
  }
}

}  // namespace crew::storage
