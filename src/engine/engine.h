// Engine: Crew's scheduler (reference §4, SPEC §2-3) over the Store. No HTTP or JSON types here.
//
// Concurrency: every mutation runs under one writer mutex (so acquire needs no transactions),
// builds one WriteBatch (Txn), appends it to the WAL (or gathers it with the thread's next
// ones: DeferSync), then, outside the mutex, waits for group commit (Store::WaitDurable) before
// it returns. Events reach the EngineListener in commit order, only once durable. Reads (Get*,
// List*) run concurrently from any thread.
// Every rule of SPEC is one named operation below; its comment cites the section.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "engine/model.h"
#include "engine/task_cache.h"
#include "engine/work_counters.h"
#include "storage/store.h"
#include "util/clock.h"
#include "util/id.h"
#include "util/status.h"

namespace crew::engine {

struct EngineOptions {
  int64_t lease_ms = 60'000;                        // CREW_ABANDONED_TASK_INTERVAL_IN_SECONDS (D2)
  bool clean_expired_groups = true;                 // CREW_CLEAN_EXPIRED_GROUPS
  int64_t expired_group_age_ms = 7 * 86'400'000LL;  // CREW_EXPIRED_GROUP_INTERVAL_IN_DAYS
  int64_t clean_interval_ms = 3'600'000;            // hourly, as the original's cron
  int clean_batch = 20;       // groups per hourly clean (CREW_SYNC_CLEAN_SIZE)
  int http_clean_batch = 20;  // /api/v1/clean's default ?batch= (CREW_CLEAN_BATCH_SIZE)
  int bootstrap_batch = 100;  // /api/v1/bootstrap's default ?batch= (CREW_BOOTSTRAP_BATCH_SIZE)
  // Whether the maintenance thread deletes expired groups hourly. False with an external cron
  // (CREW_USE_EXTERNAL_CRON=yes, reference §6): only /api/v1/clean deletes them, when called.
  bool scheduled_clean = true;
  // Acquire and heartbeat answer once their lease is handed to the OS (a crash of crew loses
  // none), and it is synced with the next WAL sync (at most Store::kLazySyncDelay later): a lease
  // lost to a power cut only hands its task out again, as an expired lease does (D2). True: they
  // wait for the sync too (--sync-leases).
  bool sync_leases = false;
  // The budget of the task cache (task_cache.h): the tasks written last, decoded, so that a read
  // of a task written a moment ago costs no RocksDB Get (~79,000 tasks of W1's kind).
  size_t task_cache_bytes = 64 << 20;
  // The tasks one Txn of a large group's delete, reset, retry or resume takes at most (groups.cc):
  // other writes go on between two.
  size_t group_batch = 1000;
  // Tests: called after each of those Txns, between two (the state a crash there leaves; an
  // exception it throws ends the operation there).
  std::function<void()> after_group_batch;
};

// Receives what the engine publishes. Called from writer threads, in commit order; must not
// block or call back into the engine.
class EngineListener {
 public:
  virtual ~EngineListener() = default;
  virtual void OnEvents(const std::vector<Event>& events) = 0;
  // Whether anyone would hear task events now (a subscriber). When not, a commit skips their
  // payloads (a copy of each task changed): a drain nobody watches pays nothing for them. Asked
  // after the commit's write (or gather), behind a seq_cst fence; a listener that starts
  // answering true must fence after that too, then call Engine::Settle() (EventHub::Subscribe),
  // so a subscriber either hears the event or reads the state it carried.
  virtual bool WantsTaskEvents() const { return true; }
  // Tasks of these channels became acquirable (long-poll wake-ups, N1).
  virtual void OnReady(const std::vector<std::string>& channels) = 0;
};

struct NewGroup {
  std::string name;
  bool is_paused = false;
};

// A task to create (reference §4.1 with SPEC D7, D8, D11). Defaults are the reference's.
struct NewTask {
  std::string name;
  std::string channel;
  std::optional<std::string> workgroup;
  std::optional<std::string> key;
  int64_t remaining_attempts = 5;
  int64_t priority = 0;
  std::optional<int64_t> run_after;
  double progress_weight = 1;
  bool is_seed = false;
  double error_delay_s = 30;
  std::string input = "null";
  std::vector<Id> parent_ids;
};

// PUT /task/:id (SPEC D9): only the fields given change.
struct TaskPatch {
  std::optional<std::string> name, channel;
  std::optional<std::optional<std::string>> workgroup, key;
  std::optional<int64_t> remaining_attempts, priority;
  std::optional<std::optional<int64_t>> run_after;
  std::optional<double> progress_weight, error_delay_s;
  std::optional<bool> is_seed;
  std::optional<std::string> input;
  std::optional<std::vector<Id>> parent_ids;
};

// One element of a release's `children` (reference §2.4, SPEC D6). Ids are JSON texts.
struct ChildSpec {
  NewTask task;
  std::optional<std::string> child_id;
  std::optional<std::vector<std::string>> parent_refs;  // _parent_ids
  size_t index = 0;  // in the request's children (for messages: some are not taken)
};

struct ReleaseCommand {
  std::string worker_id;
  std::optional<std::string> error;  // JSON text; set = the error path (reference §4.3.1)
  std::string output = "null";
  std::vector<ChildSpec> children;
  double children_delay_s = 0;
  double workgroup_delay_s = 0;
};

struct OperatorFields {
  std::optional<std::string> channel, url, request_config;
  std::optional<std::optional<bool>> is_paused;
};

class Txn;

// While a DeferSync lives on a thread, that thread's writes which are answered only once synced
// (all but leases) return as soon as they are appended to the WAL, and the scope keeps the
// highest sequence number among them. Whoever opened it must not answer before
// Engine::AwaitDurable(seq()) succeeded: the event loops (api/loop_server.h) hold such answers
// until their sync thread's AwaitDurable covers them, one sync for many. Its writes' appends also
// stay in the WAL's buffer until a sync (which flushes first) or Store::FlushWal(). With full
// durability only a lease is answered before its sync, and a lease may be lost to a crash anyway
// (EngineOptions::sync_leases). Scopes nest; the innermost collects.
//
// A gathering scope (an event loop's request) goes further: its writes, leases too, are not even
// written to the store but gathered into one batch with the thread's other writes until the
// thread calls Engine::EndTurn() (an event loop's turn: one RocksDB write and WAL record for all
// of the turn's requests, instead of one each). seq() is then kGathered: EndTurn() answers the
// sequence number to wait for instead; or, when only leases were gathered, kGatheredLease: the
// answer waits for no sync, but it must not leave if EndTurn() fails (its lease was never
// written). Until then the thread's own reads of the store write the
// batch first if it writes what they read (Engine::SeeOwnWrites), and any other thread's write
// writes it first, so every reader that may know of a write reads it: only the other threads'
// reads of the store (not of the engine's caches) miss a write nobody was answered yet.
// REQUIRES: a thread that gathered calls EndTurn() before it answers any request.
class DeferSync {
 public:
  static constexpr uint64_t kGathered = UINT64_MAX;
  static constexpr uint64_t kGatheredLease = UINT64_MAX - 1;
  explicit DeferSync(bool gather = false);
  ~DeferSync();
  DeferSync(const DeferSync&) = delete;
  DeferSync& operator=(const DeferSync&) = delete;
  uint64_t seq() const {
    if (gathered_) return kGathered;
    return gathered_lease_ ? kGatheredLease : seq_;
  }

