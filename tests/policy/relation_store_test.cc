// Tuples in the store (a real SQLite file): writes are transactions that
// return consistency tokens; a check made with a token sees the write (and a
// revocation) at once, here and on a second RelationStore over the same
// store (another node); bad writes change nothing; a restart reloads
// everything from the file.
#include "policy/relation_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "store/open_store.h"

namespace bulwark::policy {
namespace {

using fga::ParseObject;
using fga::ParseUser;
using fga::TupleKey;

constexpr std::string_view kModel = R"(model
  schema 1.1
type user
type group
  relations
    define member: [user, group#member]
type document
  relations
    define viewer: [user, group#member, user with from_office]
condition from_office(ip: ipaddress) {
  ip.in_cidr("10.0.0.0/8")
}
)";

TupleKey T(std::string_view object, std::string_view relation, std::string_view user) {
  return {*ParseObject(object), std::string(relation), *ParseUser(user), "", nullptr};
}

class RelationStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("bulwark-relation-store-" + std::to_string(::getpid()) + ".db");
    Remove();
    Reopen();
  }
  void TearDown() override {
    relations_.reset();
    store_.reset();
    Remove();
  }
  void Remove() {
    for (const char* suffix : {"", "-wal", "-shm"})
      std::filesystem::remove(path_.string() + suffix);
  }
  void Reopen() {
    relations_.reset();
    store_.reset();
    auto store = store::OpenStore({.path = path_.string()});
    ASSERT_TRUE(store.has_value()) << store.error().message();
    store_ = std::move(*store);
    auto rs = RelationStore::Open(*store_, std::string(kModel));
    ASSERT_TRUE(rs.has_value()) << rs.error().message();
    relations_ = std::move(*rs);
  }
  static bool Allowed(const RelationStore& rs, std::string_view user, std::string_view object,
                      int64_t token, cel::Activation context = {}) {
    auto r =
        rs.Check({*ParseObject(object), "viewer", *ParseUser(user), {}, std::move(context)}, token);
    EXPECT_TRUE(r.has_value()) << r.error().message();
    return r.has_value() && r->allowed;
  }

  std::filesystem::path path_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<RelationStore> relations_;
};

TEST_F(RelationStoreTest, WritesReturnTokensThatReadsHonourOnEveryNode) {
  auto other = RelationStore::Open(*store_, std::nullopt,  // a second node
                                   {.consistency_wait = std::chrono::milliseconds(200)});
  ASSERT_TRUE(other.has_value()) << other.error().message();
  const TupleKey grants[] = {T("group:eng", "member", "user:anne"),
                             T("document:plan", "viewer", "group:eng#member")};
  auto token = relations_->Write(grants, {});
  ASSERT_TRUE(token.has_value()) << token.error().message();
  EXPECT_TRUE(Allowed(*relations_, "user:anne", "document:plan", *token));
  EXPECT_TRUE(Allowed(**other, "user:anne", "document:plan", *token));

  // Revoke: a check with the new token never sees the old grant.
  const TupleKey revoke[] = {T("group:eng", "member", "user:anne")};
  auto token2 = relations_->Write({}, revoke);
  ASSERT_TRUE(token2.has_value());
  EXPECT_GT(*token2, *token);
  EXPECT_FALSE(Allowed(**other, "user:anne", "document:plan", *token2));
  EXPECT_FALSE(Allowed(*relations_, "user:anne", "document:plan", *token2));
  EXPECT_EQ((*other)->revision(), relations_->revision());

  // A token from the future cannot be met: unavailable, not a stale answer.
  auto r = (*other)->Check(
      {*ParseObject("document:plan"), "viewer", *ParseUser("user:anne"), {}, {}}, *token2 + 1000);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kUnavailable);
}

