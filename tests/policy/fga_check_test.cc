// Queries against the OpenFGA test data: every check, list-objects and
// list-users assertion of the consolidated and ABAC (condition) suites, with
// the tuples written and with them given as contextual tuples instead, must
// answer as expected (errors included). Then what the suites do not show:
// resolution paths, cycles, depth and size bounds, Expand.
#include "policy/fga_check.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/file.h"
#include "policy/fga_test_file.h"

namespace bulwark::policy::fga {
namespace {

TestReport RunFile(const char* file, TupleMode mode) {
  const auto path = std::filesystem::path(BULWARK_TESTDATA_DIR) / "openfga" / file;
  auto text = ReadFileToString(path.string());
  EXPECT_TRUE(text.has_value()) << path;
  auto report = RunRelationTests(text.value_or(""), file, mode);
  EXPECT_TRUE(report.has_value()) << report.error().message();
  if (!report) return {};
  for (const std::string& f : report->failures) ADD_FAILURE() << f;
  return *report;
}

TEST(FgaCheckTest, ConsolidatedSuiteWithTuplesWritten) {
  auto r = RunFile("consolidated_1_1_tests.yaml", TupleMode::kWritten);
  EXPECT_EQ(r.failed, 0);
  EXPECT_GT(r.passed, 400);  // 169 check, 135 list-objects, 143 list-users
}

TEST(FgaCheckTest, ConsolidatedSuiteWithContextualTuples) {
  auto r = RunFile("consolidated_1_1_tests.yaml", TupleMode::kContextual);
  EXPECT_EQ(r.failed, 0);
  EXPECT_GT(r.passed, 400);
}

TEST(FgaCheckTest, ConditionSuiteWithTuplesWritten) {
  auto r = RunFile("abac_tests.yaml", TupleMode::kWritten);
  EXPECT_EQ(r.failed, 0);
  EXPECT_GT(r.passed, 50);
}

TEST(FgaCheckTest, ConditionSuiteWithContextualTuples) {
  auto r = RunFile("abac_tests.yaml", TupleMode::kContextual);
  EXPECT_EQ(r.failed, 0);
  EXPECT_GT(r.passed, 50);
}

// The runner is what `bulwark relations test` prints from: a wrong
// expectation must count as a failure, not pass.
TEST(FgaCheckTest, RunnerCountsAWrongExpectationAsFailed) {
  auto r = RunRelationTests(R"(tests:
- name: t
  stages:
  - model: |
      model
        schema 1.1
      type user
      type doc
        relations
          define viewer: [user]
    tuples:
    - {user: "user:anne", relation: viewer, object: "doc:1"}
    checkAssertions:
    - tuple: {user: "user:anne", relation: viewer, object: "doc:1"}
      expectation: false
    - tuple: {user: "user:bob", relation: viewer, object: "doc:1"}
      expectation: false
    - tuple: {user: "user:bob", relation: owner, object: "doc:1"}
      errorCode: 2000
)",
                            "inline.yaml", TupleMode::kWritten);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->passed, 2);
  EXPECT_EQ(r->failed, 1);
  ASSERT_EQ(r->failures.size(), 1u);
  EXPECT_NE(r->failures[0].find("check user:anne viewer doc:1"), std::string::npos)
      << r->failures[0];
}

constexpr std::string_view kDrive = R"(model
  schema 1.1
