#include "audit/file_audit_sink.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <vector>

#include "audit_test_util.h"

namespace bulwark::audit {
namespace {

using testing::ParseObject;
using testing::ReadFile;
using testing::SampleEvent;
using testing::SplitLines;
using testing::Str;
using testing::TempDir;

std::unique_ptr<FileAuditSink> OpenSink(const std::string& path,
                                        FsyncPolicy fsync = FsyncPolicy::kNone) {
  auto sink = FileAuditSink::Open({.path = path, .fsync = fsync});
  EXPECT_TRUE(sink.has_value()) << sink.error().ToString();
  return sink ? std::move(*sink) : nullptr;
}

std::vector<std::string> RequestIds(const std::string& path) {
  std::vector<std::string> ids;
  for (const std::string& line : SplitLines(ReadFile(path))) {
    ids.push_back(Str(ParseObject(line), "request_id"));
  }
  return ids;
}

using Ids = std::vector<std::string>;

unsigned ModeOf(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

TEST(FileAuditSinkTest, CreatesFileReadableByOwnerOnlyEvenUnderPermissiveUmask) {
  TempDir dir;
  mode_t old_umask = ::umask(0);
  auto sink = OpenSink(dir.File("audit.log"));
  ::umask(old_umask);
  ASSERT_NE(sink, nullptr);
  EXPECT_EQ(ModeOf(dir.File("audit.log")), 0600u);
}

TEST(FileAuditSinkTest, WritesBatchAsJsonLinesInOrder) {
  TempDir dir;
  auto sink = OpenSink(dir.File("audit.log"));
  ASSERT_NE(sink, nullptr);
  std::vector<AuditEvent> batch = {SampleEvent("a"), SampleEvent("b"), SampleEvent("c")};
  ASSERT_TRUE(sink->Write(batch).ok());
  ASSERT_TRUE(sink->Write(std::span<const AuditEvent>()).ok());
  ASSERT_TRUE(sink->Write(std::string_view()).ok());
  ASSERT_TRUE(sink->Write(std::vector{SampleEvent("d")}).ok());
  EXPECT_EQ(RequestIds(dir.File("audit.log")), (Ids{"a", "b", "c", "d"}));
  std::string expected;
  for (const AuditEvent& e : batch) AppendJsonLine(e, expected);
  AppendJsonLine(SampleEvent("d"), expected);
  EXPECT_EQ(ReadFile(dir.File("audit.log")), expected);
}

TEST(FileAuditSinkTest, AppendsToExistingFileAndAcrossReopen) {
  TempDir dir;
  const std::string path = dir.File("audit.log");
  ASSERT_TRUE(OpenSink(path)->Write(std::vector{SampleEvent("first")}).ok());
  auto sink = OpenSink(path);
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(sink->Write(std::vector{SampleEvent("second")}).ok());
  ASSERT_TRUE(sink->Reopen().ok());
  ASSERT_TRUE(sink->Write(std::vector{SampleEvent("third")}).ok());
  EXPECT_EQ(RequestIds(path), (Ids{"first", "second", "third"}));
  EXPECT_EQ(ModeOf(path), 0600u);
}

TEST(FileAuditSinkTest, ReopenAfterRenameWritesToNewFile) {
  TempDir dir;
  const std::string path = dir.File("audit.log");
  const std::string rotated = dir.File("audit.log.1");
  auto sink = OpenSink(path);
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(sink->Write(std::vector{SampleEvent("before")}).ok());
  std::filesystem::rename(path, rotated);
  // Until Reopen, events follow the open file to its new name.
  ASSERT_TRUE(sink->Write(std::vector{SampleEvent("renamed")}).ok());
  ASSERT_TRUE(sink->Reopen().ok());
  ASSERT_TRUE(sink->Write(std::vector{SampleEvent("after")}).ok());
  EXPECT_EQ(RequestIds(rotated), (Ids{"before", "renamed"}));
  EXPECT_EQ(RequestIds(path), (Ids{"after"}));
  EXPECT_EQ(ModeOf(path), 0600u);
}

TEST(FileAuditSinkTest, FailedReopenKeepsWritingToCurrentFile) {
  TempDir dir;
  const std::string path = dir.File("audit.log");
  auto sink = OpenSink(path);
  ASSERT_NE(sink, nullptr);
  std::filesystem::rename(path, dir.File("audit.log.1"));
  std::filesystem::create_directory(path);  // open(O_WRONLY) now fails with EISDIR
  Status reopened = sink->Reopen();
  EXPECT_EQ(reopened.code(), StatusCode::kFailedPrecondition) << reopened.ToString();
  ASSERT_TRUE(sink->Write(std::vector{SampleEvent("kept")}).ok());
  EXPECT_EQ(RequestIds(dir.File("audit.log.1")), (Ids{"kept"}));
}

TEST(FileAuditSinkTest, OpenInMissingDirectoryFailsWithNotFound) {
  TempDir dir;
  auto sink = FileAuditSink::Open({.path = dir.File("missing/audit.log")});
  ASSERT_FALSE(sink.has_value());
  EXPECT_EQ(sink.error().code(), StatusCode::kNotFound);
}

// A FIFO nobody reads would hold the start at open(2) without a word:
// waited for a while, then refused by name. With a reader it is a sink like
// a file.
TEST(FileAuditSinkTest, AFifoWithNoReaderIsWaitedForThenRefused) {
  TempDir dir;
  const std::string path = dir.File("audit.fifo");
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  const auto start = std::chrono::steady_clock::now();
  auto refused =
      FileAuditSink::Open({.path = path, .fifo_reader_wait = std::chrono::milliseconds(300)});
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.error().message().find("no reader"), std::string::npos);

  // A reader that comes while the open waits (a log shipper starting late).
  int reader = -1;
  std::thread late([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    reader = ::open(path.c_str(), O_RDONLY | O_NONBLOCK);
  });
  auto sink = FileAuditSink::Open({.path = path});
  late.join();
  ASSERT_GE(reader, 0);
  ASSERT_TRUE(sink.has_value()) << sink.error().ToString();
  std::string line;
  AppendJsonLine(SampleEvent("fifo-1"), line);
  ASSERT_TRUE((*sink)->Write(line).ok());
  char got[4096];
  const ssize_t n = ::read(reader, got, sizeof got);
  ::close(reader);
  ASSERT_GT(n, 0);
  EXPECT_EQ(Str(ParseObject(std::string(got, static_cast<size_t>(n))), "request_id"), "fifo-1");
}

// A reopen (on SIGHUP) does not wait for a FIFO's reader: the thread that
// asked must stay free to take SIGTERM. It fails at once and the sink keeps
// its file.
TEST(FileAuditSinkTest, AReopenOntoAFifoWithNoReaderFailsAtOnce) {
  TempDir dir;
  const std::string path = dir.File("audit.jsonl");
  auto sink = FileAuditSink::Open({.path = path, .fifo_reader_wait = std::chrono::seconds(10)});
  ASSERT_TRUE(sink.has_value());
  ASSERT_EQ(::rename(path.c_str(), (path + ".1").c_str()), 0);
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  const auto start = std::chrono::steady_clock::now();
  Status reopened = (*sink)->Reopen();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_EQ(reopened.code(), StatusCode::kFailedPrecondition);
  std::string line;
  AppendJsonLine(SampleEvent("kept"), line);
  ASSERT_TRUE((*sink)->Write(line).ok());
  EXPECT_NE(ReadFile(path + ".1").find("kept"), std::string::npos);
}

TEST(FileAuditSinkTest, OpenRejectsEmptyPath) {
  auto sink = FileAuditSink::Open({});
  ASSERT_FALSE(sink.has_value());
  EXPECT_EQ(sink.error().code(), StatusCode::kInvalidArgument);
}

TEST(FileAuditSinkTest, FsyncEveryBatchWritesAndFlushes) {
  TempDir dir;
  auto sink = OpenSink(dir.File("audit.log"), FsyncPolicy::kEveryBatch);
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(sink->Write(std::vector{SampleEvent("a"), SampleEvent("b")}).ok());
  EXPECT_TRUE(sink->Flush().ok());
  EXPECT_EQ(RequestIds(dir.File("audit.log")), (Ids{"a", "b"}));
}

// A file size limit makes write(2) stop inside a line (a short write, then
// EFBIG), the way a full disk would.
TEST(FileAuditSinkTest, TornLineAfterFailedWriteDoesNotSwallowNextEvent) {
  TempDir dir;
  const std::string path = dir.File("audit.log");
  auto sink = OpenSink(path);
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(sink->Write(std::vector{SampleEvent("whole")}).ok());
  const auto size = static_cast<rlim_t>(std::filesystem::file_size(path));

  struct rlimit old_limit;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  struct sigaction ignore = {}, old_action = {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGXFSZ, &ignore, &old_action), 0);
  struct rlimit limit = {size + 40, old_limit.rlim_max};
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);
  Status failed = sink->Write(std::vector{SampleEvent("torn")});
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  ASSERT_EQ(::sigaction(SIGXFSZ, &old_action, nullptr), 0);
  EXPECT_EQ(failed.code(), StatusCode::kResourceExhausted) << failed.ToString();

  ASSERT_TRUE(sink->Write(std::vector{SampleEvent("next")}).ok());
  std::vector<std::string> lines = SplitLines(ReadFile(path));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(Str(ParseObject(lines[0]), "request_id"), "whole");
  EXPECT_EQ(lines[1].size(), 40u);
  EXPECT_TRUE(ParseObject(lines[1]).empty());
  EXPECT_EQ(Str(ParseObject(lines[2]), "request_id"), "next");
}

}  // namespace
}  // namespace bulwark::audit
