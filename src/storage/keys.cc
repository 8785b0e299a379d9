#include "storage/keys.h"

#include "util/coding.h"

namespace crew::storage {

const char* CfName(Cf cf) {
  static const char* const kNames[kNumCfs] = {
      "default", "tasks",  "groups",   "operators", "group_tasks", "channel_tasks", "ready",
      "delayed", "leases", "children", "keys",      "workgroups",  "parked",        "parents"};
  return kNames[static_cast<int>(cf)];
}

std::string IdKey(const Id& id) { return std::string(id.View()); }

std::string PairKey(const Id& a, const Id& b) {
  std::string k(a.View());
  k.append(b.View());
  return k;
}

std::string ChannelPrefix(std::string_view channel) {
  std::string k;
  PutKeyString(k, channel);
  return k;
}

std::string ChannelTaskKey(std::string_view channel, const Id& task) {
  std::string k = ChannelPrefix(channel);
  k.append(task.View());
  return k;
}

std::string ReadyKey(std::string_view channel, int64_t priority, const Id& task) {
  std::string k = ChannelPrefix(channel);
  PutFixed64BE(k, ~(static_cast<uint64_t>(priority) ^ (1ULL << 63)));
  k.append(task.View());
  return k;
}

std::string TimeKey(int64_t ms, const Id& task) {
  std::string k;
  PutOrderedI64(k, ms);
  k.append(task.View());
  return k;
}

std::string KeyPrefix(std::string_view channel, std::string_view key) {
  std::string k = ChannelPrefix(channel);
  PutKeyString(k, key);
  return k;
}

std::string KeyEntry(std::string_view channel, std::string_view key, const Id& task) {
  std::string k = KeyPrefix(channel, key);
  k.append(task.View());
  return k;
}

std::string HeldPrefix(std::string_view channel, std::string_view key) {
  std::string k(kHeldPrefix);
  k += KeyPrefix(channel, key);
  return k;
}

std::string HeldEntry(std::string_view channel, std::string_view key, const Id& task) {
  std::string k = HeldPrefix(channel, key);
  k.append(task.View());
  return k;
}

Id TrailingId(std::string_view key) { return Id::FromBytes(key.substr(key.size() - 12)); }

int64_t TimeOf(std::string_view key) { return DecodeOrderedI64(key.data()); }

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto c = static_cast<uint8_t>(end.back());
    if (c != 0xFF) {
      end.back() = static_cast<char>(c + 1);
      return end;
    }
    end.pop_back();
  }
  return end;
}

}  // namespace crew::storage
