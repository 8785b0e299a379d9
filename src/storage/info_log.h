// RocksDB's own log, the file LOG in the data dir (flushes, compactions, periodic stats), written
// by crew instead of by RocksDB's file logger.
//
// RocksDB's logger keeps writing through a file writer that has seen an error, and that writer
// asserts on the next append; Debian's librocksdb is built with assertions on, so a full disk
// (or a file-size limit) aborted crew at the first log line after a failed one, even at start-up
// on a nearly full disk, before any write could be refused with a message. Here a line that
// cannot be written is dropped and counted; the next line tries again.
//
// As RocksDB's logger does: a start moves the previous LOG to LOG.old.<microseconds>, LOG rolls
// over the same way once it would pass `max_bytes`, and only the `keep` newest files (LOG
// included) stay. Lines are "2026/12/04-14:22:55.071234 7f3a2c1ff6c0 text", in local time.
#pragma once

#include <cstdarg>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include <rocksdb/env.h>

namespace crew::storage {

class InfoLog : public rocksdb::Logger {
 public:
  // Never fails: a LOG that cannot be opened drops every line (and counts them).
  static std::shared_ptr<InfoLog> Open(const std::string& dir, uint64_t max_bytes, int keep);
  ~InfoLog() override;

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override;
  size_t GetLogFileSize() const override;

  uint64_t dropped() const;  // lines not written

 private:
  InfoLog(std::string dir, uint64_t max_bytes, int keep);
  // REQUIRES: mu_ held. The current LOG, if any, becomes LOG.old.<now>; then a new LOG is opened.
  void StartFile();
  void DropOldFiles();  // REQUIRES: mu_ held

  const std::string dir_;
  const uint64_t max_bytes_;
  const int keep_;
  mutable std::mutex mu_;
  int fd_ = -1;           // GUARDED_BY(mu_)
  uint64_t size_ = 0;     // GUARDED_BY(mu_)
  uint64_t dropped_ = 0;  // GUARDED_BY(mu_)
};

}  // namespace crew::storage
