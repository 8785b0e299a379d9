// Request bodies: JSON (parsed with simdjson) -> engine commands, with every check of SPEC D1,
// D7, D10, D11 and §4. Each function answers kInvalidArgument with a message naming the field.
// An empty body counts as {}. Thread-safe (one simdjson parser per thread).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/engine.h"
#include "util/status.h"

namespace crew::api {

struct AcquireRequest {
  std::string worker_id;
  double wait_seconds = 0;   // N1: 0..60
  std::optional<int> limit;  // N8: 1..1000; unset = the single-task answer
};

struct ReleaseItem {
  // As given (none: missing or not a string); the route checks it.
  std::optional<std::string> task_id;
  Result<engine::ReleaseCommand> command;
};

// Frees this thread's parser's memory if a body over 64 KB grew it (each pool thread, after each
// request). REQUIRES: nothing this thread parsed is still in use. ThreadParserCapacity: for tests.
void ReleaseLargeParser();
size_t ThreadParserCapacity();

Result<engine::NewGroup> ParseNewGroup(std::string_view body);
Result<std::optional<std::string>> ParseGroupUpdate(std::string_view body);  // the new name
// A task body or (N2) an array of them; *is_array tells which.
Result<std::vector<engine::NewTask>> ParseNewTasks(std::string_view body, bool* is_array);
Result<engine::TaskPatch> ParseTaskPatch(std::string_view body);
Result<AcquireRequest> ParseAcquire(std::string_view body);
// A falsy `output` is null, as the original's release route stores it (§4.3); an operator's
// answer (src/dispatch) keeps it, as the original's operator passes it on (`Verbatim::kOutput`).
enum class Verbatim { kNone, kOutput };
Result<engine::ReleaseCommand> ParseRelease(std::string_view body,
                                            Verbatim verbatim = Verbatim::kNone);
// N8: the body must be an array of objects; each item's own problems stay with the item.
Result<std::vector<ReleaseItem>> ParseReleaseBatch(std::string_view body);
Result<std::string> ParseWorkerOnly(std::string_view body);  // heartbeat
// A body a route does not read (a GET, a DELETE, pause, resume, pluck, maintenance; the router
// checks it, router.h): nothing, a body of another type than JSON (ignored, as the original's
// body parser did, reference §1), or a JSON object (SPEC §4). `content_type` is the request's
// Content-Type header.
Status ParseUnusedBody(std::string_view body, std::string_view content_type);
Result<int64_t> ParseAttempts(std::string_view body, int64_t default_attempts);  // reset/retry
Result<engine::OperatorFields> ParseOperator(std::string_view body, bool create);

// Path and query values.
Result<Id> ParseId(std::string_view text);
// Query integer (limit, skip); `fallback` when absent or empty.
Result<int64_t> ParseQueryInt(const std::string& name, const std::string& value, bool present,
                              int64_t fallback, int64_t min);

}  // namespace crew::api