type user
type group
  relations
    define member: [user, group#member]
type folder
  relations
    define parent: [folder]
    define owner: [user]
    define editor: [user, group#member] or owner or editor from parent
    define viewer: [user, user:*, group#member] or editor or viewer from parent
type document
  relations
    define parent: [folder]
    define owner: [user]
    define editor: [user, group#member] or owner or editor from parent
    define blocked: [user]
    define viewer: ([user, user:* with before, group#member] or editor or viewer from parent) but not blocked

condition before(now: timestamp, until: timestamp) {
  now < until
}
)";

TupleKey T(std::string_view object, std::string_view relation, std::string_view user) {
  return {*ParseObject(object), std::string(relation), *ParseUser(user), "", nullptr};
}

class DriveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = Model::Parse(kDrive);
    ASSERT_TRUE(m.has_value()) << m.error().message();
    model_ = std::move(*m);
    for (const TupleKey& t :
         {T("group:eng", "member", "user:bob"), T("group:all", "member", "group:eng#member"),
          T("folder:root", "owner", "user:alice"), T("folder:plans", "parent", "folder:root"),
          T("folder:plans", "editor", "group:all#member"),
          T("document:roadmap", "parent", "folder:plans"),
          T("document:roadmap", "blocked", "user:mallory"),
          T("group:eng", "member", "user:mallory")}) {
      ASSERT_TRUE(ValidateTuple(*model_, t).ok()) << ValidateTuple(*model_, t).message();
      index_.Add(t);
    }
  }
  Result<CheckResult> Check(std::string_view user, std::string_view relation,
                            std::string_view object) {
    return fga::Check(*model_, index_,
                      {*ParseObject(object), std::string(relation), *ParseUser(user), {}, {}});
  }
  // A list its limit cut short: kMaxListResults entries, sorted, each one
  // granted.
  static void ExpectFullSortedAndGranted(const Result<std::vector<std::string>>& list,
                                         const std::function<bool(const std::string&)>& granted) {
    ASSERT_TRUE(list.has_value()) << list.error().message();
    EXPECT_EQ(list->size(), kMaxListResults);
    EXPECT_TRUE(std::is_sorted(list->begin(), list->end()));
    for (const std::string& entry : *list) ASSERT_TRUE(granted(entry)) << entry;
  }
  std::optional<Model> model_;
  TupleIndex index_;
};

TEST_F(DriveTest, ThePathSaysWhy) {
  auto r = Check("user:bob", "viewer", "document:roadmap");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_TRUE(r->allowed);
  const std::vector<std::string> want = {
      "document:roadmap#viewer: not excluded by its `but not`",
      "document:roadmap#viewer <- document:roadmap#editor",
      "document:roadmap#editor <- folder:plans#editor (editor from parent)",
      "document:roadmap#parent@folder:plans",
      "folder:plans#editor@group:all#member",
      "group:all#member@group:eng#member",
      "group:eng#member@user:bob",
  };
  EXPECT_EQ(r->path, want);
}

TEST_F(DriveTest, OwnerOfAnAncestorFolderEdits) {
  auto r = Check("user:alice", "editor", "document:roadmap");
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->allowed);
  EXPECT_EQ(r->path.back(), "folder:root#owner@user:alice");
}

TEST_F(DriveTest, ButNotRefusesABlockedMemberAndDeniesCarryNoPath) {
  auto r = Check("user:mallory", "viewer", "document:roadmap");
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->allowed);
  EXPECT_TRUE(r->path.empty());
  r = Check("user:mallory", "editor", "document:roadmap");  // not excluded there
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->allowed);
  r = Check("user:eve", "viewer", "document:roadmap");
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->allowed);
}

TEST_F(DriveTest, ConditionedWildcardNeedsItsContext) {
  TupleKey pub = T("document:roadmap", "viewer", "user:*");
  pub.condition = "before";
  pub.context = std::make_shared<const cel::Activation>(
      cel::Activation{{"until", cel::Value::String("2030-01-01T00:00:00Z")}});
  ASSERT_TRUE(ValidateTuple(*model_, pub).ok()) << ValidateTuple(*model_, pub).message();
  index_.Add(pub);
  CheckRequest request{*ParseObject("document:roadmap"), "viewer", *ParseUser("user:eve"), {}, {}};
  // Without `now` the condition cannot be decided: an error, not a grant.
  auto r = fga::Check(*model_, index_, request);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find("missing context parameter `now`"), std::string::npos);
  request.context["now"] = cel::Value::String("2029-12-31T23:59:59Z");
  r = fga::Check(*model_, index_, request);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->allowed);
  EXPECT_EQ(r->path.back(), "document:roadmap#viewer@user:* [if before]");
  request.context["now"] = cel::Value::String("2030-01-01T00:00:00Z");
  r = fga::Check(*model_, index_, request);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->allowed);
  // The tuple's own value wins over the request's.
  request.context["until"] = cel::Value::String("2099-01-01T00:00:00Z");
  r = fga::Check(*model_, index_, request);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->allowed);
  // A value of the wrong type is an error.
  request.context["now"] = cel::Value::Int(5);
  EXPECT_FALSE(fga::Check(*model_, index_, request).has_value());
  // A grant through another branch does not need the context.
  request.user = *ParseUser("user:bob");
  request.context.clear();
  r = fga::Check(*model_, index_, request);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_TRUE(r->allowed);
}

