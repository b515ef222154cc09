// API keys over a real store (memory and SQLite): creation, verification,
// revocation and expiry reaching the index through the store watch, and the
// attacks: wrong secret, a secret moved to another id, malformed keys.
#include "identity/api_keys.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "store/open_store.h"

namespace bulwark::identity {
namespace {

namespace fs = std::filesystem;

class ApiKeysTest : public ::testing::TestWithParam<store::StoreOptions::Backend> {
 protected:
  void SetUp() override {
    path_ =
        (fs::temp_directory_path() / ("bulwark-apikeys-" + std::to_string(::getpid()) + "-" +
                                      std::to_string(reinterpret_cast<uintptr_t>(this)) + ".db"))
            .string();
    Open();
  }
  void TearDown() override {
    index_.reset();
    service_.reset();
    store_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(path_ + suffix);
  }
  void Open() {
    store::StoreOptions options{.backend = GetParam(), .path = path_, .clock = &clock_};
    store_ = std::move(*store::OpenStore(options));
    service_ = std::make_unique<ApiKeyService>(*store_, clock_);
    index_ = std::move(*ApiKeyIndex::Create(*store_, clock_));
  }
  void Reopen() {
    index_.reset();
    service_.reset();
    store_.reset();
    Open();
  }

  ApiKeySpec Spec() {
    return {.name = "ci deploys", .subject = "ci-bot", .scopes = {"deploy"}, .roles = {"ops"}};
  }

  std::string Create(const ApiKeySpec& spec) {
    auto created = service_->Create(spec);
    EXPECT_TRUE(created.has_value()) << created.error().ToString();
    return std::string(created->second.ExposeSecretAsString());
  }

  // The index learns of writes through the store watch; wait for it.
  template <typename Pred>
  bool Eventually(Pred pred) {
    for (int i = 0; i < 500; ++i) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return pred();
  }

