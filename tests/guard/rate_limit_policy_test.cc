#include "guard/rate_limit_policy.h"

#include <gtest/gtest.h>

#include <limits>

#include "core/clock.h"
#include "guard/rate_limiter.h"
#include "guard/sliding_window.h"
#include "guard/token_bucket.h"

namespace bulwark::guard {
namespace {

using namespace std::chrono_literals;
using Algorithm = RateLimitPolicy::Algorithm;

RateLimitPolicy Valid() {
  return {.algorithm = Algorithm::kTokenBucket, .limit = 100, .window = 60s, .name = "api"};
}

void ExpectInvalid(const RateLimitPolicy& policy) {
  EXPECT_EQ(ValidateRateLimitPolicy(policy).code(), StatusCode::kInvalidArgument);
  FakeClock clock;
  auto limiter = RateLimiter::Create(policy, clock);
  ASSERT_FALSE(limiter.has_value());
  EXPECT_EQ(limiter.error().code(), StatusCode::kInvalidArgument);
}

TEST(RateLimitPolicyTest, AcceptsValidPolicies) {
  EXPECT_TRUE(ValidateRateLimitPolicy(Valid()).ok());
  RateLimitPolicy edges = Valid();
  edges.window = 1ms;
  EXPECT_TRUE(ValidateRateLimitPolicy(edges).ok());
  edges.window = std::chrono::days(1);
  edges.limit = std::numeric_limits<uint64_t>::max();
  EXPECT_TRUE(ValidateRateLimitPolicy(edges).ok());
  edges.algorithm = Algorithm::kSlidingWindow;
  EXPECT_TRUE(ValidateRateLimitPolicy(edges).ok());
}

TEST(RateLimitPolicyTest, RefusesZeroLimit) {
  RateLimitPolicy p = Valid();
  p.limit = 0;
  ExpectInvalid(p);
}

TEST(RateLimitPolicyTest, RefusesWindowOutsideOneMillisecondToOneDay) {
  RateLimitPolicy p = Valid();
  p.window = 0ms;
  ExpectInvalid(p);
  p.window = -5ms;
  ExpectInvalid(p);
  p.window = std::chrono::days(1) + 1ms;
  ExpectInvalid(p);
}

TEST(RateLimitPolicyTest, RefusesBurstOnSlidingWindow) {
  RateLimitPolicy p = Valid();
  p.algorithm = Algorithm::kSlidingWindow;
  p.burst = 1;
  ExpectInvalid(p);
}

TEST(RateLimitPolicyTest, RefusesCapacityThatOverflows) {
  RateLimitPolicy p = Valid();
  p.limit = std::numeric_limits<uint64_t>::max();
  p.burst = 1;
  ExpectInvalid(p);
}

TEST(RateLimitPolicyTest, RefusesNamesThatCannotBeSentInAHeader) {
  RateLimitPolicy p = Valid();
  p.name = "";
  ExpectInvalid(p);
  p.name = "api\r\nSet-Cookie: x=1";
  ExpectInvalid(p);
  p.name = "caf\xc3\xa9";
  ExpectInvalid(p);
  p.name = std::string(65, 'a');
  ExpectInvalid(p);
}

TEST(RateLimitPolicyTest, RefusesUnknownAlgorithm) {
  RateLimitPolicy p = Valid();
  p.algorithm = static_cast<Algorithm>(7);
  ExpectInvalid(p);
}

TEST(RateLimitPolicyTest, AlgorithmsRefuseTheOtherAlgorithmsPolicy) {
  RateLimitPolicy p = Valid();
  EXPECT_EQ(SlidingWindow::Create(p).error().code(), StatusCode::kInvalidArgument);
  p.algorithm = Algorithm::kSlidingWindow;
  EXPECT_EQ(TokenBucket::Create(p).error().code(), StatusCode::kInvalidArgument);
}

TEST(RateLimitPolicyTest, LimiterRefusesZeroMaxKeys) {
  FakeClock clock;
  auto limiter = RateLimiter::Create(Valid(), clock, {.max_keys = 0});
  ASSERT_FALSE(limiter.has_value());
  EXPECT_EQ(limiter.error().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace bulwark::guard
