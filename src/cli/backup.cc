#include "cli/backup.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "engine/engine.h"
#include "storage/store.h"
#include "util/clock.h"
#include "util/file.h"
#include "util/http_url.h"
#include "util/tar.h"

namespace crew::cli {

namespace {

namespace fs = std::filesystem;

int Fail(const std::string& message) {
  spdlog::error("{}", message);
  return 1;
}

// What an archive holds; kCorruption unless it reads whole and looks like a data dir.
Result<std::set<std::string>> ArchiveFiles(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot open " + path);
  std::set<std::string> names;
  RETURN_IF_ERROR(ReadTar(in, [&](const TarEntry& e) -> Result<TarSink> {
    if (e.type == '0') names.insert(e.name);
    return TarSink();
  }));
  if (!names.count("CURRENT")) {
    return Status::Corruption(path + " is not a crew backup (it has no CURRENT file)");
  }
  return names;
}

// A file created by restore: written through, synced, closed.
class OutFile {
 public:
  static Result<std::unique_ptr<OutFile>> Create(const fs::path& path) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return Status::IoError("cannot create " + path.string() + ": " + strerror(errno));
    return std::make_unique<OutFile>(fd, path.string());
  }
  OutFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~OutFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  Status Write(std::string_view chunk) { return WriteFully(fd_, chunk, path_); }
  Status Close() {
    int synced = ::fsync(fd_);
    int closed = ::close(fd_);
    fd_ = -1;
    if (synced || closed) return Status::IoError("cannot sync " + path_ + ": " + strerror(errno));
    return Status::Ok();
  }

 private:
  int fd_;
  std::string path_;
};

// Unpacks every entry under dir. REQUIRES: dir exists and is empty.
Status Unpack(std::istream& in, const fs::path& dir, uint64_t* files, uint64_t* bytes) {
  std::unique_ptr<OutFile> open;
  auto finish = [&]() -> Status {
    if (!open) return Status::Ok();
    Status s = open->Close();
    open.reset();
    return s;
  };
  RETURN_IF_ERROR(ReadTar(in, [&](const TarEntry& e) -> Result<TarSink> {
    RETURN_IF_ERROR(finish());
    if (!SafeTarName(e.name)) {
      return Status::Invalid("the archive has an unsafe entry name: '" + e.name + "'");
    }
    // (a data dir's crew.lock, in an archive made with tar: the restore holds its own)
    if (e.name == storage::kDataDirLockFile) return TarSink();
    fs::path target = dir / e.name;
    std::error_code ec;
    if (e.type == '5') {
      fs::create_directories(target, ec);
      if (ec) return Status::IoError("cannot create " + target.string() + ": " + ec.message());
      return TarSink();
    }
    if (e.type != '0') {
      return Status::Invalid("the archive has an entry that is not a plain file: '" + e.name +
                             "' (type " + std::string(1, e.type) + ")");
    }
    fs::create_directories(target.parent_path(), ec);
    if (ec) return Status::IoError("cannot create " + target.string() + ": " + ec.message());
    ASSIGN_OR_RETURN(open, OutFile::Create(target));
    ++*files;
    *bytes += e.size;
    OutFile* f = open.get();
    return TarSink([f](std::string_view chunk) { return f->Write(chunk); });
  }));
  RETURN_IF_ERROR(finish());
  return SyncDir(dir.string());
}

// Whether dir holds nothing, or only crew.lock (left by a crew that stopped: not a store).
bool EmptyButLock(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().filename() != storage::kDataDirLockFile) return false;
  }
  return !ec;
}

// Opens the restored dir as the server would (REQUIRES: the caller holds its DataDirLock), reads
// every table file through its checksums (a damaged archive whose tar headers are intact unpacks
// cleanly), and answers how many groups it holds.
Result<int64_t> CheckDataDir(const std::string& dir) {
  if (!fs::exists(fs::path(dir) / "CURRENT")) {
    return Status::Corruption("the archive is not a crew backup (it has no CURRENT file)");
  }
  storage::StoreOptions o;
  o.dir = dir;
  o.dir_locked = true;
  ASSIGN_OR_RETURN(auto store, storage::Store::Open(o));
  rocksdb::Status verified = store->db()->VerifyChecksum();
  if (!verified.ok()) {
    return Status::Corruption("the archive's data is damaged: " + verified.ToString());
  }
  ASSIGN_OR_RETURN(auto engine, engine::Engine::Open(store.get(), SystemClock::Default(), {}));
  return engine->CountGroups();
}

}  // namespace

