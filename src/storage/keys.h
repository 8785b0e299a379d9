// The storage format, in one place (STYLE.md §5): column families, key layouts, schema version.
//
// Column families (the numbers are on-disk names' order; never reorder):
// clang-format off
//   kMeta         "schema" -> u8 version; "last_id_us" -> fixed64; "chan/" name -> ChannelStats
//                 and "counters_saved" -> ""; "ready/" str(channel) fixed32(chunk) -> entries
//                 and "ready_saved" -> "" (written at a clean shutdown: engine.cc);
//                 "groupop/" group id(12) op(1) fixed64(instance) -> ordered(attempts)
//                 seeded(1) [step(1) task id(12)]: a large group's delete, reset, retry or
//                 resume under way, and how far it got (groups.cc); "saved_last" -> fixed64:
//                 the sequence number of its own write, SaveCounters' last at a clean shutdown:
//                 what it saved (counters, ready queues) and kKeys' index of held keyed tasks
//                 are whole if it is the store's last write (Engine::Load)
//   kTasks        task id(12)                                  -> Task record (engine/model.cc)
//   kGroups       group id(12)                                 -> Group record
//   kOperators    operator id(12)                              -> Operator record
//   kGroupTasks   group id(12) . task id(12)                   -> ""  (list a group, newest last)
//   kChannelTasks str(channel) . task id(12)                   -> ""  (list a channel)
//   kReady        str(channel) . desc(priority) . task id(12)  -> ""  (no longer written: the
//                 ready queues are in memory, Engine::ready_; Load deletes what an older
//                 version left; a clean shutdown saves the queues in kMeta "ready/")
//   kDelayed      ordered(due ms) . task id(12)                -> ""  (runAfter, error and
//                                                                     workgroup delays)
//   kLeases       ordered(expiry ms) . task id(12)             -> ""  (no longer written: the
//                 lease index is in memory, Engine::leases_; LoadLeases drops old entries)
//   kChildren     parent id(12) . child id(12)                 -> ""  (DAG edges downward)
//   kKeys         str(channel) . str(key) . task id(12)        -> ""  (incomplete keyed tasks)
//                 0xFF . str(channel) . str(key) . task id(12) -> ""  (those of them held: a
//                 worker's lease; 0xFF is no length's first byte, a name being under 10 MB)
//   kWorkgroups   workgroup name                               -> ordered(delayed-until ms);
//                                                                     past ones go hourly
//   kParked       group id(12) . task id(12)                   -> ""  (ready, group paused)
//   kParents      task id(12)                                  -> parent ids(12 each), in order
// clang-format on
// str(s) is a 4-byte big-endian length then the bytes, so one prefix's entries sort together.
// ordered(i) is the big-endian two's complement with the sign bit flipped (byte order = numeric
// order); desc(i) is its bitwise complement (higher priority sorts first). Ids sort by creation
// time (util/id.h), so within one priority older tasks come first.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/id.h"

namespace crew::storage {

enum class Cf : int {
  kMeta = 0,  // RocksDB's "default" column family
  kTasks = 1,
  kGroups = 2,
  kOperators = 3,
  kGroupTasks = 4,
  kChannelTasks = 5,
  kReady = 6,
  kDelayed = 7,
  kLeases = 8,
  kChildren = 9,
  kKeys = 10,
  kWorkgroups = 11,
  kParked = 12,
  kParents = 13,  // task id -> its parent ids (a fan-in task's list stays out of its record)
};
inline constexpr int kNumCfs = 14;
const char* CfName(Cf cf);

inline constexpr uint8_t kSchemaVersion = 1;

std::string IdKey(const Id& id);
std::string PairKey(const Id& a, const Id& b);  // group.task, parent.child
std::string ChannelPrefix(std::string_view channel);
std::string ChannelTaskKey(std::string_view channel, const Id& task);
std::string ReadyKey(std::string_view channel, int64_t priority, const Id& task);
std::string TimeKey(int64_t ms, const Id& task);  // kDelayed (and kLeases, no longer written)
std::string KeyPrefix(std::string_view channel, std::string_view key);
std::string KeyEntry(std::string_view channel, std::string_view key, const Id& task);
// kKeys' index of held keyed tasks: kHeldPrefix + KeyEntry.
inline constexpr std::string_view kHeldPrefix = "\xff";
// kMeta: the mark of a clean shutdown's save (see above).
inline constexpr std::string_view kSavedLast = "saved_last";
std::string HeldPrefix(std::string_view channel, std::string_view key);
std::string HeldEntry(std::string_view channel, std::string_view key, const Id& task);

// Every entry key of the layouts above ends with the 12-byte id it is about.
Id TrailingId(std::string_view key);
// The time part of a TimeKey.
int64_t TimeOf(std::string_view key);
// A key greater than every TimeKey (whose 20 bytes are at most all 0xFF).
inline std::string PastEveryTimeKey() { return std::string(21, '\xff'); }

// The smallest string greater than every string that starts with `prefix`
// (empty when none exists, i.e. the prefix is all 0xFF).
std::string PrefixEnd(std::string_view prefix);

}  // namespace crew::storage
