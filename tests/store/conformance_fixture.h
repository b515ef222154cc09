// The store conformance suite runs every test against every backend.
#ifndef BULWARK_TESTS_STORE_CONFORMANCE_FIXTURE_H_
#define BULWARK_TESTS_STORE_CONFORMANCE_FIXTURE_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "core/clock.h"
#include "store/open_store.h"
#include "store_test_util.h"

namespace bulwark::store::testing {

struct BackendParam {
  std::string name;
  StoreOptions::Backend backend;
  bool durable;
};

inline const BackendParam kBackends[] = {
    {"sqlite", StoreOptions::Backend::kSqlite, true},
    {"memory", StoreOptions::Backend::kMemory, false},
};

class StoreConformanceTest : public ::testing::TestWithParam<BackendParam> {
 protected:
  void SetUp() override { store_ = OpenWith(Options()); }

  StoreOptions Options() {
    StoreOptions options;
    options.backend = GetParam().backend;
    options.path = (dir_.path() / "store.db").string();
    options.clock = &clock_;
    options.lease_check_interval = std::chrono::milliseconds(0);
    return options;
  }

  std::unique_ptr<Store> OpenWith(const StoreOptions& options) {
    auto store = OpenStore(options);
    EXPECT_TRUE(store.has_value()) << store.error().ToString();
    return store ? std::move(*store) : nullptr;
  }

  // Closes and opens the store again (durable backends keep their data).
  void Reopen() {
    store_.reset();
    store_ = OpenWith(Options());
  }

  int64_t MustPut(const std::string& key, const std::string& value, int64_t lease = 0) {
    auto put = store_->Put(key, value, {.lease = lease});
    EXPECT_TRUE(put.has_value()) << put.error().ToString();
    return put ? put->revision : 0;
  }

  FakeClock clock_;
  TempDir dir_;
  std::unique_ptr<Store> store_;
};

inline std::string BackendName(const ::testing::TestParamInfo<BackendParam>& info) {
  return info.param.name;
}

}  // namespace bulwark::store::testing

#endif  // BULWARK_TESTS_STORE_CONFORMANCE_FIXTURE_H_
