#include "audit/file_audit_sink.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <system_error>
#include <thread>
#include <utility>

#include "core/log.h"

namespace bulwark::audit {
namespace {

constexpr size_t kMaxRetainedBuffer = size_t{4} << 20;

Status ErrnoStatus(int err, const std::string& path, std::string_view op) {
  std::string message = "audit file " + path + ": " + std::string(op) + ": " +
                        std::error_code(err, std::generic_category()).message();
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return NotFoundError(std::move(message));
    case EACCES:
    case EPERM:
    case EROFS:
      return PermissionDeniedError(std::move(message));
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
      return ResourceExhaustedError(std::move(message));
    case EISDIR:
      return FailedPreconditionError(std::move(message));
    default:
      return InternalError(std::move(message));
  }
}

Result<int> OpenForAppend(const std::string& path, std::chrono::milliseconds fifo_reader_wait) {
  // Opened without waiting, so that a FIFO nobody reads yet (a log
  // shipper that starts after Bulwark) is waited for a while, said in the
  // log, and then refused by name, rather than holding the start in open(2)
  // without a word. Writes then block as usual.
  struct stat at_path;
  const bool fifo = ::stat(path.c_str(), &at_path) == 0 && S_ISFIFO(at_path.st_mode);
  const auto give_up = std::chrono::steady_clock::now() + fifo_reader_wait;
  bool said = false;
  int fd;
  for (;;) {
    fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0600);
    if (fd >= 0 || errno != ENXIO || !fifo) break;
    if (std::chrono::steady_clock::now() >= give_up) {
      return Err(FailedPreconditionError(path + ": a FIFO with no reader"));
    }
    if (!said) log::Info("audit.fifo_waiting_for_reader", {{"path", path}});
    said = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (fd < 0) return Err(ErrnoStatus(errno, path, "open"));
  if (const int flags = ::fcntl(fd, F_GETFL);
      flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    const int error = errno;
    ::close(fd);
    return Err(ErrnoStatus(error, path, "fcntl"));
  }
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0) {
    log::Warn("audit.file_mode_too_open",
              {{"path", path}, {"mode", static_cast<uint32_t>(st.st_mode & 0777)}});
  }
  return fd;
}

// fdatasync; a pipe or terminal (say /dev/stdout in a container) has nothing
// to sync and reports EINVAL, which is not a failure here.
Status Sync(int fd, const std::string& path) {
  while (::fdatasync(fd) != 0) {
    if (errno == EINTR) continue;
    if (errno == EINVAL) return OkStatus();
    return ErrnoStatus(errno, path, "fdatasync");
  }
  return OkStatus();
}

bool SameFile(int a, int b) {
  struct stat sa, sb;
  return ::fstat(a, &sa) == 0 && ::fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

}  // namespace

Result<std::unique_ptr<FileAuditSink>> FileAuditSink::Open(FileAuditSinkOptions options) {
  if (options.path.empty()) return Err(InvalidArgumentError("audit file path is empty"));
  BULWARK_ASSIGN_OR_RETURN(int fd, OpenForAppend(options.path, options.fifo_reader_wait));
  return std::unique_ptr<FileAuditSink>(new FileAuditSink(std::move(options), fd));
}

FileAuditSink::~FileAuditSink() { ::close(fd_); }

Status FileAuditSink::Write(std::span<const AuditEvent> events) {
  std::string lines;
  for (const AuditEvent& event : events) AppendJsonLine(event, lines);
  return Write(lines);
}

Status FileAuditSink::Write(std::string_view lines) {
  std::lock_guard lock(mu_);
  if (lines.empty()) return OkStatus();
  if (torn_) {
    // The line a failed write tore stays alone: the batch starts on a new one.
    buffer_.clear();
    buffer_.reserve(lines.size() + 1);
    buffer_.append("\n").append(lines);
    lines = buffer_;
  }

  size_t done = 0;
  Status status;
  while (done < lines.size()) {
    ssize_t n = ::write(fd_, lines.data() + done, lines.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      status = ErrnoStatus(errno, options_.path, "write");
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (done > 0) torn_ = lines[done - 1] != '\n';
  if (buffer_.capacity() > kMaxRetainedBuffer) std::string().swap(buffer_);
  if (!status.ok()) return status;
  if (options_.fsync == FsyncPolicy::kEveryBatch) return Sync(fd_, options_.path);
  return OkStatus();
}

Status FileAuditSink::Flush() {
  std::lock_guard lock(mu_);
  return Sync(fd_, options_.path);
}

Status FileAuditSink::Reopen() {
  BULWARK_ASSIGN_OR_RETURN(int fd, OpenForAppend(options_.path, std::chrono::milliseconds(0)));
  int old;
  {
    std::lock_guard lock(mu_);
    old = std::exchange(fd_, fd);
    // A torn line stays in the old file; only reopening the same file keeps it.
    if (!SameFile(old, fd)) torn_ = false;
  }
  ::close(old);
  return OkStatus();
}

}  // namespace bulwark::audit
