// REST routes for groups, tasks, channels, operators and maintenance (reference §3, §5).
// Worker routes (acquire, release, heartbeat) and event streams are in worker_routes.cc.
#include "api/routes.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include <spdlog/spdlog.h>

#include "api/route_util.h"

namespace crew::api {

namespace {

using engine::Engine;
using httplib::Request;

std::string Deleted() { return "{\"acknowledged\":true,\"deletedCount\":1}"; }

std::string Counted(int64_t n) { return "{\"count\":" + std::to_string(n) + "}"; }

// A task listing (reference §5.5): one JSON array. Up to kWholeUpTo tasks it is answered whole;
// a longer one is streamed (chunked) as its tasks are read, kPiece at a time. The UI asks for a
// group's whole list; built whole, 1,000,000 tasks were held twice at once, as tasks and as
// text (crew's RSS went from 0.23 to 1.34 GB, and the first byte left after 11 s). A task
// deleted after its id was read is left out, as in a whole answer. A read that fails midway can
// no longer change the status: the answer is cut short (the connection closes) and logged.
constexpr size_t kWholeUpTo = 1000, kPiece = 256;

struct TaskStream {
  std::vector<Id> ids;
  size_t next = 0;  // ids[next..] are still to read
  bool wrote_task = false;
};

void ReplyTasks(const Engine* e, const Request& req, httplib::Response& res,
                Result<std::vector<Id>> ids) {
  if (!ids.ok()) return ReplyFailure(req, res, ids.status());
  if (ids->size() <= kWholeUpTo) {
    auto tasks = e->ReadTasks(*ids);
    if (!tasks.ok()) return ReplyFailure(req, res, tasks.status());
    return ReplyJson(res, 200, ArrayJson(*tasks, TaskJson));
  }
  auto stream = std::make_shared<TaskStream>();
  stream->ids = std::move(ids).value();
  res.status = 200;
  res.set_chunked_content_provider(
      "application/json; charset=utf-8",
      [e, stream, method = req.method, path = req.path](size_t, httplib::DataSink& sink) {
        TaskStream& s = *stream;
        const size_t n = std::min(kPiece, s.ids.size() - s.next);
        auto tasks = e->ReadTasks(std::span<const Id>(s.ids).subspan(s.next, n));
        if (!tasks.ok()) {
          LogServerError(method, path,
                         "a streamed task list cut short: " + tasks.status().ToString());
          return false;
        }
        std::string out = s.next == 0 ? "[" : "";
        for (const auto& t : *tasks) {
          if (s.wrote_task) out.push_back(',');
          out += TaskJson(t);
          s.wrote_task = true;
        }
        s.next += n;
        const bool last = s.next == s.ids.size();
        if (last) out.push_back(']');
        if (!sink.write(out.data(), out.size())) return false;
        if (last) sink.done();
        return true;
      });
}

void GroupRoutes(Router& s, Engine* e) {
  s.Post("/api/v1/task_group/([^/]+)/tasks", Json([e](const Request& req) -> Result<std::string> {
           ASSIGN_OR_RETURN(Id id, PathId(req));
           bool is_array = false;
           ASSIGN_OR_RETURN(auto bodies, ParseNewTasks(req.body, &is_array));
           ASSIGN_OR_RETURN(auto tasks, e->CreateTasks(id, bodies));
           return is_array ? ArrayJson(tasks, TaskJson) : TaskJson(tasks.at(0));
         }),
         Router::Always, Router::Body::kRead);
  s.Get("/api/v1/task_groups", Json([e](const Request& req) -> Result<std::string> {
          ASSIGN_OR_RETURN(int64_t limit, QueryInt(req, "limit", 50, 0));
          ASSIGN_OR_RETURN(int64_t skip, QueryInt(req, "skip", 0, 0));
          ASSIGN_OR_RETURN(bool stats, QueryBool(req, "stats"));
          ASSIGN_OR_RETURN(auto groups, e->ListGroups(limit, skip));
          return ArrayJson(groups, stats ? GroupWithStatsJson : GroupJson);
        }));
  s.Get("/api/v1/task_groups/count",
        Json([e](const Request&) -> Result<std::string> { return Counted(e->CountGroups()); }));
  s.Post("/api/v1/task_groups", Json([e](const Request& req) -> Result<std::string> {
           ASSIGN_OR_RETURN(auto ng, ParseNewGroup(req.body));
           ASSIGN_OR_RETURN(auto g, e->CreateGroup(ng));
           return GroupJson(g);
         }),
         Router::Always, Router::Body::kRead);
  s.Get("/api/v1/task_group/([^/]+)", Json([e](const Request& req) -> Result<std::string> {
          ASSIGN_OR_RETURN(Id id, PathId(req));
          ASSIGN_OR_RETURN(auto g, e->GetGroup(id));
          return GroupJson(g);
        }));
  s.Get("/api/v1/task_group/([^/]+)/stats", Json([e](const Request& req) -> Result<std::string> {
          ASSIGN_OR_RETURN(Id id, PathId(req));
          ASSIGN_OR_RETURN(auto g, e->GetGroup(id));
          return GroupStatsJson(g.stats);
        }));
  s.Put("/api/v1/task_group/([^/]+)", Json([e](const Request& req) -> Result<std::string> {
          ASSIGN_OR_RETURN(Id id, PathId(req));
          ASSIGN_OR_RETURN(auto name, ParseGroupUpdate(req.body));
          ASSIGN_OR_RETURN(auto g, e->RenameGroup(id, name));
          return GroupJson(g);
        }),
        nullptr, Router::Body::kRead);
  s.Delete("/api/v1/task_group/([^/]+)", Json([e](const Request& req) -> Result<std::string> {
             ASSIGN_OR_RETURN(Id id, PathId(req));
             RETURN_IF_ERROR(e->DeleteGroup(id));
             return Deleted();
           }));
  s.Post("/api/v1/task_group/([^/]+)/reset", Json([e](const Request& req) -> Result<std::string> {
           ASSIGN_OR_RETURN(Id id, PathId(req));
           ASSIGN_OR_RETURN(int64_t attempts, ParseAttempts(req.body, 5));  // D10
           ASSIGN_OR_RETURN(auto g, e->ResetGroup(id, attempts));
           return GroupJson(g);
         }),
         nullptr, Router::Body::kRead);
  s.Post("/api/v1/task_group/([^/]+)/retry", Json([e](const Request& req) -> Result<std::string> {
           ASSIGN_OR_RETURN(Id id, PathId(req));
           ASSIGN_OR_RETURN(int64_t attempts, ParseAttempts(req.body, 2));
           ASSIGN_OR_RETURN(auto g, e->RetryGroup(id, attempts));
           return GroupJson(g);
         }),
         nullptr, Router::Body::kRead);
  for (const char* action : {"pause", "resume"}) {
    bool paused = std::string(action) == "pause";
    s.Post(std::string("/api/v1/task_group/([^/]+)/") + action,
           Json([e, paused](const Request& req) -> Result<std::string> {
             ASSIGN_OR_RETURN(Id id, PathId(req));
             ASSIGN_OR_RETURN(auto g, e->SetGroupPaused(id, paused));
             return GroupJson(g);
           }));
  }
  s.Get("/api/v1/task_group/([^/]+)/tasks", [e](const Request& req, httplib::Response& res) {
    auto ids = [&]() -> Result<std::vector<Id>> {
      ASSIGN_OR_RETURN(Id id, PathId(req));
      ASSIGN_OR_RETURN(int64_t limit, QueryInt(req, "limit", -1, INT64_MIN));
      ASSIGN_OR_RETURN(int64_t skip, QueryInt(req, "skip", 0, 0));
      return e->ListGroupTaskIds(id, limit, skip);
    }();
    ReplyTasks(e, req, res, std::move(ids));
  });
}

void TaskRoutes(Router& s, Engine* e) {
  s.Get("/api/v1/task/([^/]+)", Json([e](const Request& req) -> Result<std::string> {
          ASSIGN_OR_RETURN(Id id, PathId(req));
          ASSIGN_OR_RETURN(auto t, e->GetTask(id));
          return TaskJson(t);
        }),
        Router::Always);
  s.Get("/api/v1/task/([^/]+)/lease", Json([e](const Request& req) -> Result<std::string> {
          ASSIGN_OR_RETURN(Id id, PathId(req));
          ASSIGN_OR_RETURN(auto t, e->GetTask(id));
          return LeaseJson(t);
        }));
  s.Put("/api/v1/task/([^/]+)", Json([e](const Request& req) -> Result<std::string> {
          ASSIGN_OR_RETURN(Id id, PathId(req));
          ASSIGN_OR_RETURN(auto patch, ParseTaskPatch(req.body));
          ASSIGN_OR_RETURN(auto t, e->UpdateTask(id, patch));
          return TaskJson(t);
        }),
        nullptr, Router::Body::kRead);
  s.Delete("/api/v1/task/([^/]+)", Json([e](const Request& req) -> Result<std::string> {
             ASSIGN_OR_RETURN(Id id, PathId(req));
             RETURN_IF_ERROR(e->DeleteTask(id));
             return Deleted();
           }));
  s.Post("/api/v1/task/([^/]+)/reset", Json([e](const Request& req) -> Result<std::string> {
           ASSIGN_OR_RETURN(Id id, PathId(req));
           ASSIGN_OR_RETURN(int64_t attempts, ParseAttempts(req.body, 2));
           ASSIGN_OR_RETURN(auto t, e->ResetTask(id, attempts));
           return TaskJson(t);
         }),
         nullptr, Router::Body::kRead);
  s.Post("/api/v1/task/([^/]+)/retry", Json([e](const Request& req) -> Result<std::string> {
           ASSIGN_OR_RETURN(Id id, PathId(req));
           ASSIGN_OR_RETURN(int64_t attempts, ParseAttempts(req.body, 2));
           ASSIGN_OR_RETURN(auto t, e->RetryTask(id, attempts));
           return TaskJson(t);
         }),
         nullptr, Router::Body::kRead);
  s.Post("/api/v1/task/([^/]+)/pluck", Json([e](const Request& req) -> Result<std::string> {
           ASSIGN_OR_RETURN(Id id, PathId(req));
           ASSIGN_OR_RETURN(auto t, e->PluckTask(id));
           return TaskJson(t);
         }));
  s.Get("/api/v1/channel/(.+)/tasks", [e](const Request& req, httplib::Response& res) {
    auto ids = [&]() -> Result<std::vector<Id>> {
      ASSIGN_OR_RETURN(int64_t limit, QueryInt(req, "limit", 50, 0));
      ASSIGN_OR_RETURN(int64_t skip, QueryInt(req, "skip", 0, 0));
      return e->ListChannelTaskIds(req.matches[1].str(), limit, skip);
    }();
    ReplyTasks(e, req, res, std::move(ids));
  });
  s.Get("/api/v1/channels", Json([e](const Request&) -> Result<std::string> {
          return ChannelsJson(e->ListChannels());
        }));
}

void OperatorRoutes(Router& s, Engine* e) {
  s.Get("/api/v1/operators", Json([e](const Request& req) -> Result<std::string> {
          ASSIGN_OR_RETURN(int64_t limit, QueryInt(req, "limit", 50, 0));
          ASSIGN_OR_RETURN(int64_t skip, QueryInt(req, "skip", 0, 0));
          ASSIGN_OR_RETURN(auto ops, e->ListOperators(limit, skip));
          return ArrayJson(ops, OperatorJson);
        }));
  s.Get("/api/v1/operators/count",
        Json([e](const Request&) -> Result<std::string> { return Counted(e->CountOperators()); }));
  s.Post("/api/v1/operators", Json([e](const Request& req) -> Result<std::string> {
           ASSIGN_OR_RETURN(auto fields, ParseOperator(req.body, true));
           ASSIGN_OR_RETURN(auto o, e->CreateOperator(fields));
           return OperatorJson(o);
         }),
         nullptr, Router::Body::kRead);
  s.Get("/api/v1/operator/([^/]+)", Json([e](const Request& req) -> Result<std::string> {
          ASSIGN_OR_RETURN(Id id, PathId(req));
          ASSIGN_OR_RETURN(auto o, e->GetOperator(id));
          return OperatorJson(o);
        }));
  s.Put("/api/v1/operator/([^/]+)", Json([e](const Request& req) -> Result<std::string> {
          ASSIGN_OR_RETURN(Id id, PathId(req));
          ASSIGN_OR_RETURN(auto fields, ParseOperator(req.body, false));
          ASSIGN_OR_RETURN(auto o, e->UpdateOperator(id, fields));
          return OperatorJson(o);
        }),
        nullptr, Router::Body::kRead);
  s.Delete("/api/v1/operator/([^/]+)", Json([e](const Request& req) -> Result<std::string> {
             ASSIGN_OR_RETURN(Id id, PathId(req));
             RETURN_IF_ERROR(e->DeleteOperator(id));
             return Deleted();
           }));
}

// D13: the work of the original's cron jobs runs inside the server; these routes run one batch
// of it now and answer how many tasks or groups it changed.
void AdminRoutes(Router& s, Engine* e, std::function<void()> on_examine) {
  auto answer = [](int64_t n) { return "{\"success\":true,\"count\":" + std::to_string(n) + "}"; };
  JsonHandler clean = [e, answer](const Request& req) -> Result<std::string> {
    ASSIGN_OR_RETURN(int64_t batch, QueryInt(req, "batch", e->options().http_clean_batch, 1));
    if (!e->options().clean_expired_groups) return answer(0);
    ASSIGN_OR_RETURN(int64_t n, e->CleanExpiredGroups(static_cast<int>(batch)));
    return answer(n);
  };
  JsonHandler bootstrap = [e, answer, on_examine](const Request& req) -> Result<std::string> {
    ASSIGN_OR_RETURN(int64_t batch, QueryInt(req, "batch", e->options().bootstrap_batch, 1));
    ASSIGN_OR_RETURN(int64_t promoted, e->PromoteDue(static_cast<int>(batch)));
    ASSIGN_OR_RETURN(int64_t expired, e->ExpireLeases(static_cast<int>(batch)));
    if (on_examine) on_examine();  // and push what is ready to the operators
    return answer(promoted + expired);
  };
  // parentsComplete is kept exact on every write (engine/txn.h), so nothing is out of sync.
  JsonHandler sync = [answer](const Request&) -> Result<std::string> { return answer(0); };
  for (auto& [path, handler] :
       {std::pair{"/api/v1/clean", clean}, std::pair{"/api/v1/bootstrap", bootstrap},
        std::pair{"/api/v1/sync", sync}}) {
    s.Get(path, Json(handler));
    s.Post(path, Json(handler));
    s.Put(path, Json(handler));
    s.Patch(path, Json(handler));  // (any method: reference §3)
    s.Delete(path, Json(handler));
  }
}

}  // namespace

int HttpStatus(Code code) {
  switch (code) {
    case Code::kOk:
      return 200;
    case Code::kInvalidArgument:
      return 400;
    case Code::kNotFound:
      return 404;
    case Code::kConflict:
      return 409;
    case Code::kTooLarge:
      return 413;
    case Code::kUnavailable:
      return 503;
    case Code::kIoError:
      return 503;
    case Code::kUnauthorized:
      return 401;
    case Code::kCorruption:
      return 500;
  }
  return 500;
}

void LogServerError(const std::string& method, const std::string& path, const std::string& what) {
  static std::mutex mu;
  static std::chrono::steady_clock::time_point next;  // GUARDED_BY(mu)
  static uint64_t left_out = 0;                       // GUARDED_BY(mu)
  std::lock_guard<std::mutex> lock(mu);
  const auto now = std::chrono::steady_clock::now();
  if (now < next) {
    ++left_out;
    return;
  }
  next = now + std::chrono::seconds(1);
  if (left_out == 0) {
    spdlog::error("{} {}: {}", method, path, what);
  } else {
    spdlog::error("{} {}: {} ({} more server errors since the last line, not logged)", method, path,
                  what, left_out);
    left_out = 0;
  }
}

httplib::Server::Handler Json(JsonHandler h) {
  return [h = std::move(h)](const httplib::Request& req, httplib::Response& res) {
    try {
      Result<std::string> r = h(req);
      if (r.ok()) {
        ReplyJson(res, 200, std::move(r).value());
      } else {
        ReplyFailure(req, res, r.status());
      }
    } catch (const std::exception& ex) {
      LogServerError(req.method, req.path, std::string("unexpected exception: ") + ex.what());
      ReplyJson(res, 500, MessageJson(std::string("internal error: ") + ex.what()));
    }
  };
}

void RegisterWorkerRoutes(Router& s, RouteContext ctx);  // worker_routes.cc

void RegisterRoutes(Router& server, RouteContext ctx) {
  // Unhealthy (500, as the original when its database is gone) once the store refuses writes.
  server.Get(
      "/healthz",
      [store = ctx.store](const Request&, httplib::Response& res) {
        const Status refused = store->WriteError();
        if (refused.ok()) return ReplyJson(res, 200, "{\"healthy\":true}");
        ReplyJson(res, 500,
                  "{\"healthy\":false,\"message\":" + engine::JsonQuote(refused.message()) + "}");
      },
      Router::Always);
  // Routes are tried in the order they were added, one std::regex_match each (~1 us): the
  // worker routes and task creation, most of the traffic, come first.
  RegisterWorkerRoutes(server, ctx);
  GroupRoutes(server, ctx.engine);
  TaskRoutes(server, ctx.engine);
  OperatorRoutes(server, ctx.engine);
  AdminRoutes(server, ctx.engine, ctx.on_examine);
  RegisterBackup(server, ctx.store);
}

}  // namespace crew::api
