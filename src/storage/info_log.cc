#include "storage/info_log.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <vector>

#include <spdlog/spdlog.h>

namespace crew::storage {

namespace fs = std::filesystem;

namespace {

constexpr const char* kOldPrefix = "LOG.old.";

// "2026/12/04-14:22:55.071234 7f3a2c1ff6c0 " (RocksDB's own layout).
std::string LineHead() {
  timeval now;
  gettimeofday(&now, nullptr);
  tm t;
  localtime_r(&now.tv_sec, &t);
  char head[64];
  const int n = std::snprintf(head, sizeof head, "%04d/%02d/%02d-%02d:%02d:%02d.%06ld %llx ",
                              t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min,
                              t.tm_sec, static_cast<long>(now.tv_usec),
                              static_cast<unsigned long long>(pthread_self()));
  return std::string(head, static_cast<size_t>(std::max(n, 0)));
}

}  // namespace

std::shared_ptr<InfoLog> InfoLog::Open(const std::string& dir, uint64_t max_bytes, int keep) {
  std::shared_ptr<InfoLog> log(new InfoLog(dir, max_bytes, std::max(keep, 1)));
  std::lock_guard<std::mutex> lock(log->mu_);
  log->StartFile();
  return log;
}

InfoLog::InfoLog(std::string dir, uint64_t max_bytes, int keep)
    : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL),
      dir_(std::move(dir)),
      max_bytes_(max_bytes),
      keep_(keep) {}

InfoLog::~InfoLog() {
  if (fd_ >= 0) close(fd_);
}

void InfoLog::Logv(const char* format, va_list ap) {
  std::string line = LineHead();
  const size_t head = line.size();
  char small[512];
  va_list copy;
  va_copy(copy, ap);
  const int n = std::vsnprintf(small, sizeof small, format, copy);
  va_end(copy);
  if (n < 0) return;
  if (static_cast<size_t>(n) < sizeof small) {
    line.append(small, static_cast<size_t>(n));
  } else {
    line.resize(head + static_cast<size_t>(n) + 1);
    std::vsnprintf(line.data() + head, static_cast<size_t>(n) + 1, format, ap);
    line.resize(head + static_cast<size_t>(n));
  }
  if (line.back() != '\n') line.push_back('\n');
  // A WAL or MANIFEST read at start-up is replayed up to the first record it cannot read
  // (point-in-time recovery), and RocksDB says so only here ("<file>: dropping N bytes;
  // Corruption: ..."). That is a write cut short by a crash or a power loss (never answered),
  // or damage, and then the writes after it are lost: said in crew's own log too, where an
  // operator looks.
  if (line.find(": dropping ", head) != std::string::npos &&
      line.find(" bytes; ", head) != std::string::npos) {
    spdlog::warn(
        "the store's recovery dropped a part of a log file it could not read (a write cut short "
        "by a crash or a power loss, never answered; or damage, and then the writes after it "
        "are lost): {}",
        std::string_view(line).substr(head, line.size() - head - 1));
  }

  std::lock_guard<std::mutex> lock(mu_);
  if (size_ > 0 && size_ + line.size() > max_bytes_) StartFile();
  size_t done = 0;
  while (fd_ >= 0 && done < line.size()) {
    const ssize_t w = write(fd_, line.data() + done, line.size() - done);
    if (w > 0) {
      done += static_cast<size_t>(w);
    } else if (w < 0 && errno == EINTR) {
      continue;
    } else {
      break;  // a full disk, a file-size limit: this line is lost, the next one tries again
    }
  }
  size_ += done;
  if (done < line.size()) ++dropped_;
}

size_t InfoLog::GetLogFileSize() const {
  std::lock_guard<std::mutex> lock(mu_);
  return size_;
}

uint64_t InfoLog::dropped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_;
}

void InfoLog::StartFile() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  const fs::path path = fs::path(dir_) / "LOG";
  std::error_code ec;
  if (fs::file_size(path, ec) > 0 && !ec) {
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    fs::rename(path, fs::path(dir_) / (kOldPrefix + std::to_string(micros)), ec);
  }
  DropOldFiles();
  fd_ = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  struct stat st;
  size_ = fd_ >= 0 && fstat(fd_, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

void InfoLog::DropOldFiles() {
  std::vector<std::string> old;
  std::error_code ec;
  // (error codes throughout: this runs on RocksDB's threads, where a throw would end crew)
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.rfind(kOldPrefix, 0) == 0) old.push_back(std::move(name));
  }
  std::sort(old.begin(), old.end());  // (same-width microsecond stamps: oldest first)
  const size_t keep_old = static_cast<size_t>(keep_ - 1);
  for (size_t i = 0; i + keep_old < old.size(); ++i) fs::remove(fs::path(dir_) / old[i], ec);
}

}  // namespace crew::storage