  FakeClock clock_{1'800'000'000};
  std::string path_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ApiKeyService> service_;
  std::unique_ptr<ApiKeyIndex> index_;
};

TEST_P(ApiKeysTest, CreatedKeyVerifiesAsItsSubject) {
  const std::string key = Create(Spec());
  EXPECT_TRUE(key.starts_with("bwk_"));
  EXPECT_EQ(key.size(), 4u + 16 + 1 + 43);
  EXPECT_TRUE(LooksLikeApiKey(key));
  ASSERT_TRUE(Eventually([&] { return index_->Verify(key).has_value(); }));
  Result<ApiKey> verified = index_->Verify(key);
  EXPECT_EQ(verified->subject, "ci-bot");
  EXPECT_EQ(verified->scopes, std::vector<std::string>{"deploy"});
  EXPECT_EQ(verified->roles, std::vector<std::string>{"ops"});
  EXPECT_EQ(verified->id, key.substr(4, 16));
}

TEST_P(ApiKeysTest, StoreNeverHoldsTheKeyOrItsSecret) {
  const std::string key = Create(Spec());
  const std::string secret = key.substr(4 + 16 + 1);
  auto all = store_->Range(store::KeyRange::Prefix(""));
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->kvs.size(), 1u);
  EXPECT_EQ(all->kvs[0].value.find(secret), std::string::npos);
  EXPECT_NE(all->kvs[0].value.find("\"hash\":\"sha256:"), std::string::npos);
  if (GetParam() == store::StoreOptions::Backend::kSqlite) {
    store_.reset();  // the file on disk, WAL included
    for (const char* suffix : {"", "-wal"}) {
      std::ifstream in(path_ + suffix, std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      EXPECT_EQ(bytes.find(secret), std::string::npos) << suffix;
    }
    Open();
  }
}

TEST_P(ApiKeysTest, RefusesWrongSecretsAndMalformedKeys) {
  const std::string key = Create(Spec());
  ASSERT_TRUE(Eventually([&] { return index_->Verify(key).has_value(); }));
  std::string flipped = key;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(index_->Verify(flipped).error().message(), "unknown api key");

  // The secret of one key under the id of another.
  const std::string other = Create(Spec());
  ASSERT_TRUE(Eventually([&] { return index_->Verify(other).has_value(); }));
  const std::string moved = other.substr(0, 4 + 16 + 1) + key.substr(4 + 16 + 1);
  EXPECT_EQ(index_->Verify(moved).error().code(), StatusCode::kUnauthenticated);

  for (std::string bad :
       {std::string(""), std::string("bwk_"), key.substr(0, key.size() - 1), key + "A",
        "xyz_" + key.substr(4), key.substr(0, 4) + "ABCDEF0123456789" + key.substr(20)}) {
    Result<ApiKey> r = index_->Verify(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), StatusCode::kUnauthenticated) << bad;
  }
}

TEST_P(ApiKeysTest, RevocationReachesTheIndex) {
  const std::string key = Create(Spec());
  ASSERT_TRUE(Eventually([&] { return index_->Verify(key).has_value(); }));
  const std::string id = key.substr(4, 16);
  EXPECT_TRUE(index_->Stands(id));
  Result<ApiKey> revoked = service_->Revoke(id);
  ASSERT_TRUE(revoked.has_value());
  ASSERT_TRUE(revoked->revoked_at.has_value());
  ASSERT_TRUE(Eventually([&] { return !index_->Verify(key).has_value(); }));
  EXPECT_EQ(index_->Verify(key).error().message(), "api key revoked");
  // A tunnel opened on it asks by its id (ApiKeyIndex::Stands).
  EXPECT_FALSE(index_->Stands(id));
  EXPECT_FALSE(index_->Stands("0123456789abcdef"));  // unknown, or deleted
  // Revoking again keeps the first time; the record stays listed.
  clock_.Advance(std::chrono::seconds(10));
  EXPECT_EQ(service_->Revoke(id)->revoked_at, revoked->revoked_at);
  EXPECT_EQ(service_->List()->size(), 1u);
  EXPECT_EQ(service_->Revoke("0123456789abcdef").error().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->Revoke("../../x").error().code(), StatusCode::kNotFound);
}

// A record whose revocation or expiry another writer stored in another
// form (a float, a date) is unreadable, and its key refused: read as "none",
// a revoked key would stand again.
TEST_P(ApiKeysTest, ARevocationInAnotherFormRefusesTheKey) {
  for (const char* field : {"revoked_at", "expires_at"}) {
    for (const char* value : {"1717000000.0", "\"2024-05-29T00:00:00Z\"", "true"}) {
      const std::string key = Create(Spec());
      ASSERT_TRUE(Eventually([&] { return index_->Verify(key).has_value(); }));
      const std::string store_key = std::string(kApiKeyStorePrefix) + key.substr(4, 16);
      auto stored = store_->Get(store_key);
      ASSERT_TRUE(stored.has_value() && stored->has_value()) << store_key;
      std::string record = (*stored)->value;
      ASSERT_EQ(record.back(), '}');
      record.insert(record.size() - 1, std::string(",\"") + field + "\":" + value);
      ASSERT_TRUE(store_->Put(store_key, record).has_value());
      EXPECT_TRUE(Eventually([&] { return !index_->Verify(key).has_value(); }))
          << field << " " << value;
      // And so after a reload from the store.
      Reopen();
      EXPECT_FALSE(index_->Verify(key).has_value()) << field << " " << value;
    }
  }
}

TEST_P(ApiKeysTest, IndexThatFellBehindCompactionRefusesThenReloads) {
  const std::string kept = Create(Spec());
  const std::string doomed = Create(Spec());
  ASSERT_TRUE(Eventually([&] { return index_->Verify(doomed).has_value(); }));
  // A second watcher that stalls the store's notifier on its first event, so
  // the index's watch falls behind while the history it needs is compacted.
  std::mutex mu;
  std::condition_variable cv;
  bool stalled = false;
  bool release = false;
  auto staller = store_->StartWatch({.range = store::KeyRange::Prefix("stall/")},
                                    {.on_events =
                                         [&](std::span<const store::Event>) {
                                           std::unique_lock lock(mu);
                                           stalled = true;
                                           cv.notify_all();
                                           cv.wait(lock, [&] { return release; });
                                         },
                                     .on_error = nullptr});
  ASSERT_TRUE(staller.has_value());
  ASSERT_TRUE(store_->Put("stall/x", "1").has_value());
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return stalled; }));
  }
  // Meanwhile: one key revoked, one created, and their history compacted.
  ASSERT_TRUE(service_->Revoke(doomed.substr(4, 16)).has_value());
  const std::string fresh = Create(Spec());
  ASSERT_TRUE(store_->Compact(store_->Revision()).has_value());
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  // The watch fails; the index closes, reloads and serves the truth.
  ASSERT_TRUE(Eventually([&] {
    auto v = index_->Verify(fresh);
    return v.has_value();
  })) << "the index did not reload after its watch failed";
  EXPECT_TRUE(index_->Verify(kept).has_value());
  EXPECT_EQ(index_->Verify(doomed).error().message(), "api key revoked");
  // And it watches again.
  ASSERT_TRUE(service_->Revoke(kept.substr(4, 16)).has_value());
  EXPECT_TRUE(Eventually([&] { return !index_->Verify(kept).has_value(); }));
  staller->reset();
}

TEST_P(ApiKeysTest, ExpiresAtItsTtl) {
  ApiKeySpec spec = Spec();
  spec.ttl = std::chrono::seconds(3600);
  const std::string key = Create(spec);
  ASSERT_TRUE(Eventually([&] { return index_->Verify(key).has_value(); }));
  clock_.Advance(std::chrono::seconds(3599));
  EXPECT_TRUE(index_->Verify(key).has_value());
  EXPECT_TRUE(index_->Stands(key.substr(4, 16)));
  clock_.Advance(std::chrono::seconds(1));
  EXPECT_EQ(index_->Verify(key).error().message(), "api key expired");
  EXPECT_FALSE(index_->Stands(key.substr(4, 16)));
}