 private:
  friend class Engine;
  friend class Txn;
  static DeferSync*& Current();
  uint64_t seq_ = 0;
  bool gather_;
  bool gathered_ = false;        // a write that waits for its sync was gathered
  bool gathered_lease_ = false;  // a lease was gathered (Ack::kLease)
  DeferSync* outer_;
};

// How far a large reset or retry of a group that a crash cut short got (its note says;
// Engine::FinishGroupOps): its step `step` done for the tasks up to `through` (in id order), the
// steps before it for all. The start-up goes on from there. Default: from the start. A reset's
// also says whether it found seeds in the group (then only they stay): a seed made or deleted
// while it ran must not change that at the start-up (a seed made meanwhile had the start-up
// delete every other task, those the reset had started over too).
struct GroupOpMark {
  int step = 0;
  std::optional<Id> through;
  std::optional<bool> seeded;  // (unknown in a note of an earlier version)
};

class Engine {
 public:
  static Result<std::unique_ptr<Engine>> Open(storage::Store* store, const Clock* clock,
                                              EngineOptions options);
  ~Engine();

  void SetListener(EngineListener* listener) { listener_ = listener; }
  // Returns once the WAL is synced past seq (a DeferSync's), after the events of the writes up
  // to seq went out.
  Status AwaitDurable(uint64_t seq);
  // Ends a turn of gathered writes (DeferSync): writes those of this thread still gathered, and
  // with relaxed durability hands the WAL's appends to the OS. Answers the sequence number that
  // covers every write the thread gathered, for AwaitDurable; an error when the store could not
  // take them (none of them may be answered as done).
  Result<uint64_t> EndTurn();
  // Writes every gathered write, whichever thread gathered it. For a new event subscriber, after
  // it subscribed: what it reads next then includes every write whose events it may not hear
  // (EngineListener::WantsTaskEvents).
  void Settle();
  // Starts / stops the maintenance thread (delayed tasks, leases, expired groups; D13).
  void StartMaintenance();
  void StopMaintenance();
  // Stores the channels' and groups' counters and the ready queues (kept in memory as tasks
  // change) so that the next start-up reads them instead of scanning every task. For a clean
  // shutdown, once nothing else writes.
  Status SaveCounters();

