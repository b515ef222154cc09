// Route relation sections are checked when the gateway is configured: a bad
// object template or path never reaches a request. (Requests themselves are
// decided end to end in tests/e2e/relations_gateway_test.sh.)
#include "gateway/relation_authorizer.h"

#include <gtest/gtest.h>

#include "gateway/path_template.h"

namespace bulwark::gateway {
namespace {

Status Compile(std::string path, std::string object, std::string relation = "viewer") {
  RouteRelation r{
      .relation = std::move(relation), .path = std::move(path), .object = std::move(object)};
  return CompileRouteRelation(r);
}

TEST(RelationRouteTest, CompilesObjectTemplatesFromThePath) {
  RouteRelation r{
      .relation = "viewer", .path = "/t/{tenant}/docs/{id}", .object = "document:{tenant}-{id}"};
  ASSERT_TRUE(CompileRouteRelation(r).ok());
  EXPECT_EQ(r.object_type, "document");
  auto params = MatchPathTemplate(r.path_segments, "/t/acme/docs/7");
  ASSERT_TRUE(params.has_value());
  EXPECT_EQ(*ExpandTemplate(r.object_id, *params), "acme-7");
  EXPECT_TRUE(Compile("", "folder:root").ok());  // a fixed object
}

TEST(RelationRouteTest, RefusesBadSections) {
  EXPECT_FALSE(Compile("/docs/{id}", "document").ok());            // no id
  EXPECT_FALSE(Compile("/docs/{id}", "document:{name}").ok());     // not in the path
  EXPECT_FALSE(Compile("/docs/{id}", "doc ument:{id}").ok());      // bad type
  EXPECT_FALSE(Compile("/docs/{id}", "document:{id}#x").ok());     // not an object
  EXPECT_FALSE(Compile("docs/{id}", "document:{id}").ok());        // relative path
  EXPECT_FALSE(Compile("/docs/{id}/{id}", "document:{id}").ok());  // repeated parameter
  EXPECT_FALSE(Compile("/docs/{id}", "document:{id}", "").ok());   // no relation
  EXPECT_FALSE(Compile("/docs/{id}", "document:{id}", "a b").ok());
}

}  // namespace
}  // namespace bulwark::gateway
