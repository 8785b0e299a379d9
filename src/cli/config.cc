#include "cli/config.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "util/http_url.h"

namespace crew::cli {

int DefaultHttpLoops() {
  return static_cast<int>(std::clamp(std::thread::hardware_concurrency() / 2, 1u, 64u));
}

namespace {

// A decimal number (strtod alone also took "0x10", "inf" and "nan").
Status Number(const char* name, const char* text, double* out) {
  char* end = nullptr;
  double v = std::strtod(text, &end);
  if (end == text || *end != '\0' || !std::isfinite(v) ||
      std::strspn(text, "0123456789+-.eE") != std::strlen(text)) {
    return Status::Invalid(std::string(name) + " must be a number, got '" + text + "'");
  }
  *out = v;
  return Status::Ok();
}

Status Flag(const char* name, const char* text, bool* out) {
  std::string v = text;
  if (v == "yes" || v == "true" || v == "1" || v == "on") {
    *out = true;
  } else if (v == "no" || v == "false" || v == "0" || v == "off" || v.empty()) {
    *out = false;
  } else {
    return Status::Invalid(std::string(name) + " must be yes or no, got '" + v + "'");
  }
  return Status::Ok();
}

Status WholeNumber(const char* name, double value, int min, int max) {
  if (value >= min && value <= max && value == std::floor(value)) return Status::Ok();
  return Status::Invalid(std::string(name) + " must be a whole number from " + std::to_string(min) +
                         " to " + std::to_string(max));
}

}  // namespace

EnvErrors ApplyEnvironment(Config* c, const Getenv& getenv) {
  EnvErrors errors;
  // (a variable that cannot be read leaves its setting as it was)
  auto note = [&errors](const char* name, const Status& s) {
    if (!s.ok()) errors[name] = s.message();
  };
  if (const char* v = getenv("CREW_DATA_DIR"); v && *v) c->data_dir = v;
  if (const char* v = getenv("CREW_HOST"); v && *v) c->host = v;
  if (const char* v = getenv("PORT"); v && *v) {
    double port = -1;
    Status read = Number("PORT", v, &port);
    if (read.ok() && !(port >= 0 && port <= 65535 && port == std::floor(port))) {
      read = Status::Invalid(std::string("PORT must be a whole number from 0 to 65535, got '") + v +
                             "'");
    }
    note("PORT", read);
    if (read.ok()) c->port = static_cast<int>(port);
  }
  if (const char* v = getenv("CREW_RELAXED_DURABILITY"))
    note("CREW_RELAXED_DURABILITY", Flag("CREW_RELAXED_DURABILITY", v, &c->relaxed_durability));
  if (const char* v = getenv("CREW_SYNC_LEASES"))
    note("CREW_SYNC_LEASES", Flag("CREW_SYNC_LEASES", v, &c->sync_leases));
  if (const char* v = getenv("CREW_AUTH_TOKEN")) c->auth_token = v;
  if (const char* v = getenv("CREW_TLS_CERT")) c->tls_cert = v;
  if (const char* v = getenv("CREW_TLS_KEY")) c->tls_key = v;
  if (const char* v = getenv("CREW_CLEAN_EXPIRED_GROUPS"); v && *v) {
    note("CREW_CLEAN_EXPIRED_GROUPS",
         Flag("CREW_CLEAN_EXPIRED_GROUPS", v, &c->clean_expired_groups));
  }
  if (const char* v = getenv("CREW_USE_EXTERNAL_CRON"); v && *v)
    note("CREW_USE_EXTERNAL_CRON", Flag("CREW_USE_EXTERNAL_CRON", v, &c->use_external_cron));
  // The numbers (their ranges are Validate's).
  for (auto [name, value] :
       {std::pair{"CREW_ABANDONED_TASK_INTERVAL_IN_SECONDS", &c->lease_seconds},
        std::pair{"CREW_EXPIRED_GROUP_INTERVAL_IN_DAYS", &c->expired_group_days},
        std::pair{"CREW_SYNC_CLEAN_SIZE", &c->sync_clean_size},
        std::pair{"CREW_CLEAN_BATCH_SIZE", &c->clean_batch_size},
        std::pair{"CREW_BOOTSTRAP_BATCH_SIZE", &c->bootstrap_batch_size},
        std::pair{"CREW_OPERATOR_CONCURRENCY", &c->operator_concurrency},
        std::pair{"CREW_WAL_SPARE_MB", &c->wal_spare_mb},
        std::pair{"CREW_HTTP_LOOPS", &c->http_loops}}) {
    if (const char* v = getenv(name); v && *v) note(name, Number(name, v, value));
  }
  if (const char* v = getenv("CREW_LOG_LEVEL"); v && *v) c->log_level = v;
  if (const char* v = getenv("CREW_LOG_FORMAT"); v && *v) c->log_format = v;
  if (const char* v = getenv("CREW_VIRTUAL_OPERATOR_BASE_URL")) c->virtual_operator_base_url = v;
  if (const char* v = getenv("CREW_VIRTUAL_OPERATOR_AUTH_TOKEN")) c->virtual_operator_token = v;
  if (const char* v = getenv("CREW_CLOUD_TASK_ACCESS_TOKEN")) c->cloud_task_access_token = v;
  return errors;
}

Status Validate(const Config& c) {
  if (c.port < 0 || c.port > 65535) return Status::Invalid("the port must be between 0 and 65535");
  // (bounded: the engine keeps times as milliseconds in 64 bits)
  if (!(c.lease_seconds >= 0.001 && c.lease_seconds <= 31'536'000)) {
    return Status::Invalid(
        "CREW_ABANDONED_TASK_INTERVAL_IN_SECONDS must be from 0.001 to 31536000 (a year)");
  }
  if (!(c.expired_group_days > 0 && c.expired_group_days <= 36'500)) {
    return Status::Invalid("CREW_EXPIRED_GROUP_INTERVAL_IN_DAYS must be above 0 and at most 36500");
  }
  RETURN_IF_ERROR(WholeNumber("CREW_SYNC_CLEAN_SIZE", c.sync_clean_size, 1, 1'000'000));
  RETURN_IF_ERROR(WholeNumber("CREW_CLEAN_BATCH_SIZE", c.clean_batch_size, 1, 1'000'000));
  RETURN_IF_ERROR(WholeNumber("CREW_BOOTSTRAP_BATCH_SIZE", c.bootstrap_batch_size, 1, 1'000'000));
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    return Status::Invalid("TLS needs both --tls-cert and --tls-key");
  }
  if (c.data_dir.empty()) return Status::Invalid("the data dir must not be empty");
  // (each channel is pushed to it + the channel's name: one that is no URL failed every push,
  // and used up every task's attempts)
  if (!c.virtual_operator_base_url.empty() && !SplitHttpUrl(c.virtual_operator_base_url)) {
    return Status::Invalid(
        "CREW_VIRTUAL_OPERATOR_BASE_URL must be an http:// or https:// URL, got '" +
        c.virtual_operator_base_url + "'");
  }
  RETURN_IF_ERROR(WholeNumber("CREW_OPERATOR_CONCURRENCY", c.operator_concurrency, 1, 1000));
  RETURN_IF_ERROR(WholeNumber("CREW_WAL_SPARE_MB", c.wal_spare_mb, 0, 4096));
  RETURN_IF_ERROR(WholeNumber("CREW_HTTP_LOOPS", c.http_loops, 1, 64));
  if (c.log_format != "text" && c.log_format != "json") {
    return Status::Invalid("the log format must be text or json, got '" + c.log_format + "'");
  }
  // ("warning" is how a line names the level: spdlog reads both)
  static const char* const kLevels[] = {"trace",   "debug", "info",     "warn",
                                        "warning", "error", "critical", "off"};
  for (const char* level : kLevels) {
    if (c.log_level == level) return Status::Ok();
  }
  return Status::Invalid("unknown log level '" + c.log_level + "'");
}

}  // namespace crew::cli
