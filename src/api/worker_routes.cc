// Worker routes: acquire with long-poll and batches, release (single and batch), heartbeat
// (reference §4.2-4.3, SPEC D1, D2, N1, N8), and the Server-Sent Events stream (N3).
#include <chrono>

#include "api/client_socket.h"
#include "api/route_util.h"
#include "api/routes.h"

namespace crew::api {

namespace {

using httplib::Request;
using httplib::Response;

// An acquire's answer: its task (or null), or with `limit` the list of them (N8).
void ReplyAcquired(const Request& req, Response& res, bool listed,
                   const Result<std::vector<engine::Acquired>>& got) {
  if (!got.ok()) return ReplyFailure(req, res, got.status());
  if (listed) return ReplyJson(res, 200, AcquiredListJson(*got));
  ReplyJson(res, 200, AcquiredJson(got->empty() ? nullptr : &got->front()));
}

// N1: answers at once when a task is there; otherwise waits on the channel until a task
// becomes ready, the wait ends, or the client goes away (then it takes nothing).
void Acquire(RouteContext ctx, const Request& req, Response& res) {
  auto parsed = ParseAcquire(req.body);
  if (!parsed.ok()) return ReplyError(res, parsed.status());
  const AcquireRequest& a = *parsed;
  const std::string channel = req.matches[1].str();
  const int limit = a.limit.value_or(1);
  auto deadline = EventHub::Clock::now() +
                  std::chrono::milliseconds(static_cast<int64_t>(a.wait_seconds * 1000));
  const bool waits = a.wait_seconds > 0;
  if (waits && !MayWait()) {
    // On an event loop (as every acquire is first: under load a long poll finds a task at
    // once, and is answered without a pool thread's hand-off): a task there now is taken here,
    // else the request runs again on a pool thread, to wait.
    auto got = ctx.engine->Acquire(channel, a.worker_id, limit);
    if (got.ok() && got->empty()) {
      res.status = Router::kRunOnPool;
      return;
    }
    return ReplyAcquired(req, res, a.limit.has_value(), got);
  }
  if (waits) ctx.hub->BeginWait(channel);
  auto alive = [] { return !ClientGone(); };
  Result<std::vector<engine::Acquired>> got = std::vector<engine::Acquired>();
  bool woken_unused = false;  // woken for a task, and gone without trying for it
  while (true) {
    got = ctx.engine->Acquire(channel, a.worker_id, limit);
    if (!got.ok() || !got->empty() || !waits) break;
    if (!ctx.hub->Wait(channel, deadline, ClientFd(), alive)) break;
    if (!alive()) {
      woken_unused = true;
      break;
    }
  }
  if (waits) ctx.hub->EndWait(channel, woken_unused || (got.ok() && !got->empty()));
  ReplyAcquired(req, res, a.limit.has_value(), got);
}

Result<std::string> ReleaseOne(RouteContext ctx, const Request& req) {
  ASSIGN_OR_RETURN(Id id, PathId(req));
  ASSIGN_OR_RETURN(auto cmd, ParseRelease(req.body));
  Result<engine::Task> released = ctx.engine->Release(id, cmd);  // (read in place: not moved)
  if (!released.ok()) return released.status();
  return TaskJson(*released);
}

// N8 / SPEC §4: per-item answers {"taskId", "status", "message"?, "task"?} in request order.
Result<std::string> ReleaseMany(RouteContext ctx, const Request& req) {
  ASSIGN_OR_RETURN(auto items, ParseReleaseBatch(req.body));
  std::vector<std::optional<Status>> early(items.size());
  std::vector<std::pair<Id, engine::ReleaseCommand>> valid;
  std::vector<size_t> valid_index;
  for (size_t i = 0; i < items.size(); ++i) {
    auto id = ParseId(items[i].task_id.value_or(""));
    if (!items[i].command.ok()) {
      early[i] = items[i].command.status();
    } else if (!id.ok()) {
      early[i] = id.status();
    } else {
      valid.emplace_back(*id, std::move(items[i].command).value());
      valid_index.push_back(i);
    }
  }
  ASSIGN_OR_RETURN(auto results, ctx.engine->ReleaseBatch(valid));
  // (an item without a string taskId is answered with "taskId": null)
  auto task_id = [&](size_t i) {
    return items[i].task_id ? engine::JsonQuote(*items[i].task_id) : std::string("null");
  };
  std::vector<std::string> answers(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    if (early[i]) {
      answers[i] = "{\"taskId\":" + task_id(i) +
                   ",\"status\":" + std::to_string(HttpStatus(early[i]->code())) +
                   ",\"message\":" + engine::JsonQuote(early[i]->message()) + "}";
    }
  }
  for (size_t k = 0; k < valid.size(); ++k) {
    size_t i = valid_index[k];
    const auto& r = results[k];
    std::string head = "{\"taskId\":" + task_id(i) + ",\"status\":";
    answers[i] = r.ok() ? head + "200,\"task\":" + TaskJson(*r) + "}"
                        : head + std::to_string(HttpStatus(r.status().code())) +
                              ",\"message\":" + engine::JsonQuote(r.status().message()) + "}";
  }
  return ArrayJson(answers, [](const std::string& s) { return s; });
}

Result<std::string> HeartbeatOne(RouteContext ctx, const Request& req) {
  ASSIGN_OR_RETURN(Id id, PathId(req));
  ASSIGN_OR_RETURN(auto worker, ParseWorkerOnly(req.body));
  ASSIGN_OR_RETURN(auto t, ctx.engine->Heartbeat(id, worker));
  return TaskJson(t);
}

// N3: `event: <name>` / `data: <json>` frames, a comment at least every 15 s. The frames queued
// go out together (EventHub::kLinger), in writes of at most these.
constexpr size_t kMaxFramesPerWrite = 1000;
constexpr size_t kMaxBytesPerWrite = size_t{4} << 20;

void Events(RouteContext ctx, const Request& req, Response& res) {
  std::string room;
  if (req.has_param("taskGroupId")) {
    auto id = ParseId(req.get_param_value("taskGroupId"));
    if (!id.ok()) return ReplyError(res, id.status());
    auto g = ctx.engine->GetGroup(*id);
    if (!g.ok()) return ReplyFailure(req, res, g.status());
    room = id->Hex();
  }
  auto sub = ctx.hub->Subscribe(room);
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  auto started = std::make_shared<bool>(false);
  res.set_chunked_content_provider(
      "text/event-stream",
      [sub, started](size_t, httplib::DataSink& sink) {
        if (!*started) {
          *started = true;
          static const std::string kHello = ": connected\n\n";
          return sink.write(kHello.data(), kHello.size());
        }
        auto batch = sub->NextBatch(EventHub::Clock::now() + std::chrono::seconds(15),
                                    EventHub::kLinger, kMaxFramesPerWrite, kMaxBytesPerWrite);
        if (batch.empty()) {
          // One that fell too far behind is cut without the stream's end, so that its client
          // sees an error (and reloads) rather than an ended stream.
          if (sub->overflowed()) return false;
          if (sub->closed()) {
            sink.done();
            return true;
          }
          static const std::string kPing = ": ping\n\n";
          return sink.write(kPing.data(), kPing.size());
        }
        std::string frames;
        for (const auto& m : batch) {
          frames.append("event: ").append(m->name).append("\ndata: ").append(m->data);
          frames.append("\n\n");
        }
        return sink.write(frames.data(), frames.size());
      },
      [hub = ctx.hub, sub](bool) { hub->Unsubscribe(sub); });
}

// Reference §5.8 with D16: the orchestration hooks compare ?accessToken= with
// CREW_CLOUD_TASK_ACCESS_TOKEN (unset: every call is refused) and ask for a dispatch pass.
Result<std::string> Examine(RouteContext ctx, const Request& req) {
  if (ctx.examine_token.empty() ||
      !SecretEquals(req.get_param_value("accessToken"), ctx.examine_token)) {
    return Status::Unauthorized("Access token is invalid!");
  }
  ASSIGN_OR_RETURN(Id id, PathId(req));
  RETURN_IF_ERROR(ctx.engine->GetTask(id).status());
  if (ctx.on_examine) ctx.on_examine();
  return std::string("{\"success\":true}");
}

}  // namespace

void RegisterWorkerRoutes(Router& s, RouteContext ctx) {
  // Acquire, release and heartbeat never wait: they run on the event loop, which holds their
  // answers until the WAL sync that covers them. A long poll with no task there yet moves on to a
  // pool thread (Router::kRunOnPool).
  s.Post(
      "/api/v1/channel/(.+)/acquire",
      [ctx](const Request& req, Response& res) { Acquire(ctx, req, res); }, Router::Always,
      Router::Body::kRead);
  s.Post("/api/v1/task/([^/]+)/release",
         Json([ctx](const Request& req) { return ReleaseOne(ctx, req); }), Router::Always,
         Router::Body::kRead);
  s.Post("/api/v1/tasks/release", Json([ctx](const Request& req) { return ReleaseMany(ctx, req); }),
         Router::Always, Router::Body::kRead);
  s.Post("/api/v1/task/([^/]+)/heartbeat",
         Json([ctx](const Request& req) { return HeartbeatOne(ctx, req); }), Router::Always,
         Router::Body::kRead);
  // (two routes of one shape, not one regex: each is labelled in /metrics, Router::Label)
  const auto examine = Json([ctx](const Request& req) { return Examine(ctx, req); });
  s.Post("/api/v1/task/([^/]+)/examine", examine);
  s.Post("/api/v1/task/([^/]+)/execute", examine);
  s.Get("/api/v1/events", [ctx](const Request& req, Response& res) { Events(ctx, req, res); });
}

}  // namespace crew::api
