#include "api/json_out.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <string_view>

#include <nlohmann/json.hpp>

#include "util/coding.h"
#include "util/iso_time.h"
#include "util/json_text.h"

namespace crew::api {

namespace {

using Json = nlohmann::ordered_json;

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

// Stored JSON text (validated on the way in) -> a value.
Json Raw(const std::string& text) { return Json::parse(text, nullptr, false); }

Json GroupValue(const engine::Group& g) {
  Json j;
  j["_id"] = g.id.Hex();
  j["name"] = g.name;
  j["isPaused"] = g.is_paused;
  j["createdAt"] = FormatIso(g.created_at);
  return j;
}

Json OperatorValue(const engine::Operator& o) {
  Json j;
  j["_id"] = o.id.Hex();
  j["channel"] = o.channel;
  j["url"] = o.url;
  j["requestConfig"] = Raw(o.request_config);
  j["isPaused"] = o.is_paused ? Json(*o.is_paused) : Json(nullptr);
  j["createdAt"] = FormatIso(o.created_at);
  return j;
}

// Tasks are the hot document (every acquire, release and event): written directly, splicing the
// stored JSON texts of input, output and errors instead of parsing them back into values.
// Profiling the W1 drain showed nlohmann's parse-and-dump of these at ~15% of server CPU.
//
// The writer writes through a pointer into room made for the longest text the document can be
// (TaskJsonRoom; AppendWritten): a task has ~36 pieces.
constexpr size_t kTaskLiterals = 384;  // (350: keys, brackets and four "false")
constexpr size_t kIdRoom = 26;         // "<24 hex digits>"
constexpr size_t kDateRoom = kMaxIsoSize + 2;
constexpr size_t kMaxNumber = 32;  // an int64 or a double's shortest round trip

class TaskWriter {
 public:
  explicit TaskWriter(char* to) : p_(to) {}
  char* end() const { return p_; }

  void Task(const engine::Task& t) {
    Lit("{\"_id\":");
    Hex(t.id);
    Lit(",\"taskGroupId\":");
    Hex(t.group_id);
    Lit(",\"name\":");
    Quoted(t.name);
    Lit(",\"channel\":");
    Quoted(t.channel);
    Lit(",\"workgroup\":");
    OptString(t.workgroup);
    Lit(",\"key\":");
    OptString(t.key);
    Lit(",\"remainingAttempts\":");
    Integer(t.remaining_attempts);
    Lit(",\"isPaused\":");
    Bool(t.is_paused);
    Lit(",\"parentsComplete\":");
    Bool(t.parents_complete);
    Lit(",\"isComplete\":");
    Bool(t.is_complete);
    Lit(",\"priority\":");
    Integer(t.priority);
    Lit(",\"runAfter\":");
    OptDate(t.shown_run_after);
    Lit(",\"progressWeight\":");
    Number(t.progress_weight);
    Lit(",\"isSeed\":");
    Bool(t.is_seed);
    Lit(",\"errorDelayInSeconds\":");
    Number(t.error_delay_s);
    Lit(",\"input\":");
    Lit(t.input);
    Lit(",\"errors\":[");
    for (size_t i = 0; i < t.errors.size(); ++i) {
      if (i) *p_++ = ',';
      Lit(t.errors[i]);
    }
    Lit("],\"output\":");
    Lit(t.output);
    Lit(",\"createdAt\":");
    Date(t.created_at);
    Lit(",\"parentIds\":[");
    for (size_t i = 0; i < t.parent_ids.size(); ++i) {
      if (i) *p_++ = ',';
      Hex(t.parent_ids[i]);
    }
    Lit("],\"assignedTo\":");
    OptString(t.assigned_to);
    Lit(",\"assignedAt\":");
    OptDate(t.assigned_at);
    Lit(",\"executeMessageId\":");
    OptString(t.execute_message_id);
    Lit(",\"examineMessageId\":");
    OptString(t.examine_message_id);
    *p_++ = '}';
  }
  void Parent(const engine::ParentData& p) {
    Lit("{\"_id\":");
    Hex(p.id);
    Lit(",\"channel\":");
    Quoted(p.channel);
    Lit(",\"input\":");
    Lit(p.input);
    Lit(",\"output\":");
    Lit(p.output);
    *p_++ = '}';
  }
  void Acquired(const engine::Acquired& a) {
    Lit("{\"task\":");
    Task(a.task);
    Lit(",\"parents\":[");
    for (size_t i = 0; i < a.parents.size(); ++i) {
      if (i) *p_++ = ',';
      Parent(a.parents[i]);
    }
    Lit("]}");
  }

 private:
  // Keys are written as literals with their comma and colon: one copy each, of a length known
  // where it is written.
  void Lit(std::string_view s) {
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void Quoted(std::string_view s) { p_ = engine::WriteJsonQuoted(s, p_); }
  void Hex(const Id& id) {
    *p_++ = '"';
    p_ = id.WriteHex(p_);
    *p_++ = '"';
  }
  void Bool(bool b) { Lit(b ? std::string_view("true") : std::string_view("false")); }
  void Integer(int64_t v) { p_ = std::to_chars(p_, p_ + kMaxNumber, v).ptr; }
  void OptString(const std::optional<std::string>& s) {
    if (s) {
      Quoted(*s);
    } else {
      Lit("null");
    }
  }
  void Date(int64_t ms) {
    *p_++ = '"';
    p_ = WriteIso(ms, p_);
    *p_++ = '"';
  }
  void OptDate(const std::optional<int64_t>& ms) {
    if (ms) {
      Date(*ms);
    } else {
      Lit("null");
    }
  }
  // "number" fields print as JavaScript prints them (1, not 1.0; 0.0001, not 1e-04).
  void Number(double v) {
    if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9007199254740992.0) {
      Integer(static_cast<int64_t>(v));
    } else if (std::isfinite(v)) {
      p_ = ToJsNumber(v, p_);
    } else {
      Lit("null");
    }
  }

