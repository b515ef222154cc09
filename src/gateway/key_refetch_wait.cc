#include "gateway/key_refetch_wait.h"

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace bulwark::gateway {

namespace {

namespace asio = boost::asio;

constexpr std::chrono::milliseconds kPoll(10);
constexpr std::chrono::milliseconds kMaxWait(10000);
thread_local int waiting = 0;

}  // namespace

asio::awaitable<void> DecideAgainAfterKeyRefetch(const Gateway& gateway, RequestFacts& facts,
                                                 Decision& decision,
                                                 std::chrono::steady_clock::time_point start) {
  if (!decision.jwks_refetch.pending || waiting >= kMaxWaitingForKeys) co_return;
  const JwksRefetch refetch = decision.jwks_refetch;
  ++waiting;
  const auto deadline = start + std::min(refetch.timeout, kMaxWait);
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (gateway.KeyFetches(refetch) <= refetch.after &&
         std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(kPoll);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  --waiting;
  if (gateway.KeyFetches(refetch) <= refetch.after) co_return;  // no new keys: the refusal stands
  facts.after_key_refetch = true;
  decision = gateway.Decide(facts);
}

}  // namespace bulwark::gateway