  // --- groups (reference §5.1-5.4)
  Result<Group> CreateGroup(const NewGroup& g);
  Result<Group> GetGroup(const Id& id) const;
  Result<std::vector<Group>> ListGroups(int64_t limit, int64_t skip) const;
  int64_t CountGroups() const { return group_count_.load(); }
  Result<Group> RenameGroup(const Id& id, const std::optional<std::string>& name);
  Status DeleteGroup(const Id& id);
  Result<Group> ResetGroup(const Id& id, int64_t remaining_attempts,
                           const GroupOpMark& from = {});  // D10
  Result<Group> RetryGroup(const Id& id, int64_t remaining_attempts, const GroupOpMark& from = {});
  Result<Group> SetGroupPaused(const Id& id, bool paused);

  // --- tasks (reference §4.1, §5.5-5.7)
  Result<std::vector<Task>> CreateTasks(const Id& group_id, const std::vector<NewTask>& tasks);
  Result<Task> GetTask(const Id& id) const;
  Result<std::vector<Task>> ListGroupTasks(const Id& group_id, int64_t limit, int64_t skip) const;
  Result<std::vector<Task>> ListChannelTasks(const std::string& channel, int64_t limit,
                                             int64_t skip) const;
  // The ids of a group's (a channel's) tasks, newest first: `skip` of them left out, then at
  // most `limit` (<= 0: all). A long listing reads its tasks from them with ReadTasks, a piece
  // at a time, instead of holding them all at once.
  Result<std::vector<Id>> ListGroupTaskIds(const Id& group_id, int64_t limit, int64_t skip) const;
  Result<std::vector<Id>> ListChannelTaskIds(const std::string& channel, int64_t limit,
                                             int64_t skip) const;
  // The tasks of `ids`, in their order; a task deleted since its id was read is left out.
  Result<std::vector<Task>> ReadTasks(std::span<const Id> ids) const;
  std::vector<ChannelStats> ListChannels() const;
  Result<Task> UpdateTask(const Id& id, const TaskPatch& patch);
  Status DeleteTask(const Id& id);
  Result<Task> ResetTask(const Id& id, int64_t remaining_attempts);
  Result<Task> RetryTask(const Id& id, int64_t remaining_attempts);
  Result<Task> PluckTask(const Id& id);

