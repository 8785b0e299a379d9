// "/": the dashboard (N4) from the embedded build of ui/, with its client-side routes; a small
// page that says what the server is when the UI was not built. "/api-docs": the route list.
#include <string_view>
#include <unordered_map>

#include <httplib.h>

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
<li><a href="./healthz">Health</a></li></ul>
</body></html>)";

constexpr const char* kApiDocs = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Crew API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
td{padding:.15rem .6rem;vertical-align:top}code{white-space:nowrap}</style></head>
<body><h1>Crew REST API</h1>
<p>Every body is JSON. Errors answer <code>{"message": "..."}</code> with 400 (bad input),
404 (unknown id), 409 (the worker does not hold the task), 413 (body over 10 MB), 503
(storage unavailable). Ids are 24 hex characters; dates are ISO-8601 UTC.</p>
<table>
<tr><td><code>GET /api/v1/task_groups?limit=50&amp;skip=0&amp;stats=false</code></td><td>groups, newest first (with <code>stats</code> each when asked)</td></tr>
<tr><td><code>GET /api/v1/task_groups/count</code></td><td><code>{"count": n}</code></td></tr>
<tr><td><code>POST /api/v1/task_groups</code></td><td>create <code>{name, isPaused?}</code></td></tr>
<tr><td><code>GET|PUT|DELETE /api/v1/task_group/:id</code></td><td>read, rename <code>{name}</code>, delete with its tasks</td></tr>
<tr><td><code>GET /api/v1/task_group/:id/stats</code></td><td><code>{total, complete, running, failed, waiting}</code></td></tr>
<tr><td><code>POST /api/v1/task_group/:id/reset</code></td><td>keep the seeds (if any), restart them <code>{remainingAttempts?: 5}</code></td></tr>
<tr><td><code>POST /api/v1/task_group/:id/retry</code></td><td>new attempts for exhausted tasks <code>{remainingAttempts?: 2}</code></td></tr>
<tr><td><code>POST /api/v1/task_group/:id/pause|resume</code></td><td>stop / restart handing out its tasks</td></tr>
<tr><td><code>GET /api/v1/task_group/:id/tasks?limit&amp;skip</code></td><td>its tasks, newest first (all by default)</td></tr>
<tr><td><code>POST /api/v1/task_group/:id/tasks</code></td><td>create a task, or an array of tasks in one write:
<code>{name, channel, workgroup?, key?, remainingAttempts?: 5, priority?: 0, runAfter? (ISO or epoch ms),
progressWeight?: 1, isSeed?: false, errorDelayInSeconds?: 30, input?, parentIds?: []}</code></td></tr>
<tr><td><code>GET|PUT|DELETE /api/v1/task/:id</code></td><td>read, edit, delete with its descendants</td></tr>
<tr><td><code>GET /api/v1/task/:id/lease</code></td><td><code>{assignedTo, assignedAt, leaseExpiresAt}</code>: who holds it, until when</td></tr>
<tr><td><code>POST /api/v1/task/:id/reset|retry</code></td><td><code>{remainingAttempts?: 2}</code></td></tr>
<tr><td><code>POST /api/v1/task/:id/pluck</code></td><td>copy it into a new paused group</td></tr>
<tr><td><code>POST /api/v1/channel/:channel/acquire</code></td><td><code>{workerId, waitSeconds?: 0..60, limit?: 1..1000}</code>
&rarr; <code>{task, parents}</code> or <code>{task: null}</code>; with <code>limit</code>: <code>{tasks: [{task, parents}]}</code></td></tr>
<tr><td><code>POST /api/v1/task/:id/release</code></td><td><code>{workerId, output?, error?, children?,
childrenDelayInSeconds?, workgroupDelayInSeconds?}</code></td></tr>
<tr><td><code>POST /api/v1/tasks/release</code></td><td>an array of <code>{taskId, ...release body}</code>, one durable write</td></tr>
<tr><td><code>POST /api/v1/task/:id/heartbeat</code></td><td><code>{workerId}</code>: extend the lease</td></tr>
<tr><td><code>GET /api/v1/channel/:channel/tasks</code></td><td>tasks of a channel, newest first</td></tr>
<tr><td><code>GET /api/v1/channels</code></td><td><code>[{name, totalCount, completedCount, assignedCount}]</code></td></tr>
<tr><td><code>GET|POST /api/v1/operators</code>, <code>GET /api/v1/operators/count</code></td><td>HTTP workers of a channel</td></tr>
<tr><td><code>GET|PUT|DELETE /api/v1/operator/:id</code></td><td><code>{channel, url, requestConfig?, isPaused?}</code></td></tr>
<tr><td><code>GET /api/v1/events?taskGroupId=:id</code></td><td>Server-Sent Events of a group</td></tr>
<tr><td><code>ANY /api/v1/clean|bootstrap|sync</code></td><td>run one maintenance batch now: <code>{success, count}</code></td></tr>
<tr><td><code>GET /healthz</code></td><td><code>{"healthy": true}</code></td></tr>
</table></body></html>)";

}  // namespace

void RegisterPages(httplib::Server& server) {
  auto assets = std::make_shared<std::unordered_map<std::string_view, const Asset*>>();
  for (const Asset* a = kAssets; a->path; ++a) (*assets)[a->path] = a;
  server.Get("/api-docs", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(kApiDocs, "text/html; charset=utf-8");
  });
  // Registered last: every other GET outside the API is a file of the dashboard, or one of its
  // client-side routes (answered with index.html).
  server.Get("(/.*)", [assets](const httplib::Request& req, httplib::Response& res) {
    const std::string& path = req.path;
    if (path.rfind("/api/", 0) == 0 || path.rfind("/socket.io", 0) == 0) {
      res.status = 404;
      return;  // the error handler answers with JSON
    }
    auto it = assets->find(path);
    if (it == assets->end()) it = assets->find("/index.html");
    if (it == assets->end()) {
      if (path != "/") {
        res.status = 404;
        return;
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
