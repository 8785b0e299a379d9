// api/http_metrics and api/prometheus: bounded route labels and the text format (SPEC N6).
#include <gtest/gtest.h>

#include "api/api_docs.h"
#include "api/http_metrics.h"
#include "api/prometheus.h"
#include "api/router.h"

namespace crew::api {
namespace {

TEST(HttpMetrics, RouteLabelsAreTemplatesNeverIdsOrChannels) {
  HttpMetrics m(OpenApiPaths());
  struct Case {
    const char* path;
    const char* route;
  } cases[] = {
      {"/api/v1/task_groups", "/api/v1/task_groups"},
      {"/api/v1/task_groups/count", "/api/v1/task_groups/count"},
      {"/api/v1/task_group/665f1c2e9b1d4a0001a2b3c4", "/api/v1/task_group/:id"},
      {"/api/v1/task_group/not-an-id/tasks", "/api/v1/task_group/:id/tasks"},
      {"/api/v1/task/665f1c2e9b1d4a0001a2b3c4/release", "/api/v1/task/:id/release"},
      {"/api/v1/channel/images/acquire", "/api/v1/channel/:channel/acquire"},
      {"/api/v1/channel/a/b/c/acquire", "/api/v1/channel/:channel/acquire"},
      {"/api/v1/channel/a/b/c/d/e/f/g/h/i/j/k/l/acquire", "/api/v1/channel/:channel/acquire"},
      {"/api/v1/channel/x/tasks", "/api/v1/channel/:channel/tasks"},
      {"/api/v1/channel//acquire", "other"},
      {"/api/v1/tasks/release", "/api/v1/tasks/release"},
      {"/api/v1/nothing/here", "other"},
      {"/api/v1/task/1/2/3/4/5", "other"},
      {"/healthz", "/healthz"},
      {"/metrics", "/metrics"},
      {"/api-docs", "/api-docs"},
      {"/api-docs/openapi.json", "/api-docs/openapi.json"},
      {"/socket.io/", "/socket.io/"},
      {"/", "/"},
      {"/assets/index-1a2b.js", "/*"},
      {"/groups/665f1c2e9b1d4a0001a2b3c4", "/*"},
  };
  for (const auto& c : cases) EXPECT_EQ(m.RouteOf(c.path), c.route) << c.path;
  std::string deep = "/api/v1/channel";  // more segments than a label is looked for in
  for (int i = 0; i < 70; ++i) deep += "/a";
  EXPECT_EQ(m.RouteOf(deep + "/acquire"), "other");
}

// A route of the Router is matched against the templates once; its label is then what each of
// its paths would be labelled. A route of no known shape is labelled by each request's path.
TEST(HttpMetrics, ARouteIsLabelledOnceByItsTemplate) {
  HttpMetrics m(OpenApiPaths());
  Router r;
  auto none = [](const httplib::Request&, httplib::Response&) {};
  r.Post("/api/v1/channel/(.+)/acquire", none);
  r.Post("/api/v1/task/([^/]+)/release", none);
  r.Get("/api/v1/task_groups/count", none);
  r.Get("/healthz", none);
  r.Post("/api/v1/task/([^/]+)/(?:examine|execute)", none);
  r.Get("(/.*)", none);
  r.Label([&m](std::string_view path_template) { return m.RouteIndex(path_template); });
  struct Case {
    const char* method;
    const char* path;
    bool labelled;
  } cases[] = {
      {"POST", "/api/v1/channel/images/acquire", true},
      {"POST", "/api/v1/channel/a/b/c/acquire", true},
      {"POST", "/api/v1/task/665f1c2e9b1d4a0001a2b3c4/release", true},
      {"GET", "/api/v1/task_groups/count", true},
      {"GET", "/healthz", true},
      {"POST", "/api/v1/task/665f1c2e9b1d4a0001a2b3c4/examine", false},
      {"GET", "/assets/index-1a2b.js", false},
  };
  for (const auto& c : cases) {
    httplib::Request req;
    req.method = c.method;
    req.path = c.path;
    const Router::Route* route = r.Match(req);
    ASSERT_NE(route, nullptr) << c.path;
    EXPECT_EQ(route->label >= 0, c.labelled) << c.path;
    if (c.labelled) {
      EXPECT_EQ(route->label, m.RouteIndex(c.path)) << c.path;
    }
  }
}

TEST(HttpMetrics, CountsAndHistogramsRender) {
  HttpMetrics m(OpenApiPaths());
  m.Observe("GET", "/api/v1/task/665f1c2e9b1d4a0001a2b3c4", 200, 0.002);
  m.Observe("GET", "/api/v1/task/665f1c2e9b1d4a0001a2b3c5", 200, 0.5);
  m.Observe("GET", "/api/v1/task/nope", 400, std::nullopt);
  m.Observe("BREW", "/x", 400, std::nullopt);
  PromText out;
  m.Render(out);
  const std::string& t = out.text();
  EXPECT_NE(t.find("crew_http_requests_total{method=\"GET\",route=\"/api/v1/task/:id\","
                   "code=\"200\"} 2\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("code=\"400\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("{method=\"other\",route=\"/*\",code=\"400\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("_bucket{route=\"/api/v1/task/:id\",le=\"0.005\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("_bucket{route=\"/api/v1/task/:id\",le=\"0.5\"} 2\n"), std::string::npos);
  EXPECT_NE(t.find("_bucket{route=\"/api/v1/task/:id\",le=\"+Inf\"} 2\n"), std::string::npos);
  EXPECT_NE(t.find("_count{route=\"/api/v1/task/:id\"} 2\n"), std::string::npos);
  EXPECT_EQ(t.find("665f1c2e"), std::string::npos);
}

TEST(PromText, EscapesLabelValues) {
  PromText out;
  out.Family("x", "gauge", "help");
  out.Sample("x", {{"channel", "a\"b\\c\nd"}}, int64_t{3});
  out.Sample("y", {}, 0.25);
  EXPECT_EQ(out.text(),
            "# HELP x help\n# TYPE x gauge\nx{channel=\"a\\\"b\\\\c\\nd\"} 3\ny 0.25\n");
}

}  // namespace
}  // namespace crew::api