  // --- workers (reference §4.2-4.3, SPEC D2-D6, N8)
  Result<std::vector<Acquired>> Acquire(const std::string& channel, const std::string& worker,
                                        int limit);
  Result<Task> Release(const Id& id, const ReleaseCommand& cmd);
  // Each item succeeds or fails alone; the successes are one durable write (N8). An error when
  // that write failed (then no item did anything).
  Result<std::vector<Result<Task>>> ReleaseBatch(
      const std::vector<std::pair<Id, ReleaseCommand>>& items);
  Result<Task> Heartbeat(const Id& id, const std::string& worker);

  // --- operators (reference §5.9)
  Result<Operator> CreateOperator(const OperatorFields& f);
  Result<Operator> GetOperator(const Id& id) const;
  Result<std::vector<Operator>> ListOperators(int64_t limit, int64_t skip) const;
  int64_t CountOperators() const { return operator_count_.load(); }
  Result<Operator> UpdateOperator(const Id& id, const OperatorFields& f);
  Status DeleteOperator(const Id& id);

  // --- maintenance (D2, D13): each returns how many tasks or groups it changed.
  // Delayed tasks whose time has come, and the ready tasks set aside behind a workgroup delay
  // that is over (SetAside).
  Result<int64_t> PromoteDue(int limit);
  Result<int64_t> ExpireLeases(int limit);  // abandoned tasks
  Result<int64_t> CleanExpiredGroups(int limit);
  Result<int64_t> ForgetPastWorkgroupDelays(int limit);  // over ones change nothing
  // The first millisecond at which a delay, set-aside or lease is due (past its time), or
  // INT64_MAX.
  int64_t NextTimer();
  // Reads the leases held before Open into the lease index (a scan of every task record, off
  // the writer's lock). The first ExpireLeases or NextTimer does it (the maintenance thread's
  // first pass); later calls return at once.
  Status LoadLeases();
  // Channels with ready tasks (an entry of the in-memory ready queue each).
  size_t ReadyChannelCount();
  // The channel's ready tasks, in hand-out order (for tests: the queue against the records).
  // `set_aside`: with those set aside behind a paused group or a delayed workgroup, in no order.
  std::vector<Id> ReadyTasks(const std::string& channel, bool set_aside = false);

  const Clock* clock() const { return clock_; }
  // Totals of the work done since Open (SPEC N6, /metrics).
  WorkCounts work() const { return work_.Snapshot(); }
  const EngineOptions& options() const { return options_; }
  // Fills the derived fields of a task read from storage (is_paused, shown_run_after).
  void FillDerived(Task& t) const;

