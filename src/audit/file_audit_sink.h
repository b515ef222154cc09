// FileAuditSink: audit events appended to a local JSON-lines file.
#ifndef BULWARK_AUDIT_FILE_AUDIT_SINK_H_
#define BULWARK_AUDIT_FILE_AUDIT_SINK_H_

#include <chrono>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <utility>

#include "audit/audit_event.h"
#include "audit/audit_sink.h"
#include "core/status.h"

namespace bulwark::audit {

enum class FsyncPolicy {
  kNone,        // leave write-back to the kernel; Flush() still fdatasyncs
  kEveryBatch,  // fdatasync after every Write: an event reported written survives a crash
};

struct FileAuditSinkOptions {
  std::string path;
  FsyncPolicy fsync = FsyncPolicy::kNone;
  // A FIFO with no reader at `path` is waited for this long (a log shipper
  // that starts after Bulwark), then refused (kFailedPrecondition).
  std::chrono::milliseconds fifo_reader_wait{10'000};
};

// Appends each event as one line (AppendJsonLine) to a file opened with
// O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC and mode 0600: a new file is readable by
// its owner only; an existing file is appended to, never truncated, and keeps
// its mode (a warning is logged if group or others may access it).
//
// Each Write hands the whole batch, already one buffer of lines, to a
// single write(2); only a short write (disk full, a signal) continues with
// the remainder. If a write fails part-way through a line, the next Write
// starts with "\n", so the torn line stays alone and later events parse.
// Meant to be the only writer of its file.
//
// Write, Flush and Reopen are thread-safe (one internal mutex, never held by
// the request path: only the AuditQueue writer thread and the caller of
// Reopen take it).
class FileAuditSink final : public AuditSink {
 public:
  // Opens (creating if needed) options.path. kInvalidArgument for an empty
  // path; kNotFound, kPermissionDenied, ... from open(2) otherwise.
  static Result<std::unique_ptr<FileAuditSink>> Open(FileAuditSinkOptions options);

  ~FileAuditSink() override;
  FileAuditSink(const FileAuditSink&) = delete;
  FileAuditSink& operator=(const FileAuditSink&) = delete;

  // kResourceExhausted when the disk or quota is full, kInternal for other
  // write(2) or fdatasync(2) failures.
  Status Write(std::string_view lines) override;
  // Serializes `events` and writes them as one batch.
  Status Write(std::span<const AuditEvent> events);
  // fdatasync(2) whatever the policy.
  Status Flush() override;

  // Opens the path again and switches to the new file, for log rotation:
  // after `mv audit.log audit.log.1`, Reopen() creates a fresh audit.log and
  // later events go there. Call it from the thread that handles SIGHUP (for
  // example an asio::signal_set handler), not from the signal handler itself.
  // If the open fails, the error is returned and the sink keeps writing to
  // the file it had. A FIFO with no reader fails at once, not after
  // fifo_reader_wait: the caller (the thread that takes signals) must stay
  // free to take SIGTERM.
  Status Reopen();

  const std::string& path() const { return options_.path; }

 private:
  FileAuditSink(FileAuditSinkOptions options, int fd) : options_(std::move(options)), fd_(fd) {}

  const FileAuditSinkOptions options_;
  std::mutex mu_;
  int fd_;              // guarded by mu_
  std::string buffer_;  // guarded by mu_; reused between batches
  bool torn_ = false;   // guarded by mu_; the file ends inside a line
};

}  // namespace bulwark::audit

#endif  // BULWARK_AUDIT_FILE_AUDIT_SINK_H_
