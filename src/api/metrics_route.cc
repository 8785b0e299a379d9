// GET /metrics (SPEC N6): the Prometheus text format 0.0.4. Outside /api/, so like /healthz
// it needs no token (N5). Every figure is read at scrape time from counters the work keeps
// anyway (relaxed atomics, the engine's caches, RocksDB properties): a scrape costs no I/O.
// Metric names and labels are documented in README "Operations".
#include <unistd.h>

#include <chrono>
#include <fstream>

#include <httplib.h>

#include "api/http_metrics.h"
#include "api/prometheus.h"
#include "api/routes.h"

namespace crew::api {

namespace {

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Resident set size from /proc/self/statm (Linux); 0 elsewhere.
int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t pages_total = 0, pages_resident = 0;
  if (!(statm >> pages_total >> pages_resident)) return 0;
  return pages_resident * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
}

void ProcessFigures(PromText& out, const MetricsSources& src, double started) {
  out.Family("crew_build_info", "gauge", "Always 1; the version is a label.");
  out.Sample("crew_build_info", {{"version", src.version}}, int64_t{1});
  out.Family("crew_start_time_seconds", "gauge", "When the server started, in Unix seconds.");
  out.Sample("crew_start_time_seconds", {}, started);
  out.Family("crew_uptime_seconds", "gauge", "Seconds since the server started.");
  out.Sample("crew_uptime_seconds", {}, NowSeconds() - started);
  out.Family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  out.Sample("process_resident_memory_bytes", ResidentBytes());
}

void HttpFigures(PromText& out, const MetricsSources& src, const EventHub* hub) {
  out.Family("crew_http_requests_in_flight", "gauge", "Requests being handled now.");
  out.Sample("crew_http_requests_in_flight", src.in_flight->load());
  src.http->Render(out);
  out.Family("crew_long_poll_waiters", "gauge", "Acquire requests waiting for a task (N1).");
  out.Sample("crew_long_poll_waiters", hub->waiters());
  out.Family("crew_event_subscribers", "gauge", "Open event streams (SSE and socket.io).");
  out.Sample("crew_event_subscribers", hub->subscribers());
}

void EngineFigures(PromText& out, const engine::Engine* e, const MetricsSources& src) {
  out.Family("crew_groups", "gauge", "Task groups.");
  out.Sample("crew_groups", e->CountGroups());
  out.Family("crew_operators", "gauge", "Operators (HTTP push workers).");
  out.Sample("crew_operators", e->CountOperators());
  out.Family("crew_channel_tasks", "gauge",
             "Tasks of a channel: all of them, the complete ones, the ones held by a worker.");
  for (const auto& c : e->ListChannels()) {
    out.Sample("crew_channel_tasks", {{"channel", c.name}, {"state", "total"}}, c.total);
    out.Sample("crew_channel_tasks", {{"channel", c.name}, {"state", "complete"}}, c.complete);
    out.Sample("crew_channel_tasks", {{"channel", c.name}, {"state", "assigned"}}, c.assigned);
  }
  engine::WorkCounts w = e->work();
  out.Family("crew_tasks_created_total", "counter",
             "Tasks created (create, batch create, release children, pluck).");
  out.Sample("crew_tasks_created_total", w.tasks_created);
  out.Family("crew_tasks_acquired_total", "counter", "Tasks handed to a worker.");
  out.Sample("crew_tasks_acquired_total", w.tasks_acquired);
  out.Family("crew_tasks_released_total", "counter",
             "Releases by the holder, with output (outcome=\"output\") or an error.");
  out.Sample("crew_tasks_released_total", {{"outcome", "output"}}, w.released_ok);
  out.Sample("crew_tasks_released_total", {{"outcome", "error"}}, w.released_error);
  out.Family("crew_leases_expired_total", "counter",
             "Tasks freed because their worker held them past the lease (D2).");
  out.Sample("crew_leases_expired_total", w.leases_expired);
  if (src.dispatch_counts) {
    DispatchCounts d = src.dispatch_counts();
    out.Family("crew_operator_pushes_total", "counter",
               "Tasks pushed to operators: answered with a 2xx, or failed.");
    out.Sample("crew_operator_pushes_total", {{"outcome", "answered"}}, d.pushed);
    out.Sample("crew_operator_pushes_total", {{"outcome", "failed"}}, d.failed);
  }
}

void StorageFigures(PromText& out, const storage::Store* store) {
  storage::StoreStats s = store->Stats();
  auto gauge = [&out](const char* name, const char* help, uint64_t v) {
    out.Family(name, "gauge", help);
    out.Sample(name, static_cast<int64_t>(v));
  };
  gauge("crew_storage_keys_estimate", "RocksDB rocksdb.estimate-num-keys, all column families.",
        s.estimate_num_keys);
  gauge("crew_storage_live_data_bytes", "RocksDB rocksdb.estimate-live-data-size.",
        s.live_data_bytes);
  gauge("crew_storage_sst_files_bytes", "RocksDB rocksdb.total-sst-files-size.", s.sst_files_bytes);
  gauge("crew_storage_memtable_bytes", "RocksDB rocksdb.cur-size-all-mem-tables.",
        s.memtable_bytes);
  gauge("crew_storage_pending_compaction_bytes",
        "RocksDB rocksdb.estimate-pending-compaction-bytes.", s.pending_compaction_bytes);
  gauge("crew_storage_write_error",
        "1 once a WAL write or sync failed: the store refuses every write (503).",
        s.write_error ? 1 : 0);
  out.Family("crew_wal_writes_total", "counter", "Write batches appended to the WAL.");
  out.Sample("crew_wal_writes_total", static_cast<int64_t>(s.wal_writes));
  out.Family("crew_wal_syncs_total", "counter",
             "WAL syncs; each covers every write before it (group commit).");
  out.Sample("crew_wal_syncs_total", static_cast<int64_t>(s.wal_syncs));
  out.Family("crew_wal_sync_seconds_total", "counter", "Time spent in WAL syncs.");
  out.Sample("crew_wal_sync_seconds_total", {}, s.wal_sync_seconds);
  out.Family("crew_wal_files_total", "counter",
             "WAL files started while a spare is kept (full durability): zero-filled ahead "
             "(prepared=\"yes\"), or not.");
  out.Sample("crew_wal_files_total", {{"prepared", "yes"}},
             static_cast<int64_t>(s.wal_files_prepared));
  out.Sample("crew_wal_files_total", {{"prepared", "no"}},
             static_cast<int64_t>(s.wal_files_unprepared));
}

}  // namespace

void RegisterMetrics(Router& server, RouteContext ctx, MetricsSources sources) {
  const double started = NowSeconds();
  server.Get("/metrics", [ctx, sources, started](const httplib::Request&, httplib::Response& res) {
    PromText out;
    ProcessFigures(out, sources, started);
    HttpFigures(out, sources, ctx.hub);
    EngineFigures(out, ctx.engine, sources);
    StorageFigures(out, ctx.store);
    res.set_content(out.text(), PromText::kContentType);
  });
}

}  // namespace crew::api
