// What only the sqlite backend promises: one writer per file, owner-only
// files, refusing foreign files untouched, and acknowledged writes that
// survive the process being killed.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "store/open_store.h"
#include "store_test_util.h"

namespace bulwark::store::testing {
namespace {

StoreOptions SqliteAt(const std::filesystem::path& path) {
  return {.backend = StoreOptions::Backend::kSqlite, .path = path.string()};
}

TEST(SqliteStoreTest, SecondOpenOfTheSameFileIsRefused) {
  TempDir dir;
  auto first = OpenStore(SqliteAt(dir.path() / "s.db"));
  ASSERT_TRUE(first.has_value()) << first.error().ToString();
  ASSERT_TRUE((*first)->Put("k", "v").has_value());
  auto second = OpenStore(SqliteAt(dir.path() / "s.db"));
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code(), StatusCode::kUnavailable);
  first->reset();
  auto third = OpenStore(SqliteAt(dir.path() / "s.db"));
  ASSERT_TRUE(third.has_value()) << third.error().ToString();
  EXPECT_EQ((*(*third)->Get("k"))->value, "v");
}

TEST(SqliteStoreTest, FileIsReadableByItsOwnerOnly) {
  TempDir dir;
  auto store = OpenStore(SqliteAt(dir.path() / "s.db"));
  ASSERT_TRUE(store.has_value());
  struct stat st {};
  ASSERT_EQ(::stat((dir.path() / "s.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(SqliteStoreTest, RefusesAForeignFileAndLeavesItUntouched) {
  TempDir dir;
  const auto path = dir.path() / "notes.txt";
  const std::string content(8192, 'x');
  std::ofstream(path) << content;
  auto store = OpenStore(SqliteAt(path));
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), StatusCode::kDataLoss);
  std::stringstream after;
  after << std::ifstream(path).rdbuf();
  EXPECT_EQ(after.str(), content);
}

TEST(SqliteStoreTest, RefusesAnUnwritableLocation) {
  auto store = OpenStore(SqliteAt("/nonexistent-dir/bulwark.db"));
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), StatusCode::kUnavailable);
}

TEST(SqliteStoreTest, AcknowledgedWritesSurviveSigkill) {
  TempDir dir;
  const std::string path = (dir.path() / "crash.db").string();
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::close(out[0]);
    ::close(out[1]);
    ::execl(BULWARK_CRASH_WRITER, BULWARK_CRASH_WRITER, path.c_str(), nullptr);
    ::_exit(127);
  }
  ::close(out[1]);
  FILE* acks = ::fdopen(out[0], "r");
  ASSERT_NE(acks, nullptr);
  long last_ack = -1;
  char line[64];
  while (last_ack < 300 && std::fgets(line, sizeof line, acks) != nullptr) {
    ASSERT_EQ(std::sscanf(line, "ack %ld", &last_ack), 1) << line;
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  // Acks the writer printed before the kill landed are still in the pipe.
  while (std::fgets(line, sizeof line, acks) != nullptr) {
    ASSERT_EQ(std::sscanf(line, "ack %ld", &last_ack), 1) << line;
  }
  std::fclose(acks);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the writer exited early with " << status;
  ASSERT_GE(last_ack, 300);

  auto store = OpenStore(SqliteAt(path));
  ASSERT_TRUE(store.has_value()) << store.error().ToString();
  auto keys = (*store)->Range(KeyRange::Prefix("k/"));
  ASSERT_TRUE(keys.has_value());
  // Every acknowledged write is there; at most the one in flight besides.
  ASSERT_GE(keys->count, last_ack + 1);
  ASSERT_LE(keys->count, last_ack + 2);
  for (long i = 0; i < keys->count; ++i) {
    EXPECT_EQ(keys->kvs[i].value, std::to_string(i));
  }
  // Transactions are all-or-nothing: each k/N with N % 10 == 9 has its pair.
  auto pairs = (*store)->Range(KeyRange::Prefix("pair/"));
  ASSERT_TRUE(pairs.has_value());
  EXPECT_EQ(pairs->count, keys->count / 10);
  // Revisions continue where the killed process stopped.
  EXPECT_EQ((*store)->Revision(), 1 + keys->count);
}

}  // namespace
}  // namespace bulwark::store::testing
