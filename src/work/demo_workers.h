// `crew work` (SPEC N7): the built-in demo workers of reference §11.2 for channels worker_a,
// worker_b and worker_c, run against a Crew server over its REST API, so a DAG can be watched
// running with nothing but the binary. One thread per worker; Stop() lets each finish and
// release the task it holds.
#pragma once

#include <atomic>
#include <string>

namespace crew::work {

struct DemoOptions {
  std::string base_url = "http://127.0.0.1:3000/";  // CREW_API_BASE_URL
  double speed = 1;                                 // divides every wait and delay (tests use 100)
  std::string auth_token;                           // sent as Authorization: Bearer
};

// Runs the three workers until `stop` becomes true. Returns 0, or 1 if the URL is unusable.
int RunDemoWorkers(const DemoOptions& options, const std::atomic<bool>& stop);

}  // namespace crew::work
