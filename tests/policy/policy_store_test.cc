// Policies managed through the store (a real SQLite file): changes are
// checked before they are written, a bad one changes nothing and the last
// snapshot keeps serving, a good one is a new snapshot at once here and, by
// the watch, in a second PolicyStore over the same store (another node).
#include "policy/policy_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "store/open_store.h"

namespace bulwark::policy {
namespace {

namespace cedar = policy::cedar;

constexpr std::string_view kViewers = R"(@id("viewers")
permit (principal in Role::"viewer", action == Action::"view", resource);)";

constexpr std::string_view kEntities = R"([
  {"uid": {"type": "User", "id": "val"}, "attrs": {}, "parents": [{"type": "Role", "id": "viewer"}]},
  {"uid": {"type": "Role", "id": "viewer"}, "attrs": {}, "parents": []}])";

class PolicyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("bulwark-policy-store-" + std::to_string(::getpid()) + ".db");
    std::filesystem::remove(path_);
    auto store = store::OpenStore({.path = path_.string()});
    ASSERT_TRUE(store.has_value()) << store.error().message();
    store_ = std::move(*store);
  }
  void TearDown() override {
    store_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(path_.string() + suffix);
    }
  }

  static bool Allows(const cedar::SnapshotSource& source, std::string_view principal,
                     std::string_view action) {
    const auto snapshot = source.Current();
    const cedar::Request request{
        {"User", std::string(principal)}, {"Action", std::string(action)}, {"Doc", "d"}};
    return snapshot->policies->Authorize(request, *snapshot->entities).allow;
  }

  // Waits (with a deadline) until `condition` holds.
  template <typename F>
  static bool Eventually(F condition) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      if (condition()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return condition();
  }

  std::filesystem::path path_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(PolicyStoreTest, SeedsAnEmptyStoreAndOnlyAnEmptyOne) {
  PolicyDocuments seed;
  seed.policies["main"] = std::string(kViewers);
  seed.entities = std::string(kEntities);
  {
    auto ps = PolicyStore::Open(*store_, seed);
    ASSERT_TRUE(ps.has_value()) << ps.error().message();
    EXPECT_TRUE(Allows(**ps, "val", "view"));
    ASSERT_TRUE((*ps)->DeletePolicies("main").has_value());
    EXPECT_FALSE(Allows(**ps, "val", "view"));
  }
  // The store is no longer empty: the seed does not come back.
  auto again = PolicyStore::Open(*store_, seed);
  ASSERT_TRUE(again.has_value());
  EXPECT_FALSE(Allows(**again, "val", "view"));
  EXPECT_TRUE((*again)->Read()->policies.empty());
}

TEST_F(PolicyStoreTest, ChangesAreNewSnapshotsHereAndOnOtherNodes) {
  auto here = PolicyStore::Open(*store_, std::nullopt);
  ASSERT_TRUE(here.has_value()) << here.error().message();
  auto there = PolicyStore::Open(*store_, std::nullopt);  // another node, same store
  ASSERT_TRUE(there.has_value());
  const auto before = (*here)->Current();

  ASSERT_TRUE((*here)->PutEntities(kEntities).has_value());
  auto revision = (*here)->PutPolicies("viewers", kViewers);
  ASSERT_TRUE(revision.has_value()) << revision.error().message();
  EXPECT_EQ((*here)->revision(), *revision);
  EXPECT_TRUE(Allows(**here, "val", "view"));  // read-your-writes
  EXPECT_TRUE(Eventually([&] { return Allows(**there, "val", "view"); }));
  // A decision that began on the old snapshot still has it.
  EXPECT_EQ(before->policies->size(), 0u);

  ASSERT_TRUE((*there)->DeletePolicies("viewers").has_value());
  EXPECT_TRUE(Eventually([&] { return !Allows(**here, "val", "view"); }));
}

TEST_F(PolicyStoreTest, BadChangesAreRefusedAndChangeNothing) {
  auto ps = PolicyStore::Open(*store_, std::nullopt);
  ASSERT_TRUE(ps.has_value());
  ASSERT_TRUE((*ps)->PutEntities(kEntities).has_value());
  ASSERT_TRUE((*ps)->PutPolicies("viewers", kViewers).has_value());
  const int64_t revision = store_->Revision();

  struct Case {
    std::function<Result<int64_t>()> change;
    std::string_view error;
  };
  const Case cases[] = {
      {[&] {
         return (*ps)->PutPolicies("broken", "permit (principal, action, resource)\nwhen { 1 + };");
       },
       "policies/broken:2:"},
      {[&] { return (*ps)->PutPolicies("dup", kViewers); }, "policy id viewers is also in"},
      {[&] { return (*ps)->PutPolicies("../etc", kViewers); }, "document name"},
      {[&] { return (*ps)->PutEntities("[{\"uid\": 1}]"); }, "entities:"},
      {[&] { return (*ps)->PutSchema("entity User;"); }, "policies: "},  // Role undeclared
      {[&] { return (*ps)->PutSchema("entity ;"); }, "schema:"},
      {[&] { return (*ps)->DeletePolicies("nope"); }, "no policy document nope"},
  };
  for (const Case& c : cases) {
    Result<int64_t> result = c.change();
    ASSERT_FALSE(result.has_value()) << c.error;
    EXPECT_NE(result.error().message().find(c.error), std::string::npos)
        << result.error().message();
  }
  EXPECT_EQ(store_->Revision(), revision);   // nothing written
  EXPECT_TRUE(Allows(**ps, "val", "view"));  // the last good snapshot serves
}

TEST_F(PolicyStoreTest, ASchemaGuardsLaterChanges) {
  auto ps = PolicyStore::Open(*store_, std::nullopt);
  ASSERT_TRUE(ps.has_value());
  ASSERT_TRUE((*ps)->PutEntities(kEntities).has_value());
  ASSERT_TRUE((*ps)
                  ->PutSchema("entity Role; entity User in [Role]; entity Doc;\n"
                              "action view appliesTo { principal: User, resource: Doc };")
                  .has_value());
  ASSERT_TRUE((*ps)->PutPolicies("viewers", kViewers).has_value());
  ASSERT_NE((*ps)->Current()->schema, nullptr);
  // A policy that reads an attribute the schema does not declare is refused.
  auto bad = (*ps)->PutPolicies(
      "extra", "permit (principal, action, resource) when { principal.level > 2 };");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("attribute `level` on entity type `User` not found"),
            std::string::npos)
      << bad.error().message();
  ASSERT_TRUE((*ps)->DeleteSchema().has_value());
  EXPECT_EQ((*ps)->Current()->schema, nullptr);
}

}  // namespace
}  // namespace bulwark::policy
