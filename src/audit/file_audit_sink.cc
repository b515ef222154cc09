#include "audit/file_audit_sink.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <system_error>
#include <thread>
#include <utility>

#include "core/log.h"

namespace bulwark::audit {
namespace {

// The pieces kept between batches: a batch of more lines reallocates them.
constexpr size_t kMaxRetainedPieces = 4096;

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

Status FileAuditSink::Write(std::string_view lines) { return WriteLines({&lines, 1}); }

Status FileAuditSink::WriteLines(std::span<const std::string_view> lines) {
  std::lock_guard lock(mu_);
  pieces_.clear();
  // The line a failed write tore stays alone: the batch starts on a new one.
  static constexpr char kNewLine = '\n';
  if (torn_) pieces_.push_back({const_cast<char*>(&kNewLine), 1});
  for (const std::string_view line : lines) {
    if (!line.empty()) pieces_.push_back({const_cast<char*>(line.data()), line.size()});
  }
  if (pieces_.size() == (torn_ ? 1u : 0u)) return OkStatus();

  size_t first = 0;  // the first piece not yet written whole
  char last = '\n';  // the last byte written
  Status status;
  while (first < pieces_.size()) {
    const int count = static_cast<int>(std::min<size_t>(pieces_.size() - first, IOV_MAX));
    const ssize_t n = ::writev(fd_, &pieces_[first], count);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      status = ErrnoStatus(n < 0 ? errno : EIO, options_.path, "write");
      break;
    }
    // Past what went: whole pieces, then into the one it stopped in.
    for (auto left = static_cast<size_t>(n); left > 0;) {
      iovec& piece = pieces_[first];
      const size_t taken = std::min(left, piece.iov_len);
      piece.iov_base = static_cast<char*>(piece.iov_base) + taken;
      piece.iov_len -= taken;
      left -= taken;
      last = static_cast<const char*>(piece.iov_base)[-1];
      if (piece.iov_len == 0) ++first;
    }
    torn_ = last != '\n';
  }
  if (pieces_.capacity() > kMaxRetainedPieces) std::vector<iovec>().swap(pieces_);
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
