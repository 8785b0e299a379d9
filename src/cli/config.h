// Config: every setting of `crew start`, filled from flags, then the environment, then defaults
// (SPEC §1, reference §10). The one place that reads the environment (STYLE.md §11).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "util/status.h"

namespace crew::cli {

// Half the cores, at least 1: each loop can keep a core busy, and the sync thread, RocksDB's
// compactions and the pool need the rest (bench/RESULTS.md, loops 1/2/4 on 2 cores).
int DefaultHttpLoops();

struct Config {
  std::string data_dir = "./crew-data";  // CREW_DATA_DIR
  std::string host = "127.0.0.1";        // CREW_HOST
  int port = 3000;                       // PORT
  bool relaxed_durability = false;       // CREW_RELAXED_DURABILITY=1
  bool sync_leases = false;              // CREW_SYNC_LEASES=1
  std::string auth_token;                // CREW_AUTH_TOKEN
  std::string tls_cert, tls_key;         // CREW_TLS_CERT, CREW_TLS_KEY
  double lease_seconds = 60;             // CREW_ABANDONED_TASK_INTERVAL_IN_SECONDS
  bool clean_expired_groups = true;      // CREW_CLEAN_EXPIRED_GROUPS (yes/no)
  bool use_external_cron = false;        // CREW_USE_EXTERNAL_CRON (yes/no)
  double expired_group_days = 7;         // CREW_EXPIRED_GROUP_INTERVAL_IN_DAYS
  // Maintenance batches (reference §10): the hourly clean's, and the default `?batch=` of the
  // /api/v1/clean and /api/v1/bootstrap routes.
  double sync_clean_size = 20;        // CREW_SYNC_CLEAN_SIZE
  double clean_batch_size = 20;       // CREW_CLEAN_BATCH_SIZE
  double bootstrap_batch_size = 100;  // CREW_BOOTSTRAP_BATCH_SIZE
  std::string log_level = "info";     // CREW_LOG_LEVEL
  std::string log_format = "text";    // CREW_LOG_FORMAT: text or json (N6)
  // Operators (reference §7, SPEC D16).
  std::string virtual_operator_base_url;   // CREW_VIRTUAL_OPERATOR_BASE_URL
  std::string virtual_operator_token;      // CREW_VIRTUAL_OPERATOR_AUTH_TOKEN
  std::string cloud_task_access_token;     // CREW_CLOUD_TASK_ACCESS_TOKEN (examine/execute)
  double operator_concurrency = 8;         // CREW_OPERATOR_CONCURRENCY
  double wal_spare_mb = 32;                // CREW_WAL_SPARE_MB (storage/wal_spare.h; 0: none)
  double http_loops = DefaultHttpLoops();  // CREW_HTTP_LOOPS (api/loop_server.h)
};

using Getenv = std::function<const char*(const char*)>;

// The variables whose value could not be read, each with its message.
using EnvErrors = std::map<std::string, std::string>;

// Applies the environment variables that are set; a variable that cannot be read leaves its
// setting as it was and is answered (crew start fails on it, unless its flag was given).
EnvErrors ApplyEnvironment(Config* config, const Getenv& getenv);
// Checks ranges after flags and environment were applied.
Status Validate(const Config& config);

}  // namespace crew::cli
