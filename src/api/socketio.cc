#include "api/socketio.h"

#include <random>

#include <httplib.h>
#include <openssl/rand.h>
#include <nlohmann/json.hpp>

#include "api/json_out.h"
#include "api/route_util.h"

namespace crew::api {

namespace {

using NJson = nlohmann::json;
using Clock = EventHub::Clock;

constexpr int kPingIntervalMs = 25000;
constexpr int kPingTimeoutMs = 20000;
constexpr char kSeparator = '\x1e';  // between packets of one polling payload
// A poll's answer: the packets queued (EventHub::kLinger), at most these many, and no more once
// they hold kMaxPollBytes (at least one).
constexpr size_t kMaxPacketsPerPoll = 500;
constexpr size_t kMaxPollBytes = size_t{4} << 20;
// The largest POST body (maxPayload in the handshake); a larger one is refused with 413 and its
// session closed, as engine.io does: each packet may queue a reply, and a client that posts
// without polling would have them all queued.
constexpr size_t kMaxPayload = 1000000;
// Abandoned sessions are looked for at most this often, at any socket.io request.
constexpr auto kSweepEvery = std::chrono::seconds(1);

std::string RandomId() {
  unsigned char bytes[15];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    std::random_device rd;
    for (auto& b : bytes) b = static_cast<unsigned char>(rd());
  }
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string id;
  for (unsigned char b : bytes) id.push_back(kAlphabet[b % 64]);
  return id;
}

void Text(httplib::Response& res, const std::string& body) {
  res.status = 200;
  res.set_content(body, "text/plain; charset=UTF-8");
}

// Engine.IO errors are JSON {code, message} with status 400.
void EngineError(httplib::Response& res, int code, const std::string& message) {
  res.status = 400;
  res.set_content(NJson{{"code", code}, {"message", message}}.dump(), "application/json");
}

}  // namespace

struct SocketIo::Session {
  std::string sid;
  std::shared_ptr<EventHub::Subscription> sub;
  std::mutex mu;
  Clock::time_point last_seen = Clock::now();  // GUARDED_BY(mu)
  bool connected = false;                      // GUARDED_BY(mu): socket.io CONNECT done
  // When the next ping is due: one every pingInterval, whatever else the polls carry (a client
  // waits pingInterval + pingTimeout for each, and drops the session when one is late).
  Clock::time_point next_ping = Clock::now() + std::chrono::milliseconds(kPingIntervalMs);
};

SocketIo::SocketIo(EventHub* hub, std::string auth_token)
    : hub_(hub), token_(std::move(auth_token)) {}

std::shared_ptr<SocketIo::Session> SocketIo::Open() {
  Sweep();
  auto s = std::make_shared<Session>();
  s->sid = RandomId();
  s->sub = hub_->Subscribe("__none__");  // rooms are joined by watchTaskGroup
  s->sub->Leave("__none__");
  // A client gone without a word: its events stop piling up once it missed a ping's deadline.
  s->sub->CloseWhenUnread(std::chrono::milliseconds(kPingIntervalMs + kPingTimeoutMs));
  std::lock_guard<std::mutex> lock(mu_);
  sessions_[s->sid] = s;
  return s;
}

std::shared_ptr<SocketIo::Session> SocketIo::Find(const std::string& sid) {
  Sweep();  // (not only at a handshake: sessions abandoned hold their subscriptions till then)
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(sid);
  if (it == sessions_.end()) return nullptr;
  std::lock_guard<std::mutex> session_lock(it->second->mu);
  it->second->last_seen = Clock::now();
  return it->second;
}

void SocketIo::Close(const std::string& sid) {
  std::shared_ptr<Session> s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sessions_.find(sid);
    if (it == sessions_.end()) return;
    s = it->second;
    sessions_.erase(it);
    closed_[sid] = Clock::now() + std::chrono::milliseconds(kPingIntervalMs + kPingTimeoutMs);
  }
  hub_->Unsubscribe(s->sub);
  s->sub->Push({"", "1"});  // a waiting poll answers "close"
}

bool SocketIo::ClosedLately(const std::string& sid) {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_.count(sid) > 0;
}

void SocketIo::Sweep() {
  std::vector<std::string> stale;
  const auto now = Clock::now();
  const auto limit = now - std::chrono::milliseconds(kPingIntervalMs + kPingTimeoutMs);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (now < next_sweep_) return;
    next_sweep_ = now + kSweepEvery;
    for (auto& [sid, s] : sessions_) {
      std::lock_guard<std::mutex> session_lock(s->mu);
      if (s->last_seen < limit) stale.push_back(sid);
    }
    std::erase_if(closed_, [now](const auto& c) { return c.second < now; });
  }
  for (const auto& sid : stale) Close(sid);
}