 private:
  friend class Txn;
  Engine(storage::Store* store, const Clock* clock, EngineOptions options);
  Status Load();
  Status Recount(bool counters, bool ready, bool held);
  bool LoadReadyChunk(std::string_view key, std::string_view value);
  // What a write's answer waits for: the WAL sync, or (a lease) only the write (sync_leases).
  enum class Ack { kSynced, kLease };
  template <typename T, typename Fn>
  Result<T> Write(Fn&& fn, Ack ack = Ack::kSynced);
  void Publish(uint64_t seq);
  // REQUIRES: write_mu_ held. Writes gathered_ (Txn::Commit appends every Txn to it), and gives
  // the events waiting for it their sequence number. `flush`: as Store::Write's.
  Status WriteGathered(bool flush, uint64_t* seq);
  // The store's before-read hook: a thread that gathered writes to cf reads them.
  void SeeOwnWrites(storage::Cf cf);
  // Whether the writes gathered_ holds may touch task id's records (kTasks, kParents), so that a
  // read of them must write gathered_ first. Always true but for the writer (write_mu_ held by
  // this thread), which knows what it gathered.
  bool GatheredTaskRecords(const Id& id) const;
  void MaintenanceLoop();
  void IdleUntilStopped();  // the maintenance thread's end once the store refuses writes
  void WakeMaintenance(int64_t at_ms);
  bool MaintenanceStopping();  // StopMaintenance was called
  bool GroupPausedCached(const Id& id) const;
  std::optional<int64_t> WorkgroupUntil(const std::string& wg) const;
  Result<Task> ReadTask(const Id& id) const;
  // The stored task with its parent ids (model.h), or nullopt when there is none.
  Result<std::optional<Task>> LoadTask(const Id& id) const;
  // The same, decoded (task_cache.h), or nullptr when there is none: the cache's entry when it
  // holds the task decoded. `cached`: the cache's entry as the caller already took it.
  Result<std::shared_ptr<const StoredTask>> LoadStored(
      const Id& id, std::shared_ptr<const StoredTask> cached = nullptr) const;
  // LoadStored's read of a task with parents on a thread that does not hold the writer.
  Result<std::shared_ptr<const StoredTask>> LoadStoredAtOnce(const Id& id) const;
  // A large group's delete, reset, retry and resume, in batches (groups.cc). Such an operation
  // notes itself in kMeta before its first batch and erases the note in its last Txn; start-up
  // finishes one whose note a crash left (FinishGroupOps).
  enum class GroupOp : char { kDelete = 'd', kReset = 'r', kRetry = 't', kResume = 'u' };
  // Writes a note of the operation with the Txn; answers its key (unique), for the operation's
  // last Txn to erase.
  // (An operation that goes on from a mark starts its note there.)
  std::string PutGroupOpNote(Txn& txn, const Id& group, GroupOp op, int64_t remaining_attempts,
                             const GroupOpMark& from = {});
  // The same in a Txn of its own, once the group is found.
  Result<std::string> NoteGroupOp(const Id& group, GroupOp op, int64_t remaining_attempts,
                                  const GroupOpMark& from = {});
  void EraseNote(const std::string& key);  // (an operation that failed; a failed store keeps it)
  Status FinishGroupOps();
  size_t BatchedPart(size_t n) const;
  // Each batch's Txn may also `mark` the operation's note with the batch's last task.
  template <typename Step>
  Status InGroupBatches(const Id& group, std::span<const Id> list, Step&& step,
                        const std::function<void(Txn&, const Id&)>& mark = nullptr);
  Status LateGroupTasks(const Id& group, const std::vector<Id>& listed,
                        std::vector<Id>* late) const;
  Result<std::vector<Id>> TaskIdsByIndex(storage::Cf cf, const std::string& prefix, int64_t limit,
                                         int64_t skip) const;

  // Rules, each run inside a Txn (see the .cc files).
  // The lease of each key's holder that a run of creates met (nullopt: none holds the key).
  // Creates make no holder of their own, so within one run the first look per key holds for
  // the rest (a run of 20,000 tasks of one key looked through all the others for each).
  struct KeyHolder {
    std::optional<std::string> assigned_to;
    std::optional<int64_t> assigned_at;
    int64_t lease_expires_at = 0;
  };
  using KeyHolders = std::map<std::pair<std::string, std::string>, std::optional<KeyHolder>>;
  Status DoCreateTask(Txn& txn, const Id& group_id, const NewTask& nt, Task** out,
                      KeyHolders* holders = nullptr);
  Status LockToKeyHolder(Txn& txn, Task* t, KeyHolders* holders = nullptr);
  Status DoRelease(Txn& txn, const Id& id, const ReleaseCommand& cmd, Task** out);
  Status ReleaseSuccess(Txn& txn, Task* t, const ReleaseCommand& cmd);
  // `delay_ms`: how long the task (and its duplicates) waits before its next attempt.
  Status ReleaseFailure(Txn& txn, Task* t, const std::string& error, int64_t delay_ms,
                        int64_t workgroup_delay_ms);
  Status CreateChildren(Txn& txn, Task* parent, const ReleaseCommand& cmd);
  Status MarkComplete(Txn& txn, Task* t, const std::string& output);
  Status LockDuplicates(Txn& txn, const Task& t);
  Status DelayWorkgroup(Txn& txn, const Task& t, double seconds);
  Status EraseTask(Txn& txn, const Id& id, const std::set<Id>& deleting, bool emit);
  Status FreeAbandoned(Txn& txn, Task* t);
  Status ReopenTask(Txn& txn, Task* t, int64_t remaining_attempts);
  Status CheckNoCycle(Txn& txn, const Id& task, const std::vector<Id>& parents);