TEST_F(RelationStoreTest, BadWritesChangeNothing) {
  const TupleKey first[] = {T("document:a", "viewer", "user:bob")};
  ASSERT_TRUE(relations_->Write(first, {}).has_value());
  const int64_t before = store_->Revision();
  // An existing tuple, in a batch with a good one: nothing is written.
  const TupleKey again[] = {T("document:b", "viewer", "user:bob"),
                            T("document:a", "viewer", "user:bob")};
  auto r = relations_->Write(again, {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kAlreadyExists);
  // A relation the model does not define; a user type it does not allow.
  const TupleKey undefined[] = {T("document:a", "owner", "user:bob")};
  r = relations_->Write(undefined, {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find("no relation `owner`"), std::string::npos);
  const TupleKey wrong_type[] = {T("document:a", "viewer", "group:eng")};
  EXPECT_FALSE(relations_->Write(wrong_type, {}).has_value());
  // Deleting what is not there.
  const TupleKey missing[] = {T("document:zzz", "viewer", "user:bob")};
  r = relations_->Write({}, missing);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kNotFound);
  // Too many at once.
  std::vector<TupleKey> many;
  for (size_t i = 0; i <= kMaxTuplesPerWrite; ++i) {
    many.push_back(T("document:m" + std::to_string(i), "viewer", "user:bob"));
  }
  EXPECT_FALSE(relations_->Write(many, {}).has_value());
  EXPECT_EQ(store_->Revision(), before);
  EXPECT_FALSE(Allowed(*relations_, "user:bob", "document:b", 0));
  EXPECT_TRUE(Allowed(*relations_, "user:bob", "document:a", 0));
  // A model that does not parse is refused and the old one stays.
  EXPECT_FALSE(
      relations_
          ->PutModel(
              "model\n  schema 1.1\ntype document\n  relations\n    define viewer: [nobody]\n")
          .has_value());
  EXPECT_TRUE(Allowed(*relations_, "user:bob", "document:a", 0));
}

TEST_F(RelationStoreTest, ConditionsAndContextSurviveARestart) {
  TupleKey office = T("document:secret", "viewer", "user:carol");
  office.condition = "from_office";
  const TupleKey writes[] = {office, T("document:a", "viewer", "user:carol@example.com")};
  auto token = relations_->Write(writes, {});
  ASSERT_TRUE(token.has_value()) << token.error().message();
  Reopen();
  EXPECT_EQ(relations_->tuple_count(), 2u);
  EXPECT_TRUE(Allowed(*relations_, "user:carol", "document:secret", *token,
                      {{"ip", cel::Value::String("10.1.2.3")}}));
  EXPECT_FALSE(Allowed(*relations_, "user:carol", "document:secret", *token,
                       {{"ip", cel::Value::String("192.0.2.1")}}));
  EXPECT_TRUE(Allowed(*relations_, "user:carol@example.com", "document:a", *token));
  std::string next;
  auto page = relations_->Read({.object = "document:"}, "", 1, &next);
  ASSERT_TRUE(page.has_value());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_FALSE(next.empty());
  auto rest = relations_->Read({.object = "document:"}, next, 10, &next);
  ASSERT_TRUE(rest.has_value());
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ(rest->at(0).condition, "from_office");
  EXPECT_TRUE(next.empty());
  auto model = relations_->ReadModel();
  ASSERT_TRUE(model.has_value());
  EXPECT_EQ(model->first, kModel);
}

// Write refuses a tuple that exists, but another writer of the store may put
// its key again with a narrower condition: the index must follow the store,
// or the wider tuple would keep granting.
TEST_F(RelationStoreTest, AKeyPutAgainReplacesItsTuple) {
  const TupleKey anywhere[] = {T("document:plan", "viewer", "user:dan")};
  auto token = relations_->Write(anywhere, {});
  ASSERT_TRUE(token.has_value()) << token.error().message();
  const cel::Activation outside = {{"ip", cel::Value::String("192.0.2.1")}};
  EXPECT_TRUE(Allowed(*relations_, "user:dan", "document:plan", *token, outside));
  auto put = store_->Put(TupleStoreKey(anywhere[0]), R"({"condition":"from_office"})");
  ASSERT_TRUE(put.has_value()) << put.error().message();
  EXPECT_FALSE(Allowed(*relations_, "user:dan", "document:plan", put->revision, outside));
  EXPECT_TRUE(Allowed(*relations_, "user:dan", "document:plan", put->revision,
                      {{"ip", cel::Value::String("10.1.2.3")}}));
  EXPECT_EQ(relations_->tuple_count(), 1u);
}

TEST(RelationStoreKeyTest, KeysRoundTripIdsWithAtSigns) {
  TupleKey t = T("document:a@b", "viewer", "group:x@y#member");
  auto back = ParseTupleStoreKey(TupleStoreKey(t), "{}");
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_EQ(back->object, t.object);
  EXPECT_EQ(back->relation, t.relation);
  EXPECT_EQ(back->user, t.user);
  EXPECT_FALSE(ParseTupleStoreKey("/bulwark/relations/tuples/garbage", "{}").has_value());
}

}  // namespace
}  // namespace bulwark::policy