// socket.io packets inside Engine.IO "message" packets: 40 connect, 41 disconnect, 42 event.
std::string SocketIo::HandlePackets(Session& s, const std::string& body) {
  size_t start = 0;
  while (start <= body.size()) {
    size_t end = body.find(kSeparator, start);
    if (end == std::string::npos) end = body.size();
    std::string packet = body.substr(start, end - start);
    start = end + 1;
    if (packet.empty()) continue;
    if (packet == "1") {
      Close(s.sid);
      return "ok";
    }
    if (packet[0] == '3' || packet[0] == '6') continue;  // pong, noop: last_seen is updated
    if (packet[0] != '4' || packet.size() < 2) continue;
    char type = packet[1];
    std::string rest = packet.substr(2);
    if (!rest.empty() && rest[0] == '/') {  // only the default namespace exists
      s.sub->Push(
          {"", "44" + rest.substr(0, rest.find(',')) + ",{\"message\":\"Invalid namespace\"}"});
      continue;
    }
    if (type == '0') {
      if (!token_.empty()) {
        NJson auth = NJson::parse(rest.empty() ? "{}" : rest, nullptr, false);
        std::string given =
            auth.is_object() && auth["token"].is_string() ? auth["token"].get<std::string>() : "";
        if (!SecretEquals(given, token_)) {
          s.sub->Push({"", "44{\"message\":\"Not authorized\"}"});
          continue;
        }
      }
      {
        std::lock_guard<std::mutex> lock(s.mu);
        s.connected = true;
      }
      s.sub->Push({"", "40" + NJson{{"sid", RandomId()}}.dump()});
    } else if (type == '1') {
      std::lock_guard<std::mutex> lock(s.mu);
      s.connected = false;
    } else if (type == '2') {
      size_t json_at = rest.find('[');
      if (json_at == std::string::npos) continue;
      std::string ack = rest.substr(0, json_at);
      NJson event = NJson::parse(rest.substr(json_at), nullptr, false);
      bool connected;
      {
        std::lock_guard<std::mutex> lock(s.mu);
        connected = s.connected;
      }
      if (!connected || !event.is_array() || event.empty() || !event[0].is_string()) continue;
      std::string name = event[0];
      NJson arg = event.size() > 1 ? event[1] : NJson();
      std::string room = arg.is_object() && arg["taskGroupId"].is_string()
                             ? arg["taskGroupId"].get<std::string>()
                             : "";
      if (name == "watchTaskGroup" && !room.empty()) s.sub->Join(room);
      if (name == "unwatchTaskGroup" && !room.empty()) s.sub->Leave(room);
      if (!ack.empty() && ack.find_first_not_of("0123456789") == std::string::npos) {
        s.sub->Push({"", "43" + ack + "[]"});
      }
    }
  }
  return "ok";
}

void SocketIo::Register(Router& server) {
  server.Get("/socket.io/?", [this](const httplib::Request& req, httplib::Response& res) {
    if (req.get_param_value("EIO") != "4")
      return EngineError(res, 5, "Unsupported protocol version");
    if (req.get_param_value("transport") != "polling")
      return EngineError(res, 0, "Transport unknown");
    if (!req.has_param("sid")) {
      auto s = Open();
      NJson open = {{"sid", s->sid},
                    {"upgrades", NJson::array()},
                    {"pingInterval", kPingIntervalMs},
                    {"pingTimeout", kPingTimeoutMs},
                    {"maxPayload", kMaxPayload}};
      return Text(res, "0" + open.dump());
    }
    auto s = Find(req.get_param_value("sid"));
    if (!s && ClosedLately(req.get_param_value("sid"))) return Text(res, "1");  // (as engine.io)
    if (!s) return EngineError(res, 1, "Session ID unknown");
    // Long poll: the messages queued, waiting for a first one until the next ping is due; the
    // ping leads the payload when it is.
    Clock::time_point ping_at;
    {
      std::lock_guard<std::mutex> lock(s->mu);
      ping_at = s->next_ping;
    }
    std::string payload;
    auto add = [&payload](const EventHub::Message& m) {
      if (!payload.empty()) payload.push_back(kSeparator);
      payload += m.name.empty() ? m.data : "42[" + NJson(m.name).dump() + "," + m.data + "]";
    };
    std::vector<EventHub::MessagePtr> batch =
        s->sub->NextBatch(ping_at, EventHub::kLinger, kMaxPacketsPerPoll, kMaxPollBytes);
    if (batch.empty() && s->sub->closed()) {
      Close(s->sid);
      return Text(res, "1");
    }
    if (const auto now = Clock::now(); now >= ping_at) {
      payload = "2";
      std::lock_guard<std::mutex> lock(s->mu);
      s->next_ping = now + std::chrono::milliseconds(kPingIntervalMs);
    }
    for (const auto& m : batch) add(*m);
    Text(res, payload);
  });
  server.Post(
      "/socket.io/?",
      [this](const httplib::Request& req, httplib::Response& res) {
        if (req.get_param_value("EIO") != "4")
          return EngineError(res, 5, "Unsupported protocol version");
        auto s = Find(req.get_param_value("sid"));
        if (!s) return EngineError(res, 1, "Session ID unknown");
        if (req.body.size() > kMaxPayload) {
          Close(s->sid);
          res.status = 413;
          return;
        }
        Text(res, HandlePackets(*s, req.body));
      },
      nullptr, Router::Body::kRead);  // (Engine.IO packets, text/plain)
}

}  // namespace crew::api