  storage::Store* store_;
  const Clock* clock_;
  EngineOptions options_;
  IdSource ids_;
  EngineListener* listener_ = nullptr;

  std::mutex write_mu_;  // the single writer
  // GUARDED_BY(write_mu_): the last write's Txn, emptied, for the next one (Txn::Reset).
  std::unique_ptr<Txn> spare_txn_;
  // The thread in write_mu_ (none outside): SeeOwnWrites must not lock it again.
  std::atomic<std::thread::id> write_holder_{};
  // Writes gathered (DeferSync) and not yet written, in commit order, and the thread that
  // gathered them (none while empty). A thread other than the owner that takes write_mu_
  // writes them first.
  rocksdb::WriteBatch gathered_;                 // GUARDED_BY(write_mu_)
  std::atomic<std::thread::id> gather_owner_{};  // set under write_mu_
  // The column families gathered_ writes (bit 1 << Cf): a read of another needs no write.
  std::atomic<uint32_t> gathered_cfs_{0};  // set under write_mu_
  // The tasks whose records (kTasks, kParents) gathered_ may hold: a read by the writer of
  // another task's records needs no write (GatheredTaskRecords). A flat drain's turn gathers a
  // few; past kMaxGatheredTasks the list stops growing and every such read writes first.
  static constexpr size_t kMaxGatheredTasks = 64;
  std::vector<Id> gathered_tasks_;  // GUARDED_BY(write_mu_)
  // A lease was gathered since the last EndTurn: the next EndTurn asks for its sync.
  std::atomic<bool> gathered_lease_{false};

  // Caches of small state, read by any thread; written at commit under write_mu_ too.
  // groups_ holds every group, in id (= creation) order: listing and expiry read it, not the
  // store, whose kGroups memtable is built for writes alone (store.cc).
  mutable std::shared_mutex cache_mu_;
  std::map<Id, Group> groups_;                                // GUARDED_BY(cache_mu_)
  std::map<std::string, ChannelStats> channels_;              // GUARDED_BY(cache_mu_)
  std::unordered_map<std::string, int64_t> workgroup_until_;  // GUARDED_BY(cache_mu_)
  std::atomic<int64_t> group_count_{0}, operator_count_{0};
  // The next group operation note's instance (PutGroupOpNote): from the clock at Load, in
  // microseconds, so that no two notes share a key across restarts either.
  std::atomic<uint64_t> next_group_op_{0};
  // Recently written task records, filled at commit (task_cache.h), and read ahead of a deep
  // queue's acquires (ReadAhead).
  TaskCache task_cache_{options_.task_cache_bytes};
  WorkCounters work_;  // added to after each commit