int Backup(const BackupOptions& options) {
  if (options.out.empty()) return Fail("--out FILE is required");
  // (an ftp:// URL threw from httplib's Client: crew aborted)
  const std::optional<HttpUrl> url = SplitHttpUrl(options.url);
  if (!url) {
    return Fail("the server URL must look like http://host:port/ (got '" + options.url + "')");
  }
  const std::string& origin = url->origin;
  std::string path = url->path.substr(0, url->path.find('?'));
  if (path.back() != '/') path.push_back('/');
  path += "api/v1/backup";

  const std::string part = options.out + ".part";
  std::ofstream out(part, std::ios::binary | std::ios::trunc);
  if (!out) return Fail("cannot write " + part);
  httplib::Client client(origin);
  client.set_connection_timeout(std::chrono::seconds(10));
  client.set_read_timeout(std::chrono::seconds(120));
  httplib::Headers headers;
  if (!options.token.empty()) headers.emplace("Authorization", "Bearer " + options.token);
  int status = 0;
  std::string error_body;
  uint64_t received = 0;
  auto res = client.Get(
      path, headers,
      [&](const httplib::Response& r) {
        status = r.status;
        return true;
      },
      [&](const char* data, size_t n) {
        if (status != 200) {
          if (error_body.size() < 4096) error_body.append(data, n);
          return true;
        }
        out.write(data, static_cast<std::streamsize>(n));
        received += n;
        return static_cast<bool>(out);
      });
  out.close();
  auto fail = [&](const std::string& why) {
    std::error_code ec;
    fs::remove(part, ec);
    return Fail("backup failed: " + why);
  };
  if (!res)
    return fail("GET " + origin + path + ": no answer (" + httplib::to_string(res.error()) + ")");
  if (status != 200)
    return fail("the server answered " + std::to_string(status) + " " + error_body);
  if (!out) return fail("cannot write " + part);
  auto files = ArchiveFiles(part);
  if (!files.ok()) return fail(files.status().message());
  std::error_code ec;
  fs::rename(part, options.out, ec);
  if (ec) return fail("cannot rename " + part + " to " + options.out + ": " + ec.message());
  spdlog::info("backup of {} written to {}: {} files, {} bytes", origin, options.out, files->size(),
               received);
  return 0;
}

int Restore(const RestoreOptions& options) {
  if (options.from.empty() || options.data_dir.empty()) {
    return Fail("restore needs --from FILE.tar and --data-dir DIR");
  }
  const fs::path dir(options.data_dir);
  std::error_code ec;
  bool existed = fs::exists(dir, ec);
  if (existed && !fs::is_directory(dir, ec)) {
    return Fail("cannot restore into " + options.data_dir + ": it is not a directory");
  }
  const auto refuse_busy = [&] {
    return Fail("refusing to restore into " + options.data_dir +
                ": it is not empty (restore needs an empty or missing data dir)");
  };
  if (existed && !EmptyButLock(dir)) return refuse_busy();
  std::ifstream in(options.from, std::ios::binary);
  if (!in) return Fail("cannot open " + options.from);
  fs::create_directories(dir, ec);
  if (ec) return Fail("cannot create " + options.data_dir + ": " + ec.message());
  // Held from here to the end, the check of what was unpacked and the clean-up of a failed
  // restore included: a `crew start` on the same dir meanwhile is refused rather than opening a
  // store among the files being unpacked (or having them removed under it).
  auto lock = storage::DataDirLock::Take(options.data_dir);
  if (!lock.ok()) {  // (the dir is another's now: left as it is)
    return Fail("cannot restore into " + options.data_dir + ": " + lock.status().message());
  }
  if (!EmptyButLock(dir)) return refuse_busy();  // (filled between the first look and the lock)

  uint64_t files = 0, bytes = 0;
  Status unpacked = Unpack(in, dir, &files, &bytes);
  Result<int64_t> groups = unpacked;
  if (unpacked.ok()) groups = CheckDataDir(options.data_dir);
  if (!groups.ok()) {
    // Leave the dir as it was found: missing, or empty (but for crew.lock, freed on return).
    if (existed) {
      for (const auto& e : fs::directory_iterator(dir, ec)) {
        if (e.path().filename() != storage::kDataDirLockFile) fs::remove_all(e.path(), ec);
      }
    } else {
      fs::remove_all(dir, ec);
    }
    return Fail("restore from " + options.from + " failed: " + groups.status().message());
  }
  spdlog::info("restored {} files ({} bytes) from {} into {}: {} task groups", files, bytes,
               options.from, options.data_dir, *groups);
  return 0;
}

}  // namespace crew::cli
