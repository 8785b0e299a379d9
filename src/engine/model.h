// The documents Crew stores (reference §2) and their binary records.
//
// JSON values given by clients (input, output, errors, requestConfig) are kept as minified JSON
// text: the engine never interprets them, the api layer validated them. Times are epoch ms.
// Fields marked "derived" are not stored: the engine fills them on every read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "util/id.h"
#include "util/status.h"

namespace crew::engine {

// Where a task's index entry lives (DESIGN.md: only acquirable tasks sit in kReady).
enum class Placement : uint8_t {
  kNone = 0,     // complete, held, out of attempts or waiting for parents: in no queue
  kReady = 1,    // kReady
  kDelayed = 2,  // kDelayed at `due`
  kParked = 3,   // kParked: its group is paused
};

struct Task {
  Id id;
  Id group_id;
  std::string name;
  std::string channel;
  std::optional<std::string> workgroup;
  std::optional<std::string> key;
  int64_t remaining_attempts = 5;
  bool parents_complete = true;
  bool is_complete = false;
  int64_t priority = 0;
  std::optional<int64_t> run_after;
  double progress_weight = 1;
  bool is_seed = false;
  double error_delay_s = 30;  // NaN: null, as the body said (no delay, reference §2.2)
  std::string input = "null";
  std::vector<std::string> errors;
  std::string output = "null";
  int64_t created_at = 0;
  std::vector<Id> parent_ids;
  std::optional<std::string> assigned_to;
  std::optional<int64_t> assigned_at;
  std::optional<std::string> execute_message_id;
  std::optional<std::string> examine_message_id;

  // Bookkeeping, stored but never shown.
  uint32_t pending_parents = 0;  // parents not complete (drives parents_complete)
  int64_t lease_expires_at = 0;  // while assigned (D2)
  Placement placement = Placement::kNone;
  int64_t due = 0;  // when placement == kDelayed
  // Decoded from a version-1 record, which held parent_ids inline: the next commit of the task
  // rewrites it as version 2 and moves them to Cf::kParents.
  bool legacy_parents = false;

  // Derived on read.
  bool is_paused = false;                  // the group's flag (reference §4.6)
  std::optional<int64_t> shown_run_after;  // run_after, or a later workgroup delay

  bool assigned() const { return assigned_to.has_value(); }
  // Out of attempts and not held (a held one counts as running: each task in one of a group's
  // counts, as the dashboard counts them).
  bool failed() const { return !is_complete && remaining_attempts < 1 && !assigned(); }
  bool operator==(const Task&) const = default;
};

struct GroupStats {
  int64_t total = 0, complete = 0, assigned = 0, failed = 0;
};

struct Group {
  Id id;
  std::string name;
  bool is_paused = false;
  int64_t created_at = 0;
  // Maintained in memory on every task write; stored only at a clean shutdown, and recounted
  // from the tasks at start-up after any other (Engine::SaveCounters, Engine::Load).
  GroupStats stats;
};

// The group record's fields other than its counters are the same (its record need not be
// rewritten for a change of counters alone).
inline bool SameGroupFields(const Group& a, const Group& b) {
  return a.id == b.id && a.name == b.name && a.is_paused == b.is_paused &&
         a.created_at == b.created_at;
}

struct Operator {
  Id id;
  std::string channel;
  std::string url;
  std::string request_config = "null";  // JSON object or null
  std::optional<bool> is_paused;
  int64_t created_at = 0;
};

struct ChannelStats {
  std::string name;
  int64_t total = 0, complete = 0, assigned = 0;
};

// Counts task t into (sign +1) or out of (-1) its channel's and its group's counters.
inline void CountTask(const Task& t, int sign, ChannelStats* channel, GroupStats* group) {
  if (channel) {
    channel->total += sign;
    channel->complete += sign * t.is_complete;
    channel->assigned += sign * t.assigned();
  }
  if (group) {
    group->total += sign;
    group->complete += sign * t.is_complete;
    group->assigned += sign * t.assigned();
    group->failed += sign * t.failed();
  }
}

// What an acquire hands out (reference §2.4 TaskParentData).
struct ParentData {
  Id id;
  std::string channel;
  std::string input;
  std::string output;
};

struct Acquired {
  Task task;
  std::vector<ParentData> parents;
};

// An event for socket.io rooms and SSE streams (reference §8), published after it is durable.
struct Event {
  std::string room;  // group id hex, or "operators"
  std::string name;  // e.g. "task:update"
  // null, a document, or a ready-made JSON payload (key merges, workgroup delays, pause state)
  std::variant<std::monostate, Task, Group, Operator, std::string> payload;
};

// A task record (version 2) holds the count of parent_ids, not the ids: they are in Cf::kParents
// (EncodeParents), so a fan-in task with thousands of parents is not rewritten with all of them
// each time one completes. DecodeTask leaves parent_ids empty and answers that count in
// *stored_parents; a version-1 record fills parent_ids itself (legacy_parents, count 0).
// (Version 1, which writes the ids inline, is only written by tests of the migration.)
inline constexpr uint8_t kTaskVersion = 2;
std::string EncodeTask(const Task& t, uint8_t version = kTaskVersion);
Status DecodeTask(std::string_view data, Task* t, uint32_t* stored_parents);
std::string EncodeParents(const std::vector<Id>& ids);
Status DecodeParents(std::string_view data, uint32_t count, std::vector<Id>* ids);
std::string EncodeGroup(const Group& g);
Status DecodeGroup(std::string_view data, Group* g);
std::string EncodeOperator(const Operator& o);
Status DecodeOperator(std::string_view data, Operator* o);
std::string EncodeChannelStats(const ChannelStats& c);
Status DecodeChannelStats(std::string_view data, ChannelStats* c);

// JSON text helpers for event payloads built by the engine.
std::string JsonQuote(std::string_view s);
void AppendJsonQuoted(std::string_view s, std::string* out);  // JsonQuote(s), appended
// JsonQuote(s) into to, which has room for MaxJsonQuotedSize(s); returns its end.
char* WriteJsonQuoted(std::string_view s, char* to);
inline size_t MaxJsonQuotedSize(std::string_view s) { return 6 * s.size() + 2; }

}  // namespace crew::engine
