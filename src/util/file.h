// Writing files durably with POSIX calls: whole writes and directory syncs, for the code that
// writes files itself (crew restore, the WAL spares of storage/wal_spare.h).
#pragma once

#include <string>
#include <string_view>

#include "util/status.h"

namespace crew {

// Writes all of data to fd at its offset, retrying short writes and EINTR; `path` names the
// file in the error.
Status WriteFully(int fd, std::string_view data, const std::string& path);
// fsyncs a directory, so that the names created or renamed in it survive a crash.
Status SyncDir(const std::string& dir);

}  // namespace crew
