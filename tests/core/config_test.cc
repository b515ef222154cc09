#include "core/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace bulwark {
namespace {

TEST(ConfigTest, ReadsTypedFields) {
  auto cfg =
      ParseConfig("server:\n  listen: 127.0.0.1:8080\n  threads: 2\n  tls: false\n", "t.yaml");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().ToString();
  EXPECT_EQ(*(*cfg)["server"]["listen"].String(), "127.0.0.1:8080");
  EXPECT_EQ(*(*cfg)["server"]["threads"].Int(0, 64), 2);
  EXPECT_FALSE(*(*cfg)["server"]["tls"].Bool());
  EXPECT_EQ(*(*cfg)["server"]["missing"].StringOr("x"), "x");
}

TEST(ConfigTest, ErrorsNameFileLineAndField) {
  auto cfg = ParseConfig("server:\n  threads: many\n", "bulwark.yaml");
  ASSERT_TRUE(cfg.has_value());
  auto threads = (*cfg)["server"]["threads"].Int(0, 64);
  ASSERT_FALSE(threads.has_value());
  EXPECT_EQ(threads.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(threads.error().message(),
            "bulwark.yaml:2:12: field 'server.threads': expected an integer");
}

TEST(ConfigTest, RejectsUnknownFields) {
  auto cfg = ParseConfig("server:\n  listne: x\n", "b.yaml");
  ASSERT_TRUE(cfg.has_value());
  Status s = (*cfg)["server"].CheckKeys({"listen", "threads"});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("b.yaml:2:3: field 'server.listne': unknown field"), std::string::npos)
      << s.message();
}

TEST(ConfigTest, RejectsValueOutsideEnum) {
  auto cfg = ParseConfig("store:\n  backend: postgres\n", "b.yaml");
  ASSERT_TRUE(cfg.has_value());
  auto backend = (*cfg)["store"]["backend"].Enum({"sqlite", "memory"});
  ASSERT_FALSE(backend.has_value());
  EXPECT_EQ(backend.error().message(),
            "b.yaml:2:12: field 'store.backend': expected one of: sqlite, memory");
}

TEST(ConfigTest, ReportsSyntaxErrorsWithLocation) {
  auto cfg = ParseConfig("a: [1, 2\n", "bad.yaml");
  ASSERT_FALSE(cfg.has_value());
  EXPECT_EQ(cfg.error().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(cfg.error().message().starts_with("bad.yaml:")) << cfg.error().message();
}

TEST(ConfigTest, ResolvesEnvironmentReferences) {
  setenv("BULWARK_TEST_SECRET", "s3cret", 1);
  auto cfg = ParseConfig("db:\n  password: \"pre-${env:BULWARK_TEST_SECRET}\"\n", "e.yaml");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().ToString();
  EXPECT_EQ(*(*cfg)["db"]["password"].String(), "pre-s3cret");
}

TEST(ConfigTest, UnsetEnvironmentVariableIsAnErrorWithLocation) {
  unsetenv("BULWARK_TEST_UNSET");
  auto cfg = ParseConfig("db:\n  password: ${env:BULWARK_TEST_UNSET}\n", "e.yaml");
  ASSERT_FALSE(cfg.has_value());
  EXPECT_EQ(cfg.error().message(),
            "e.yaml:2:13: field 'db.password': environment variable BULWARK_TEST_UNSET is not set");
}

TEST(ConfigTest, ResolvesFileReferencesRelativeToConfigFile) {
  auto dir = std::filesystem::temp_directory_path() / "bulwark_config_test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "key.txt") << "file-secret\n";
  std::ofstream(dir / "c.yaml") << "k:\n  v: ${file:key.txt}\n  lit: \"$${env:X}\"\n";
  auto cfg = LoadConfigFile((dir / "c.yaml").string());
  ASSERT_TRUE(cfg.has_value()) << cfg.error().ToString();
  EXPECT_EQ(*(*cfg)["k"]["v"].String(), "file-secret");
  EXPECT_EQ(*(*cfg)["k"]["lit"].String(), "${env:X}");
  std::filesystem::remove_all(dir);
}

TEST(ConfigTest, MissingFileReferenceIsAnError) {
  auto cfg = ParseConfig("k: ${file:/nonexistent/bulwark}\n", "m.yaml");
  ASSERT_FALSE(cfg.has_value());
  EXPECT_NE(cfg.error().message().find("field 'k'"), std::string::npos);
}

TEST(ConfigTest, MissingConfigFileIsNotFound) {
  auto cfg = LoadConfigFile("/nonexistent/bulwark.yaml");
  ASSERT_FALSE(cfg.has_value());
  EXPECT_EQ(cfg.error().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace bulwark