  // Writer-only: each channel's ready queue, in hand-out order (higher priority first, then
  // older): every task whose placement is kReady, as (priority, id). Kept in memory, not in the
  // store (the task records are the truth, as for the counters): Commit moves entries as tasks
  // become ready and stop being so, a clean shutdown saves the queues (SaveCounters) and the
  // next start-up reads them back; after any other shutdown they are rebuilt from the task
  // records (Recount). So an acquire or a create writes no queue entry, and an acquire needs no
  // iterator. A channel with no ready task has no entry.
  struct ReadyEntry {
    int64_t priority;
    Id id;
    // What an acquire looks at before it loads the task (SetAside): its group, and its
    // workgroup's WorkgroupHash (0: none).
    Id group;
    uint64_t workgroup = 0;
    bool operator<(const ReadyEntry& o) const {
      return priority != o.priority ? priority > o.priority : id < o.id;
    }
    bool operator==(const ReadyEntry& o) const { return priority == o.priority && id == o.id; }
  };
  static uint64_t WorkgroupHash(std::string_view workgroup);  // never 0
  static uint64_t WorkgroupHash(const std::optional<std::string>& workgroup) {
    return workgroup ? WorkgroupHash(std::string_view(*workgroup)) : 0;
  }
  std::unordered_map<std::string, std::set<ReadyEntry>> ready_;
  // Writer-only: ready queue entries an acquire set aside, in memory only, because their group
  // is paused or their workgroup delayed: each goes back to its channel's queue when its group
  // resumes (SetGroupPaused) or its workgroup's delay is over (PromoteDue). Their task records
  // stay kReady, so a restart puts them back in the queues, to be set aside again. An entry
  // whose task changed meanwhile goes back all the same and is dropped by the acquire that
  // meets it (as any entry that names no ready task). Before, an acquire re-placed each such task
  // it met, all in its one Txn: behind a paused group or a delayed workgroup of 200,000 tasks,
  // one acquire held the writer (and its event loop) 1-4 s and took 0.2-0.4 GB.
  using AsideEntries = std::unordered_map<std::string, std::vector<ReadyEntry>>;  // by channel
  std::map<Id, AsideEntries> aside_groups_;
  // (by WorkgroupHash; the delay's end is workgroup_until_hash_'s)
  std::unordered_map<uint64_t, AsideEntries> aside_workgroups_;
  // Writer-only mirrors of what the caches say: the paused groups, and each delayed
  // workgroup's end by WorkgroupHash (updated at commit with groups_ and workgroup_until_).
  std::set<Id> paused_groups_;
  std::unordered_map<uint64_t, int64_t> workgroup_until_hash_;
  // REQUIRES: write_mu_. True when the entry was set aside (and is to leave the queue).
  bool SetAside(const std::string& channel, const ReadyEntry& e, int64_t now);
  // REQUIRES: write_mu_. Puts entries set aside back in their queues, and adds their channels
  // to *channels (a Txn's ready_channels: waiters wake once it commits).
  void PutBack(AsideEntries& entries, std::vector<std::string>* channels);
  // REQUIRES: write_mu_. Every entry set aside back in its queue (before the queues are saved).
  void PutAllBack();
  // REQUIRES: write_mu_ held by this thread, the task at `from` not in the task cache. Reads it
  // and the tasks queued after it, up to kReadAhead, into the cache in one pass of an iterator
  // (acquire.cc).
  static constexpr size_t kReadAhead = 32;
  void ReadAhead(const std::string& channel, const std::set<ReadyEntry>& queue,
                 std::set<ReadyEntry>::const_iterator from);
  // Writer-only: channels whose last read-ahead found too few of their tasks, with the misses
  // left to read one by one before the next. A channel leaves it when its queue empties.
  std::unordered_map<std::string, size_t> read_ahead_paused_;
  // Where the delayed queue's first live key is known to be (the LSM queue trap).
  std::string delayed_floor_;
  // Writer-only: the lease index, (expiry ms, task id) of every task held (D2). Kept in memory,
  // not in the store: the task records are the truth, Commit adds and removes entries as leases
  // begin and end, and LoadLeases adds those held before Open. So a lease costs no index writes.
  // An entry may be stale (LoadLeases read a task that a commit released or renewed since):
  // ExpireLeases checks each due entry against its task and drops those that name no lease.
  using LeaseKey = std::pair<int64_t, Id>;
  std::set<LeaseKey> leases_;
  std::mutex leases_load_mu_;  // one LoadLeases at a time
  std::atomic<bool> leases_loaded_{false};
  // Writer-only: whether kChildren may hold an edge (any stored at start-up, or one written
  // since). While not, a task has no children to look up: a flat queue's releases skip the scan.
  bool edges_stored_ = false;
  // Writer-only: the children lookups' kept iterator (storage::KeptScan), and whether one ran
  // since the maintenance loop last looked (else it drops the iterator and the version it holds).
  storage::KeptScan children_scan_;
  bool children_scanned_ = false;

  struct Pending {
    uint64_t seq;
    std::vector<Event> events;
    std::vector<std::string> ready_channels;
  };
  std::mutex events_mu_;
  std::deque<Pending> pending_;  // GUARDED_BY(events_mu_), in commit order

  std::mutex maint_mu_;
  std::condition_variable maint_cv_;
  int64_t maint_wake_at_ = 0;  // GUARDED_BY(maint_mu_)
  bool maint_stop_ = false;    // GUARDED_BY(maint_mu_)
  std::thread maint_thread_;
};

}  // namespace crew::engine
