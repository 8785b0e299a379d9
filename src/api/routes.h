// The route table of the REST API (reference §3) and its handlers. Internal to api/.
#pragma once

#include <functional>
#include <string>

#include "api/event_hub.h"
#include "api/http_server.h"
#include "api/router.h"
#include "engine/engine.h"
#include "storage/store.h"

namespace crew::api {

class HttpMetrics;

struct RouteContext {
  engine::Engine* engine;
  storage::Store* store;
  EventHub* hub;
  std::string examine_token;
  std::function<void()> on_examine;
};

// What /metrics reports besides the engine's and the store's own figures.
struct MetricsSources {
  const HttpMetrics* http;
  const std::atomic<int>* in_flight;
  std::string version;
  std::function<DispatchCounts()> dispatch_counts;
};

void RegisterRoutes(Router& server, RouteContext ctx);
// Static pages: "/", "/api-docs" and its OpenAPI document (pages.cc).
void RegisterPages(Router& server);
// GET /metrics (metrics_route.cc).
void RegisterMetrics(Router& server, RouteContext ctx, MetricsSources sources);
// GET /api/v1/backup (backup_route.cc).
void RegisterBackup(Router& server, storage::Store* store);
// HTTP status for a Status code (the one table of SPEC D1).
int HttpStatus(Code code);

}  // namespace crew::api
