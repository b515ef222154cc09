// Reading the files a config names; a secret's file is read whole, into the
// one buffer returned, and only when it is a regular file.
#include "core/file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace bulwark {
namespace {

class FileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("bulwark-file-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(FileTest, ReadsAWholeFile) {
  const std::string text = "{\"kty\":\"OKP\",\"d\":\"secret\"}\n" + std::string(70'000, 'x');
  const std::string path = Write("key.jwk", text);
  EXPECT_EQ(ReadFileToString(path).value_or(""), text);
  EXPECT_EQ(ReadSecretFile(path).value_or(""), text);
  EXPECT_EQ(ReadSecretFile(Write("empty", "")).value_or("x"), "");
}

TEST_F(FileTest, ASecretFileMustBeAReadableRegularFileOfAtMostOneMebibyte) {
  Result<std::string> missing = ReadSecretFile((dir_ / "missing").string());
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), StatusCode::kNotFound);
  EXPECT_FALSE(ReadSecretFile(dir_.string()).has_value());  // a directory
  EXPECT_FALSE(ReadSecretFile(Write("big", std::string((1 << 20) + 1, 'x'))).has_value());
  EXPECT_TRUE(ReadSecretFile(Write("max", std::string(1 << 20, 'x'))).has_value());
}

}  // namespace
}  // namespace bulwark
