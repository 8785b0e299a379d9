#include "cli/cli.h"

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <thread>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "api/event_hub.h"
#include "api/http_server.h"
#include "cli/backup.h"
#include "cli/config.h"
#include "cli/json_log.h"
#include "dispatch/dispatcher.h"
#include "engine/engine.h"
#include "storage/store.h"
#include "util/thread_name.h"
#include "work/demo_workers.h"

namespace crew::cli {

namespace {

// The engine publishes to one listener; the server has two.
class Fanout final : public engine::EngineListener {
 public:
  Fanout(engine::EngineListener* a, engine::EngineListener* b) : a_(a), b_(b) {}
  void OnEvents(const std::vector<engine::Event>& events) override {
    a_->OnEvents(events);
    b_->OnEvents(events);
  }
  void OnReady(const std::vector<std::string>& channels) override {
    a_->OnReady(channels);
    b_->OnReady(channels);
  }
  bool WantsTaskEvents() const override { return a_->WantsTaskEvents() || b_->WantsTaskEvents(); }

 private:
  engine::EngineListener* a_;
  engine::EngineListener* b_;
};

// Logs `message` as an error, in the log's format (a json log stays one object per line),
// whatever --log-level says: a start that fails must say why.
int Fail(const std::string& message) {
  auto logger = spdlog::default_logger();
  const auto level = logger->level();
  if (!logger->should_log(spdlog::level::err)) logger->set_level(spdlog::level::err);
  logger->error("{}", message);
  logger->set_level(level);
  return 1;
}

// Connections and RocksDB's files share the process's descriptors. Outside a systemd unit
// (packaging/ sets LimitNOFILE) the soft limit is often 1024, which would refuse connections
// long before memory runs out; the hard limit is what the administrator allows.
void RaiseFileLimit() {
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  const rlim_t before = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) == 0) {
    spdlog::debug("open files: soft limit {} -> {}", before, limit.rlim_cur);
  }
}

// The signals that stop `crew start` and `crew work` gracefully, blocked in every thread made
// after this call, for one to wait for: SIGTERM, SIGINT, and SIGHUP (a closed terminal), whose
// default action ended crew at once (a long poll got no answer).
sigset_t BlockStopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

// D15: SIGTERM/SIGINT/SIGHUP stop accepting, let in-flight requests finish, flush, exit 0.
int Start(const Config& config) {
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return Fail("cannot create data dir " + config.data_dir + ": " + ec.message());

  // Signals go to the waiting thread below only.
  const sigset_t signals = BlockStopSignals();
  signal(SIGPIPE, SIG_IGN);
  RaiseFileLimit();

  storage::StoreOptions store_options;
  store_options.dir = config.data_dir;
  store_options.relaxed_durability = config.relaxed_durability;
  store_options.wal_spare_mb = static_cast<size_t>(config.wal_spare_mb);
  auto store = storage::Store::Open(store_options);
  if (!store.ok()) return Fail(store.status().message());

  engine::EngineOptions engine_options;
  engine_options.lease_ms = std::llround(config.lease_seconds * 1000);  // (1.005 s: 1005 ms)
  engine_options.sync_leases = config.sync_leases;
  engine_options.clean_expired_groups = config.clean_expired_groups;
  // Reference §6: an external cron runs the clean itself. Lease expiry and delayed tasks stay
  // in-process (SPEC D13): they are no batch job here, and nothing else would run them.
  engine_options.scheduled_clean = !config.use_external_cron;
  engine_options.expired_group_age_ms =
      static_cast<int64_t>(config.expired_group_days * 86'400'000);
  engine_options.clean_batch = static_cast<int>(config.sync_clean_size);
  engine_options.http_clean_batch = static_cast<int>(config.clean_batch_size);
  engine_options.bootstrap_batch = static_cast<int>(config.bootstrap_batch_size);
  auto engine = engine::Engine::Open(store->get(), SystemClock::Default(), engine_options);
  if (!engine.ok())
    return Fail("cannot load data dir " + config.data_dir + ": " + engine.status().message());

  api::EventHub hub;
  dispatch::DispatchOptions dispatch_options;
  dispatch_options.virtual_base_url = config.virtual_operator_base_url;
  dispatch_options.virtual_token = config.virtual_operator_token;
  dispatch_options.concurrency = static_cast<int>(config.operator_concurrency);
  dispatch::Dispatcher dispatcher(engine->get(), dispatch_options);
  Fanout listeners(&hub, &dispatcher);
  (*engine)->SetListener(&listeners);
  api::ServerOptions server_options;
  server_options.host = config.host;
  server_options.port = config.port;
  server_options.auth_token = config.auth_token;
  server_options.loops = static_cast<int>(config.http_loops);
  server_options.tls_cert = config.tls_cert;
  server_options.tls_key = config.tls_key;
  server_options.examine_token = config.cloud_task_access_token;
  server_options.on_examine = [&dispatcher] { dispatcher.Poke(); };
  server_options.version = CREW_VERSION;
  server_options.dispatch_counts = [&dispatcher] {
    return api::DispatchCounts{dispatcher.pushed(), dispatcher.push_failed()};
  };
  api::HttpServer server(engine->get(), store->get(), &hub, server_options);
  Status bound = server.Bind();
  if (!bound.ok()) return Fail(bound.message());
  (*engine)->StartMaintenance();
  dispatcher.Start();

  std::thread waiter([&] {
    SetThreadName("crew-signal");
    int sig = 0;
    sigwait(&signals, &sig);
    spdlog::info("{} received: finishing in-flight requests", sig == SIGTERM  ? "SIGTERM"
                                                              : sig == SIGINT ? "SIGINT"
                                                                              : "SIGHUP");
    hub.Shutdown();  // long polls answer now, event streams end
    server.Stop();
  });
  spdlog::info("crew {} listening on {}://{}:{} (data dir {}, {} durability)", CREW_VERSION,
               config.tls_cert.empty() ? "http" : "https",
               config.host.find(':') == std::string::npos ? config.host : "[" + config.host + "]",
               server.port(), config.data_dir,
               config.relaxed_durability ? "relaxed"
               : config.sync_leases      ? "full, leases synced"
                                         : "full");
  if (config.use_external_cron && config.clean_expired_groups) {
    spdlog::info(
        "CREW_USE_EXTERNAL_CRON=yes: expired groups are deleted only when /api/v1/clean "
        "is called");
  }
  server.Run();
  if (waiter.joinable()) {
    // Run() also returns if the listener fails; make the waiter return then too.
    if (!hub.shutting_down()) pthread_kill(waiter.native_handle(), SIGTERM);
    waiter.join();
  }
  dispatcher.Stop();
  (*engine)->StopMaintenance();
  (*engine)->SetListener(nullptr);
  Status counted = (*engine)->SaveCounters();
  if (!counted.ok())
    spdlog::warn("counters not saved ({}): the next start-up recounts", counted.message());
  engine->reset();
  Status synced = (*store)->SyncNow();
  store->reset();
  if (!synced.ok()) return Fail("final sync failed: " + synced.message());
  spdlog::info("stopped");
  return 0;
}

