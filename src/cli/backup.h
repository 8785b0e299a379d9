// `crew backup` and `crew restore` (SPEC N6). Backup downloads a running server's consistent
// online snapshot (GET /api/v1/backup, a tar archive) and keeps it only once it arrived whole
// and reads as an archive of a data dir. Restore unpacks such an archive into an empty or
// missing data dir, refusing unsafe entry names, and checks that the result opens as a crew
// data dir; `crew start --data-dir DIR` then serves it. Each answers the process exit code.
#pragma once

#include <string>

namespace crew::cli {

struct BackupOptions {
  std::string url = "http://127.0.0.1:3000/";  // the server's base URL (CREW_API_BASE_URL)
  std::string token;                           // CREW_AUTH_TOKEN
  std::string out;                             // the archive to write
};

struct RestoreOptions {
  std::string from;      // the archive
  std::string data_dir;  // empty or missing
};

int Backup(const BackupOptions& options);
int Restore(const RestoreOptions& options);

}  // namespace crew::cli