  char* p_;
};

void AppendTask(std::string* out, const engine::Task& t) {
  AppendWritten(out, TaskJsonRoom(t), [&t](char* to) {
    TaskWriter w(to);
    w.Task(t);
    return w.end();
  });
}

void AppendAcquired(std::string* out, const engine::Acquired& a) {
  AppendWritten(out, AcquiredJsonRoom(a), [&a](char* to) {
    TaskWriter w(to);
    w.Acquired(a);
    return w.end();
  });
}

size_t QuotedRoom(const std::string& s) { return engine::MaxJsonQuotedSize(s); }
size_t QuotedRoom(const std::optional<std::string>& s) { return s ? QuotedRoom(*s) : 4; }

}  // namespace

// The room TaskWriter needs for a task: its literals and fixed-size values, and its texts at their
// longest (a quoted string escapes each character in at most 6).
size_t TaskJsonRoom(const engine::Task& t) {
  size_t n = kTaskLiterals + 2 * kIdRoom + 3 * kDateRoom + 4 * kMaxNumber + QuotedRoom(t.name) +
             QuotedRoom(t.channel) + QuotedRoom(t.workgroup) + QuotedRoom(t.key) +
             QuotedRoom(t.assigned_to) + QuotedRoom(t.execute_message_id) +
             QuotedRoom(t.examine_message_id) + t.input.size() + t.output.size() +
             (kIdRoom + 1) * t.parent_ids.size();
  for (const std::string& e : t.errors) n += e.size() + 1;
  return n;
}

size_t AcquiredJsonRoom(const engine::Acquired& a) {
  size_t n = 32 + TaskJsonRoom(a.task);
  for (const engine::ParentData& p : a.parents) {
    n += 48 + kIdRoom + QuotedRoom(p.channel) + p.input.size() + p.output.size();
  }
  return n;
}

std::string TaskJson(const engine::Task& t) {
  std::string out;
  AppendTask(&out, t);
  return out;
}
std::string GroupJson(const engine::Group& g) { return Dump(GroupValue(g)); }

Json StatsValue(const engine::GroupStats& s) {
  Json j;
  j["total"] = s.total;
  j["complete"] = s.complete;
  j["running"] = s.assigned;
  j["failed"] = s.failed;
  j["waiting"] = std::max<int64_t>(0, s.total - s.complete - s.assigned - s.failed);
  return j;
}

std::string GroupStatsJson(const engine::GroupStats& s) { return Dump(StatsValue(s)); }

std::string GroupWithStatsJson(const engine::Group& g) {
  Json j = GroupValue(g);
  j["stats"] = StatsValue(g.stats);
  return Dump(j);
}

std::string LeaseJson(const engine::Task& t) {
  Json j = {{"assignedTo", nullptr}, {"assignedAt", nullptr}, {"leaseExpiresAt", nullptr}};
  if (t.assigned_to) j["assignedTo"] = *t.assigned_to;
  if (t.assigned_at) j["assignedAt"] = FormatIso(*t.assigned_at);
  if (t.assigned()) j["leaseExpiresAt"] = FormatIso(t.lease_expires_at);
  return Dump(j);
}
std::string OperatorJson(const engine::Operator& o) { return Dump(OperatorValue(o)); }

std::string ChannelsJson(const std::vector<engine::ChannelStats>& channels) {
  Json arr = Json::array();
  for (const auto& c : channels) {
    Json j;
    j["name"] = c.name;
    j["totalCount"] = c.total;
    j["completedCount"] = c.complete;
    j["assignedCount"] = c.assigned;
    arr.push_back(std::move(j));
  }
  return Dump(arr);
}

std::string AcquiredJson(const engine::Acquired* a) {
  if (!a) return "{\"task\":null}";
  std::string out;
  AppendAcquired(&out, *a);
  return out;
}

std::string AcquiredListJson(const std::vector<engine::Acquired>& list) {
  std::string out = "{\"tasks\":[";  // (each AppendAcquired makes its own room)
  for (size_t i = 0; i < list.size(); ++i) {
    if (i) out.push_back(',');
    AppendAcquired(&out, list[i]);
  }
  out += "]}";
  return out;
}

std::string EventPayloadJson(const engine::Event& e) {
  struct Visitor {
    std::string operator()(const std::monostate&) const { return "null"; }
    std::string operator()(const engine::Task& t) const { return TaskJson(t); }
    std::string operator()(const engine::Group& g) const { return GroupJson(g); }
    std::string operator()(const engine::Operator& o) const { return OperatorJson(o); }
    std::string operator()(const std::string& raw) const { return raw; }
  };
  return std::visit(Visitor{}, e.payload);
}

std::string MessageJson(const std::string& message) {
  Json j;
  j["message"] = message;
  return Dump(j);
}

}  // namespace crew::api