TEST_F(DriveTest, ListObjectsUsersAndExpand) {
  auto objects =
      ListObjects(*model_, index_, {"document", "viewer", *ParseUser("user:bob"), {}, {}});
  ASSERT_TRUE(objects.has_value());
  EXPECT_EQ(*objects, std::vector<std::string>{"document:roadmap"});
  objects = ListObjects(*model_, index_, {"folder", "editor", *ParseUser("user:bob"), {}, {}});
  ASSERT_TRUE(objects.has_value());
  EXPECT_EQ(*objects, std::vector<std::string>{"folder:plans"});
  auto users =
      ListUsers(*model_, index_,
                {*ParseObject("document:roadmap"), "viewer", {"user", "group#member"}, {}, {}});
  ASSERT_TRUE(users.has_value()) << users.error().message();
  EXPECT_EQ(*users, (std::vector<std::string>{"group:all#member", "group:eng#member", "user:alice",
                                              "user:bob"}));
  auto relations = ListRelations(*model_, index_, *ParseObject("document:roadmap"),
                                 *ParseUser("user:mallory"), {});
  ASSERT_TRUE(relations.has_value());
  // Through the group she edits; she is blocked, so not a viewer.
  EXPECT_EQ(*relations, (std::vector<std::string>{"editor", "blocked"}));
  auto tree = Expand(*model_, index_, *ParseObject("folder:plans"), "editor");
  ASSERT_TRUE(tree.has_value());
  EXPECT_EQ(tree->kind, ExpandNode::Kind::kUnion);
  ASSERT_EQ(tree->children.size(), 3u);
  EXPECT_EQ(tree->children[0].users, std::vector<std::string>{"group:all#member"});
  EXPECT_EQ(tree->children[1].computed, "folder:plans#owner");
  EXPECT_EQ(tree->children[2].tupleset, "folder:plans#parent");
  EXPECT_EQ(tree->children[2].computed_usersets, std::vector<std::string>{"folder:root#editor"});
}

TEST_F(DriveTest, RequestsAreBounded) {
  CheckRequest request{*ParseObject("document:roadmap"), "viewer", *ParseUser("user:eve"), {}, {}};
  for (size_t i = 0; i <= kMaxContextualTuples; ++i) {
    request.contextual_tuples.push_back(T("group:eng", "member", fmt::format("user:u{}", i)));
  }
  auto r = fga::Check(*model_, index_, request);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
  // A contextual tuple the model does not allow is refused, not ignored.
  request.contextual_tuples = {T("document:roadmap", "owner", "group:eng#member")};
  EXPECT_FALSE(fga::Check(*model_, index_, request).has_value());
  // Unknown relations and types are refused with the reason.
  request.contextual_tuples.clear();
  request.relation = "admin";
  r = fga::Check(*model_, index_, request);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message(), "`document` has no relation `admin`");
}