// N7: the demo workers until SIGINT/SIGTERM/SIGHUP; the task in hand is finished and released
// first.
int Work(const work::DemoOptions& options) {
  if (!(options.speed > 0)) return Fail("--speed must be above 0");
  const sigset_t signals = BlockStopSignals();
  std::atomic<bool> stop{false};
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    spdlog::info("stopping: finishing the tasks in hand");
    stop = true;
  });
  int rc = work::RunDemoWorkers(options, stop);
  if (!stop) pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  return rc;
}

// N6: `crew backup` downloads a running server's snapshot; environment as `crew work`.
CLI::App* AddBackupCommand(CLI::App& app, BackupOptions* backup) {
  if (const char* url = std::getenv("CREW_API_BASE_URL"); url && *url) backup->url = url;
  if (const char* token = std::getenv("CREW_AUTH_TOKEN")) backup->token = token;
  auto* cmd = app.add_subcommand(
      "backup", "Download a consistent snapshot of a running server's data as a tar archive");
  cmd->add_option("--url,-u", backup->url, "Crew base URL (env CREW_API_BASE_URL)")
      ->default_str("http://127.0.0.1:3000/");
  cmd->add_option("--token", backup->token,
                  "Bearer token of a server started with --auth-token (env CREW_AUTH_TOKEN)");
  cmd->add_option("--out,-o", backup->out, "The archive to write (FILE.tar)")->required();
  return cmd;
}

CLI::App* AddRestoreCommand(CLI::App& app, RestoreOptions* restore) {
  auto* cmd = app.add_subcommand(
      "restore", "Unpack a backup archive into an empty or missing data dir, for crew start");
  cmd->add_option("--from", restore->from, "The archive written by crew backup")->required();
  cmd->add_option("--data-dir", restore->data_dir, "The data dir to create (empty or missing)")
      ->required();
  return cmd;
}

}  // namespace

