#include "core/status.h"

#include <gtest/gtest.h>

namespace bulwark {
namespace {

Result<int> ParsePositive(int v) {
  if (v <= 0) return Err(InvalidArgumentError("not positive"));
  return v;
}

Result<int> Doubled(int v) {
  BULWARK_ASSIGN_OR_RETURN(int x, ParsePositive(v));
  return 2 * x;
}

Status Check(int v) {
  BULWARK_ASSIGN_OR_RETURN(int x, ParsePositive(v));
  (void)x;
  return OkStatus();
}

Result<int> CheckThenSeven(Status s) {
  BULWARK_RETURN_IF_ERROR(s);
  return 7;
}

TEST(StatusTest, AssignOrReturnPropagatesErrorIntoResultAndStatus) {
  EXPECT_EQ(*Doubled(4), 8);
  EXPECT_EQ(Doubled(-1).error().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Check(1).ok());
  EXPECT_EQ(Check(0).code(), StatusCode::kInvalidArgument);
}

TEST(StatusTest, ReturnIfErrorWorksInResultFunctions) {
  EXPECT_EQ(*CheckThenSeven(OkStatus()), 7);
  EXPECT_EQ(CheckThenSeven(NotFoundError("x")).error().code(), StatusCode::kNotFound);
}

TEST(StatusTest, CodesMapToHttp) {
  EXPECT_EQ(HttpStatusFor(StatusCode::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatusFor(StatusCode::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatusFor(StatusCode::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatusFor(StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusFor(StatusCode::kInternal), 500);
  EXPECT_EQ(UnauthenticatedError("expired").ToString(), "UNAUTHENTICATED: expired");
}

}  // namespace
}  // namespace bulwark
