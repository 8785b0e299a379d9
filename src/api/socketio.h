// socket.io for crew-ui (SPEC N3, reference §8): Engine.IO v4 over HTTP long-polling, and
// socket.io v5 packets on the default namespace. Clients join a task group's room with
// `watchTaskGroup {taskGroupId}` and leave it with `unwatchTaskGroup`; every engine event of that
// room reaches them as `42["<event>", <payload>]`, published after it is durable (EventHub).
// The polling transport is the only one offered (no "upgrades"), which every socket.io client
// supports. With an auth token (N5) the CONNECT packet must carry {"token": "<token>"}.
// Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "api/event_hub.h"
#include "api/router.h"

namespace crew::api {

class SocketIo {
 public:
  SocketIo(EventHub* hub, std::string auth_token);
  void Register(Router& server);

 private:
  struct Session;
  std::shared_ptr<Session> Find(const std::string& sid);
  std::shared_ptr<Session> Open();
  void Close(const std::string& sid);
  bool ClosedLately(const std::string& sid);
  void Sweep();  // drops sessions that stopped polling (at most once a second)
  std::string HandlePackets(Session& s, const std::string& body);

  EventHub* hub_;
  std::string token_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Session>> sessions_;  // GUARDED_BY(mu_)
  // Sessions closed lately, and until when a poll of theirs is answered "close" rather than
  // refused: a client's poll may cross its own close on the wire.
  std::map<std::string, EventHub::Clock::time_point> closed_;  // GUARDED_BY(mu_)
  EventHub::Clock::time_point next_sweep_;                     // GUARDED_BY(mu_)
};

}  // namespace crew::api