int Run(int argc, char** argv) {
  UseLogFormat("text");

  CLI::App app{"Crew: a task-processing server (a DAG of tasks, workers in any language, REST)."};
  app.set_version_flag("--version", std::string("crew ") + CREW_VERSION);
  app.require_subcommand(1);

  Config config;
  auto* start = app.add_subcommand("start", "Run the server on an embedded RocksDB store");
  start->add_option("--data-dir", config.data_dir, "Data directory (env CREW_DATA_DIR)")
      ->default_str("./crew-data");
  // (an empty value was read as 0, any free port; an empty token or TLS file as none given:
  // `--auth-token "$TOKEN"` with TOKEN unset served the API without a token)
  const auto not_empty = [](const std::string& v) {
    return v.empty() ? std::string("must not be empty") : std::string();
  };
  // (CLI11 reads 0x10 as 16 and 0o10 as 8: the flag takes decimal digits only)
  const auto decimal = [](const std::string& v) {
    if (v.empty()) return std::string("must not be empty");
    if (v.find_first_not_of("0123456789") != std::string::npos) {
      return std::string("must be a decimal number");
    }
    return std::string();
  };
  auto* port = start->add_option("--port,-p", config.port, "TCP port, 0: any free one (env PORT)")
                   ->default_str("3000")
                   ->check(decimal);
  start->add_option("--host", config.host, "Address to listen on (env CREW_HOST)")
      ->default_str("127.0.0.1");
  auto* relaxed = start->add_flag("--relaxed-durability", config.relaxed_durability,
                                  "Answer writes before the WAL is synced; sync every 100 ms (env "
                                  "CREW_RELAXED_DURABILITY=1)");
  auto* sync_leases = start->add_flag(
      "--sync-leases", config.sync_leases,
      "Acquire and heartbeat answer after their lease is synced too (by default it is "
      "handed to the OS before the answer and synced with the next sync, <= 5 ms "
      "later) (env CREW_SYNC_LEASES=1)");
  start
      ->add_option("--auth-token", config.auth_token,
                   "Require 'Authorization: Bearer TOKEN' on /api/ (env CREW_AUTH_TOKEN)")
      ->check(not_empty);
  start
      ->add_option("--tls-cert", config.tls_cert,
                   "PEM certificate: serve HTTPS (env CREW_TLS_CERT)")
      ->check(not_empty);
  start->add_option("--tls-key", config.tls_key, "PEM private key (env CREW_TLS_KEY)")
      ->check(not_empty);
  start
      ->add_option("--log-level", config.log_level,
                   "trace, debug, info, warn (or warning), error, critical or off (env "
                   "CREW_LOG_LEVEL)")
      ->default_str("info");
  start
      ->add_option("--log-format", config.log_format,
                   "text, or json: one {\"ts\",\"level\",\"msg\"} object per line (env "
                   "CREW_LOG_FORMAT)")
      ->default_str("text");

  work::DemoOptions demo;
  if (const char* url = std::getenv("CREW_API_BASE_URL"); url && *url) demo.base_url = url;
  if (const char* token = std::getenv("CREW_AUTH_TOKEN")) demo.auth_token = token;
  auto* work_cmd =
      app.add_subcommand("work", "Run the demo workers of channels worker_a, worker_b, worker_c");
  work_cmd->add_option("--url,-u", demo.base_url, "Crew API base URL (env CREW_API_BASE_URL)")
      ->default_str("http://127.0.0.1:3000/");
  work_cmd->add_option("--speed", demo.speed, "Divide every wait and delay by this factor")
      ->default_str("1");
  // (no flag carries the token: the variable is read above, so the help must name it)
  work_cmd->footer("Bearer token of a server started with --auth-token: env CREW_AUTH_TOKEN");

  BackupOptions backup;
  RestoreOptions restore;
  auto* backup_cmd = AddBackupCommand(app, &backup);
  auto* restore_cmd = AddRestoreCommand(app, &restore);

  // The environment first; flags given on the command line then override it.
  const EnvErrors env =
      ApplyEnvironment(&config, [](const char* name) { return std::getenv(name); });
  // (and --log-format before the flags are parsed, over the variable: a refusal of one of them
  // is in the format asked for)
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.substr(0, 13) == "--log-format=") {
      config.log_format = arg.substr(13);
    } else if (arg == "--log-format" && i + 1 < argc) {
      config.log_format = argv[i + 1];
    }
  }
  if (config.log_format == "json") UseLogFormat("json");
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // (CREW_LOG_FORMAT=json: the refusal is a line of the json log too)
    if (config.log_format == "json") return Fail(e.what());
    app.exit(e);
    return 1;
  }
  if (start->parsed()) {
    // A variable that could not be read stops the start, unless its flag says the same thing
    // (--help, --version and the other commands never read them).
    const std::map<std::string, const CLI::Option*> flag_of = {
        {"PORT", port}, {"CREW_RELAXED_DURABILITY", relaxed}, {"CREW_SYNC_LEASES", sync_leases}};
    for (const auto& [name, message] : env) {
      auto flag = flag_of.find(name);
      if (flag == flag_of.end() || flag->second->count() == 0) return Fail(message);
    }
    if (config.log_format == "json") UseLogFormat("json");  // (its refusals in it too)
    Status valid = Validate(config);
    if (!valid.ok()) return Fail(valid.message());
    UseLogFormat(config.log_format);
    return Start(config);
  }
  if (work_cmd->parsed()) return Work(demo);
  if (backup_cmd->parsed()) return Backup(backup);
  if (restore_cmd->parsed()) return Restore(restore);
  return 1;
}

}  // namespace crew::cli
