// How many connections the event loops keep open (loop_server.cc Accept counts them): past the
// cap, new clients wait in the listen backlog.
#pragma once

#include <chrono>
#include <cstddef>

namespace crew::api {

// The connections open at most by default: the open-file limit less the descriptors kept for
// the store (RocksDB opens a WAL, tables, its manifest and logs as it goes; a failed open makes
// it refuse writes until a restart), backups and pipes: an eighth of the limit, at least 128.
size_t ConnectionLimit();

// Logs, at most once a minute, that `open` connections are open and no more are accepted.
// `*logged_at`: when it last said so (the caller's, one per accepting thread).
void LogConnectionsFull(size_t open, std::chrono::steady_clock::time_point* logged_at);

}  // namespace crew::api
