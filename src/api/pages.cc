// "/": the dashboard (N4) from the embedded build of ui/, with its client-side routes; a small
// page that says what the server is when the UI was not built. "/api-docs": the API browser
// (N6), a page that renders the OpenAPI document served at /api-docs/openapi.json.
#include <string_view>
#include <unordered_map>

#include <httplib.h>

#include "api/api_docs.h"
#include "api/assets.h"
#include "api/routes.h"

namespace crew::api {

namespace {

constexpr const char* kRoot = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Crew</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:3rem auto;padding:0 1rem}
code{background:#f3f3f3;padding:0 .25rem}</style></head>
<body><h1>Crew</h1>
<p>A task-processing server: task groups hold a DAG of tasks, and workers in any language
acquire them from channels and release them over a REST API at <code>/api/v1/</code>.</p>
<ul><li><a href="./api-docs">API reference</a></li>
<li><a href="./api/v1/task_groups">Task groups</a> (JSON)</li>
<li><a href="./api/v1/channels">Channels</a> (JSON)</li>
<li><a href="./healthz">Health</a>, <a href="./metrics">metrics</a></li></ul>
</body></html>)";

}  // namespace

void RegisterPages(Router& server) {
  auto assets = std::make_shared<std::unordered_map<std::string_view, const Asset*>>();
  for (const Asset* a = kAssets; a->path; ++a) (*assets)[a->path] = a;
  server.Get("/api-docs/?", [](const httplib::Request&, httplib::Response& res) {
    std::string_view page = ApiDocsPage();
    res.set_header("Cache-Control", "no-cache");
    res.set_content(page.data(), page.size(), "text/html; charset=utf-8");
  });
  server.Get("/api-docs/openapi.json", [](const httplib::Request&, httplib::Response& res) {
    std::string_view doc = OpenApiJson();
    res.set_header("Cache-Control", "no-cache");
    res.set_content(doc.data(), doc.size(), "application/json; charset=utf-8");
  });
  // Registered last: every other GET is a file of the dashboard ("/" is its index.html; its own
  // routes are in the URL's fragment, #/group/<id>). Anything else is 404: index.html under a
  // deeper path would load its ./assets/ from the wrong place and show a blank page, and under a
  // missing /assets/ file it would be cached as that file for a year.
  server.Get("(/.*)", [assets](const httplib::Request& req, httplib::Response& res) {
    const std::string& path = req.path;
    auto it = assets->find(path == "/" ? std::string_view("/index.html") : std::string_view(path));
    if (it == assets->end()) {
      if (path != "/") {
        res.status = 404;
        return;  // the error handler answers with JSON
      }
      res.set_content(kRoot, "text/html; charset=utf-8");
      return;
    }
    const Asset* a = it->second;
    bool hashed = path.rfind("/assets/", 0) == 0;
    res.set_header("Cache-Control", hashed ? "public, max-age=31536000, immutable" : "no-cache");
    res.set_content(reinterpret_cast<const char*>(a->data), a->size, a->content_type);
  });
}

}  // namespace crew::api
