// The route table of the REST API (reference §3) and its handlers. Internal to api/.
#pragma once

#include <functional>
#include <string>

#include "api/event_hub.h"
#include "engine/engine.h"

namespace httplib {
class Server;
}

namespace crew::api {

struct RouteContext {
  engine::Engine* engine;
  EventHub* hub;
  std::string examine_token;
  std::function<void()> on_examine;
};

void RegisterRoutes(httplib::Server& server, RouteContext ctx);
// Static pages: "/" and "/api-docs" (pages.cc).
void RegisterPages(httplib::Server& server);
// HTTP status for a Status code (the one table of SPEC D1).
int HttpStatus(Code code);

}  // namespace crew::api