// ListObjects checks each candidate as the walk reaches it, so a user who
// can view many objects costs `limit` checks, not one per object; a walk
// that reaches too many objects without granting ends with an error.
TEST_F(DriveTest, ListObjectsStopsAtItsLimitAndItsReach) {
  // bob edits plans (through group:all), so he views every document in it;
  // mallory reaches them the same way but is blocked on each one.
  for (size_t i = 0; i <= kMaxListReach; ++i) {
    const std::string document = fmt::format("document:d{}", i);
    index_.Add(T(document, "parent", "folder:plans"));
    index_.Add(T(document, "blocked", "user:mallory"));
  }
  ListObjectsRequest request{"document", "viewer", *ParseUser("user:bob"), {}, {}};
  auto objects = ListObjects(*model_, index_, request);
  ExpectFullSortedAndGranted(objects, [&](const std::string& object) {
    return Check("user:bob", "viewer", object)->allowed;
  });
  request.limit = 7;
  objects = ListObjects(*model_, index_, request);
  ASSERT_TRUE(objects.has_value());
  EXPECT_EQ(objects->size(), 7u);

  request.user = *ParseUser("user:mallory");
  objects = ListObjects(*model_, index_, request);
  ASSERT_FALSE(objects.has_value());
  EXPECT_EQ(objects.error().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(objects.error().message(),
            fmt::format("more than {} objects reachable from user:mallory; list a narrower "
                        "type or relation",
                        kMaxListReach));
}

TEST_F(DriveTest, ListUsersStopsAtItsLimitAndItsReach) {
  // Everyone in group:big views the roadmap (through eng, all and plans),
  // and would view the memo but for being blocked on it.
  index_.Add(T("group:eng", "member", "group:big#member"));
  index_.Add(T("document:memo", "viewer", "group:big#member"));
  for (size_t i = 0; i <= kMaxListReach; ++i) {
    const std::string user = fmt::format("user:u{}", i);
    index_.Add(T("group:big", "member", user));
    index_.Add(T("document:memo", "blocked", user));
  }
  ListUsersRequest request{*ParseObject("document:roadmap"), "viewer", {"user"}, {}, {}};
  auto users = ListUsers(*model_, index_, request);
  ExpectFullSortedAndGranted(users, [&](const std::string& user) {
    return Check(user, "viewer", "document:roadmap")->allowed;
  });
  request.object = *ParseObject("document:memo");
  users = ListUsers(*model_, index_, request);
  ASSERT_FALSE(users.has_value());
  EXPECT_EQ(users.error().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(users.error().message(),
            fmt::format("more than {} users and objects reachable from document:memo; list "
                        "with a narrower filter",
                        kMaxListReach));
}

// `but not` must find the tuple that excludes, whichever way the object
// keeps its tuples (in its string entry: at most four plain ones; in the
// tables: more, or a conditioned one) and whether it names a user, the
// wildcard or a group.
TEST(FgaCheckTest, ExclusionsAreFoundInlineAndInTheTables) {
  auto model = Model::Parse(R"(model
  schema 1.1
type document
  relations
    define viewer: [user, user:*]
    define blocked: [user, user:*, group#member]
    define can_view: viewer but not blocked
type user
type group
  relations
    define member: [user]
)");
  ASSERT_TRUE(model.has_value()) << model.error().message();
  TupleIndex index;
  index.Add(T("group:g", "member", "user:anne"));
  const std::vector<std::pair<std::string, std::string>> blocks = {
      {"document:plain", "user:anne"},
      {"document:all", "user:*"},
      {"document:group", "group:g#member"}};
  for (const char* size : {"", "-wide"}) {
    for (const auto& [document, blocked] : blocks) {
      const std::string object = document + size;
      index.Add(T(object, "viewer", "user:*"));
      index.Add(T(object, "blocked", blocked));
      // Five more viewers move the wide ones to the tables.
      for (int i = 0; *size != '\0' && i < 5; ++i) {
        index.Add(T(object, "viewer", fmt::format("user:u{}", i)));
      }
    }
  }
  for (const auto& [document, blocked] : blocks) {
    for (const std::string& object : {document, document + "-wide"}) {
      auto r = fga::Check(*model, index,
                          {*ParseObject(object), "can_view", *ParseUser("user:anne"), {}, {}});
      ASSERT_TRUE(r.has_value()) << r.error().message();
      EXPECT_FALSE(r->allowed) << object << " blocked@" << blocked;
      r = fga::Check(*model, index,
                     {*ParseObject(object), "can_view", *ParseUser("user:bob"), {}, {}});
      ASSERT_TRUE(r.has_value());
      EXPECT_EQ(r->allowed, blocked != "user:*") << object;
    }
  }
  auto objects =
      ListObjects(*model, index, {"document", "can_view", *ParseUser("user:anne"), {}, {}});
  ASSERT_TRUE(objects.has_value()) << objects.error().message();
  EXPECT_TRUE(objects->empty());
  objects = ListObjects(*model, index, {"document", "can_view", *ParseUser("user:bob"), {}, {}});
  ASSERT_TRUE(objects.has_value());
  EXPECT_EQ(*objects, (std::vector<std::string>{"document:group", "document:group-wide",
                                                "document:plain", "document:plain-wide"}));
  auto users =
      ListUsers(*model, index, {*ParseObject("document:group-wide"), "can_view", {"user"}, {}, {}});
  ASSERT_TRUE(users.has_value()) << users.error().message();
  EXPECT_EQ(std::count(users->begin(), users->end(), "user:anne"), 0);
  EXPECT_EQ(std::count(users->begin(), users->end(), "user:u0"), 1);
}

TEST(FgaCheckTest, CyclesTerminateAndDepthIsBounded) {
  auto model = Model::Parse(R"(model
  schema 1.1
type user
type group
  relations
    define member: [user, group#member]
)");
  ASSERT_TRUE(model.has_value());
  TupleIndex index;
  // a <- b <- a: a cycle of group memberships.
  index.Add(T("group:a", "member", "group:b#member"));
  index.Add(T("group:b", "member", "group:a#member"));
  auto got = Check(*model, index, {{"group", "a"}, "member", {"user", "anne", ""}, {}, {}});
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE(got->allowed);
  // A chain deeper than the bound is an error, not an answer.
  for (int i = 0; i < 40; ++i) {
    index.Add(T(fmt::format("group:g{}", i), "member", fmt::format("group:g{}#member", i + 1)));
  }
  index.Add(T("group:g40", "member", "user:anne"));
  got = Check(*model, index, {{"group", "g0"}, "member", {"user", "anne", ""}, {}, {}});
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), StatusCode::kResourceExhausted);
  got = Check(*model, index, {{"group", "g30"}, "member", {"user", "anne", ""}, {}, {}});
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(got->allowed);
}

TEST(FgaIndexTest, AddRemoveAndReadBack) {
  TupleIndex index;
  EXPECT_TRUE(index.Add(T("doc:1", "viewer", "user:anne")));
  EXPECT_FALSE(index.Add(T("doc:1", "viewer", "user:anne")));
  EXPECT_TRUE(index.Add(T("doc:1", "viewer", "group:eng#member")));
  EXPECT_TRUE(index.Add(T("doc:1", "viewer", "user:*")));
  EXPECT_EQ(index.size(), 3u);
  int indirect = 0, all = 0, by_user = 0;
  index.ForEachIndirect("doc:1", "viewer",
                        [&](const TupleIndex::Tuple&) { return ++indirect, true; });
  index.ForEach("doc:1", "viewer", [&](const TupleIndex::Tuple&) { return ++all, true; });
  index.ForEachByUser("group:eng", "member", [&](const TupleIndex::Tuple& t) {
    EXPECT_EQ(t.object, "doc:1");
    return ++by_user, true;
  });
  EXPECT_EQ(indirect, 2);
  EXPECT_EQ(all, 3);
  EXPECT_EQ(by_user, 1);
  EXPECT_TRUE(index.Remove(T("doc:1", "viewer", "group:eng#member")));
  EXPECT_FALSE(index.Remove(T("doc:1", "viewer", "group:eng#member")));
  EXPECT_FALSE(index.Find("doc:1", "viewer", "group:eng", "member").has_value());
  EXPECT_TRUE(index.Find("doc:1", "viewer", "user:anne", "").has_value());
  // Many tuples: the tables grow and removed records are reused.
  for (int i = 0; i < 20000; ++i) index.Add(T(fmt::format("doc:{}", i), "viewer", "user:bob"));
  for (int i = 0; i < 20000; i += 2)
    index.Remove(T(fmt::format("doc:{}", i), "viewer", "user:bob"));
  EXPECT_EQ(index.size(), 2u + 10000u);
  EXPECT_FALSE(index.Find("doc:10", "viewer", "user:bob", "").has_value());
  EXPECT_TRUE(index.Find("doc:11", "viewer", "user:bob", "").has_value());
  EXPECT_TRUE(index.Add(T("doc:10", "viewer", "user:bob")));
  EXPECT_TRUE(index.Find("doc:10", "viewer", "user:bob", "").has_value());
}

// An object with a few plain tuples answers the id-based reads Check uses
// from its own entry; past four tuples, or with a conditioned one, from the
// tables. Whatever the history of adds and removes, the id-based reads must
// give what the tables give (the string-based reads), in the same order.
TEST(FgaIndexTest, ReadsByIdAgreeWithTheTablesThroughAddsAndRemoves) {
  // Narrow objects (even) draw from two relations and two users, so they
  // never hold more than four tuples and keep their copy; wide ones (odd)
  // draw from all, conditioned tuples and more than 32 relation names
  // included (past 32, a relation has no summary bit of its own).
  std::vector<std::string> objects = {"folder:a"};
  for (int i = 0; i < 24; ++i) objects.push_back(fmt::format("doc:{}", i));
  std::vector<std::string> relations = {"viewer", "editor", "parent"};
  for (int i = 0; i < 34; ++i) relations.push_back(fmt::format("r{}", i));
  const std::vector<std::string> users = {"user:anne",        "user:bob", "user:*",
                                          "group:eng#member", "folder:a", "group:ops#member"};
  auto describe = [](const TupleIndex::Tuple& t) {
    return fmt::format("{}#{}@{}#{} if {}", t.object, t.relation, t.user, t.user_relation,
                       t.condition);
  };
  TupleIndex index;
  auto agree = [&](const std::string& object, int step) {
    const uint32_t id = index.Id(object);
    for (const std::string& relation : relations) {
      const TupleIndex::RelationKey rel = index.Relation(relation);
      // What a read gives, in its order: read(f) calls f for each tuple.
      auto collect = [&](auto read) {
        std::vector<std::string> out;
        read([&](const TupleIndex::Tuple& t) { return out.push_back(describe(t)), true; });
        return out;
      };
      const auto by_id = collect([&](auto f) { index.ForEach(id, rel, f); });
      const auto by_name = collect([&](auto f) { index.ForEach(object, relation, f); });
      const auto indirect_by_id = collect([&](auto f) { index.ForEachIndirect(id, rel, f); });
      const auto indirect_by_name =
          collect([&](auto f) { index.ForEachIndirect(object, relation, f); });
      ASSERT_EQ(by_id, by_name) << "step " << step << " " << object << "#" << relation;
      ASSERT_EQ(indirect_by_id, indirect_by_name) << "step " << step;
      for (const std::string& user : users) {
        const size_t hash = user.find('#');
        const std::string name = user.substr(0, hash);
        const std::string user_relation = hash == std::string::npos ? "" : user.substr(hash + 1);
        const auto by_name_found = index.Find(object, relation, name, user_relation);
        const auto by_id_found = index.Find(id, rel, index.Id(name), index.Id(user_relation));
        ASSERT_EQ(by_id_found.has_value(), by_name_found.has_value()) << "step " << step;
        if (by_id_found) {
          EXPECT_EQ(describe(*by_id_found), describe(*by_name_found));
          EXPECT_EQ(by_id_found->user_id, index.Id(name));
          EXPECT_EQ(by_id_found->user_wildcard, name == "user:*");
          EXPECT_EQ(by_id_found->user_type, name.substr(0, name.find(':')));
        }
      }
    }
  };
  std::mt19937 rng(7);
  for (int step = 0; step < 6000; ++step) {
    const size_t o = rng() % objects.size();
    const bool wide = o % 2 == 1;
    const size_t r = rng() % (wide ? relations.size() : 2);
    const size_t u = rng() % (wide ? users.size() : 2);
    TupleKey t = T(objects[o], relations[r], users[u]);
    if (rng() % 2 == 0) {
      index.Remove(t);
    } else {
      if (wide && rng() % 8 == 0) t.condition = "link_not_expired";
      index.Add(t);
    }
    ASSERT_NO_FATAL_FAILURE(agree(objects[o], step));
    if (step % 500 == 0) {
      for (const std::string& object : objects) ASSERT_NO_FATAL_FAILURE(agree(object, step));
    }
  }
}

// Past 32 relation names a relation has no summary bit of its own; a tuple
// of such a relation is found by id, on a small object as on a large one.
TEST(FgaIndexTest, RelationsPastTheSummaryBitsAreFoundById) {
  TupleIndex index;
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(index.Add(T("doc:many", fmt::format("r{}", i), "user:anne")));
  }
  ASSERT_TRUE(index.Add(T("doc:small", "r39", "user:bob")));
  ASSERT_TRUE(index.Add(T("doc:small", "r0", "group:eng#member")));
  for (const char* object : {"doc:small", "doc:many"}) {
    const uint32_t id = index.Id(object);
    for (int i = 0; i < 40; ++i) {
      const std::string relation = fmt::format("r{}", i);
      const TupleIndex::RelationKey rel = index.Relation(relation);
      for (const char* user : {"user:anne", "user:bob"}) {
        EXPECT_EQ(index.Find(id, rel, index.Id(user), 0).has_value(),
                  index.Find(object, relation, user, "").has_value())
            << object << "#" << relation << "@" << user;
      }
      int by_id = 0, by_name = 0;
      index.ForEach(id, rel, [&](const TupleIndex::Tuple&) { return ++by_id, true; });
      index.ForEach(object, relation, [&](const TupleIndex::Tuple&) { return ++by_name, true; });
      EXPECT_EQ(by_id, by_name) << object << "#" << relation;
    }
  }
  EXPECT_TRUE(index.Find(index.Id("doc:small"), index.Relation("r39"), index.Id("user:bob"), 0));
}

}  // namespace
}  // namespace bulwark::policy::fga