// While the index has lost its store watch, a tunnel opened on a key
// stands (a revocation would go unseen, and cutting every tunnel for the
// store's outage would be worse), but not past the key's expiry, which the
// index holds.
TEST_P(ApiKeysTest, AKeyExpiresWhileTheWatchIsLost) {
  ApiKeySpec spec = Spec();
  spec.ttl = std::chrono::seconds(3600);
  const std::string expiring = Create(spec);
  const std::string lasting = Create(Spec());
  ASSERT_TRUE(Eventually(
      [&] { return index_->Verify(expiring).has_value() && index_->Verify(lasting).has_value(); }));
  index_->MarkWatchLostForTesting();
  EXPECT_EQ(index_->Verify(lasting).error().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(index_->Stands(expiring.substr(4, 16)));
  clock_.Advance(std::chrono::seconds(3600));
  EXPECT_FALSE(index_->Stands(expiring.substr(4, 16)));
  EXPECT_TRUE(index_->Stands(lasting.substr(4, 16)));
}

// Only durable backends have something to reopen.
class DurableApiKeysTest : public ApiKeysTest {};

TEST_P(DurableApiKeysTest, KeysSurviveAReopen) {
  const std::string key = Create(Spec());
  Reopen();
  Result<ApiKey> verified = index_->Verify(key);  // loaded at start, no watch needed
  EXPECT_TRUE(verified.has_value()) << verified.error().ToString();
}

TEST_P(ApiKeysTest, ValidatesSpecs) {
  EXPECT_TRUE(ValidateApiKeySpec(Spec()).ok());
  auto bad = [&](auto mutate) {
    ApiKeySpec spec = Spec();
    mutate(spec);
    return ValidateApiKeySpec(spec).code() == StatusCode::kInvalidArgument &&
           !service_->Create(spec).has_value();
  };
  EXPECT_TRUE(bad([](ApiKeySpec& s) { s.name.clear(); }));
  EXPECT_TRUE(bad([](ApiKeySpec& s) { s.subject = "a\nb"; }));
  EXPECT_TRUE(bad([](ApiKeySpec& s) { s.subject = " alice"; }));
  EXPECT_TRUE(bad([](ApiKeySpec& s) { s.subject = "alice "; }));
  EXPECT_TRUE(bad([](ApiKeySpec& s) { s.scopes = {"has space"}; }));
  EXPECT_TRUE(bad([](ApiKeySpec& s) { s.roles = {""}; }));
  EXPECT_TRUE(bad([](ApiKeySpec& s) { s.ttl = std::chrono::seconds(5); }));
  // C1 controls are control characters too (U+0085, U+009B in UTF-8).
  EXPECT_TRUE(bad([](ApiKeySpec& s) {
    s.subject =
        "ali\xc2\x85"
        "ce";
  }));
  EXPECT_TRUE(bad([](ApiKeySpec& s) { s.name = "key\xc2\x9b"; }));
  // Lengths count characters, not bytes.
  EXPECT_TRUE(bad([](ApiKeySpec& s) { s.name = std::string(129, 'n'); }));
  EXPECT_TRUE(bad([](ApiKeySpec& s) {
    s.subject.clear();
    for (int i = 0; i < 257; ++i) s.subject += "\xc3\xbc";  // 257 characters of "ü"
  }));
  EXPECT_EQ(service_->List()->size(), 0u);  // nothing half-created
  ApiKeySpec wide = Spec();
  wide.name.clear();
  for (int i = 0; i < 128; ++i) wide.name += "\xc3\xa9";  // 128 characters of "é", 256 bytes
  wide.subject.clear();
  for (int i = 0; i < 256; ++i) wide.subject += "\xc3\xbc";  // 256 characters, 512 bytes
  EXPECT_TRUE(ValidateApiKeySpec(wide).ok()) << ValidateApiKeySpec(wide).message();
  wide.name += "\xc2\xa0";  // U+00A0 (no control) as the 129th character
  EXPECT_FALSE(ValidateApiKeySpec(wide).ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, ApiKeysTest,
                         ::testing::Values(store::StoreOptions::Backend::kMemory,
                                           store::StoreOptions::Backend::kSqlite),
                         [](const auto& info) {
                           return info.param == store::StoreOptions::Backend::kMemory ? "memory"
                                                                                      : "sqlite";
                         });

INSTANTIATE_TEST_SUITE_P(Durable, DurableApiKeysTest,
                         ::testing::Values(store::StoreOptions::Backend::kSqlite),
                         [](const auto&) { return std::string("sqlite"); });

}  // namespace
}  // namespace bulwark::identity
