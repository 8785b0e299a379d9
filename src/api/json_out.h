// Response documents (reference §2): engine values -> JSON text, built with nlohmann/json.
// Field order is the reference's. Thread-safe.
#pragma once

#include <string>
#include <vector>

#include "engine/model.h"

namespace crew::api {

std::string TaskJson(const engine::Task& t);
std::string GroupJson(const engine::Group& g);
// The group with "stats": {total, complete, running, failed, waiting} (for the dashboard).
std::string GroupWithStatsJson(const engine::Group& g);
std::string GroupStatsJson(const engine::GroupStats& s);
// {"assignedTo", "assignedAt", "leaseExpiresAt"} of a task (D2), nulls when it is not held.
std::string LeaseJson(const engine::Task& t);
std::string OperatorJson(const engine::Operator& o);
std::string ChannelsJson(const std::vector<engine::ChannelStats>& channels);
// {"task": ..., "parents": [...]} (reference §4.2), or {"task": null}.
std::string AcquiredJson(const engine::Acquired* a);
// N8: {"tasks": [{"task", "parents"}, ...]}
std::string AcquiredListJson(const std::vector<engine::Acquired>& list);
std::string EventPayloadJson(const engine::Event& e);
std::string MessageJson(const std::string& message);

// The room TaskJson and AcquiredJson make before they write (an upper bound of their length).
size_t TaskJsonRoom(const engine::Task& t);
size_t AcquiredJsonRoom(const engine::Acquired& a);

template <typename T, typename F>
std::string ArrayJson(const std::vector<T>& items, F&& one) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out.push_back(',');
    out += one(items[i]);
  }
  out.push_back(']');
  return out;
}

}  // namespace crew::api
