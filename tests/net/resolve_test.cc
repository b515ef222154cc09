#include "net/resolve.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <span>
#include <stop_token>
#include <thread>

namespace bulwark::net {
namespace {

using std::chrono::milliseconds;
using tcp = boost::asio::ip::tcp;

TEST(ResolveTest, AnswersLiteralsAtOnce) {
  auto v4 = ResolveWithin("127.0.0.1", "8080", milliseconds(0));
  ASSERT_TRUE(v4.has_value()) << v4.error().ToString();
  ASSERT_EQ(v4->size(), 1u);
  EXPECT_EQ((*v4)[0], tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 8080));
  auto v6 = ResolveWithin("::1", "443", milliseconds(0));
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ((*v6)[0].port(), 443);
  EXPECT_FALSE(ResolveWithin("127.0.0.1", "65536", milliseconds(0)).has_value());
  EXPECT_FALSE(ResolveWithin("127.0.0.1", "8o", milliseconds(0)).has_value());
}

TEST(ResolveTest, ResolvesNamesThroughTheSystem) {
  auto local = ResolveWithin("localhost", "80", milliseconds(5000));
  ASSERT_TRUE(local.has_value()) << local.error().ToString();
  EXPECT_FALSE(local->empty());
  for (const tcp::endpoint& e : *local) EXPECT_TRUE(e.address().is_loopback());
}

TEST(ResolveTest, ANameThatDoesNotResolveIsUnavailable) {
  auto missing = internal::ResolveWithin(
      "no-such-host.test", "80", milliseconds(2000),
      [](const std::string&, const std::string&) { return std::vector<tcp::endpoint>{}; });
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), StatusCode::kUnavailable);
}

// A resolver that never answers: the caller gets kDeadlineExceeded on time,
// and lookups it gave up on are capped, so a hung resolver cannot pile up
// threads.
TEST(ResolveTest, AHungResolverCostsTheTimeoutAndNoMore) {
  // Shared with the lookup threads, which outlive this test's frame.
  auto release = std::make_shared<std::atomic<bool>>(false);
  auto hang = [release](const std::string&, const std::string&) {
    while (!release->load()) std::this_thread::sleep_for(milliseconds(5));
    return std::vector<tcp::endpoint>{};
  };
  const auto start = std::chrono::steady_clock::now();
  auto hung = internal::ResolveWithin("idp.example", "443", milliseconds(100), hang);
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(hung.has_value());
  EXPECT_EQ(hung.error().code(), StatusCode::kDeadlineExceeded);
  EXPECT_GE(waited, milliseconds(100));
  EXPECT_LT(waited, milliseconds(2000));

  // The same name again, while its lookup hangs: it waits for that lookup
  // (its own time), and no second thread looks it up.
  auto looked_up_again = std::make_shared<std::atomic<bool>>(false);
  auto same = internal::ResolveWithin("idp.example", "443", milliseconds(100),
                                      [looked_up_again](const std::string&, const std::string&) {
                                        *looked_up_again = true;
                                        return std::vector<tcp::endpoint>{};
                                      });
  ASSERT_FALSE(same.has_value());
  EXPECT_EQ(same.error().code(), StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(looked_up_again->load());

  for (int i = 1; i < kMaxLookupsInFlight; ++i) {
    const std::string name = "idp" + std::to_string(i) + ".example";
    EXPECT_EQ(internal::ResolveWithin(name, "443", milliseconds(1), hang).error().code(),
              StatusCode::kDeadlineExceeded);
  }
  auto capped = internal::ResolveWithin("other.example", "443", milliseconds(1000), hang);
  ASSERT_FALSE(capped.has_value());
  EXPECT_EQ(capped.error().code(), StatusCode::kUnavailable);  // at once, no new thread

  *release = true;  // the resolver answers at last: the threads end, the slots free up
  for (int i = 0; i < 400; ++i) {
    auto again = internal::ResolveWithin(
        "idp.example", "443", milliseconds(1000), [](const std::string&, const std::string&) {
          return std::vector<tcp::endpoint>{
              tcp::endpoint(boost::asio::ip::make_address("10.0.0.1"), 443)};
        });
    if (again.has_value()) {
      EXPECT_EQ((*again)[0].port(), 443);
      return;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  FAIL() << "lookup slots never came back";
}

// Several names are looked up at once: each lookup here answers only once
// all of them have begun, so lookups one after another would time out.
TEST(ResolveTest, SeveralNamesAreLookedUpAtOnce) {
  auto begun = std::make_shared<std::atomic<int>>(0);
  auto together = [begun](const std::string&, const std::string& port) {
    begun->fetch_add(1);
    for (int i = 0; i < 400 && begun->load() < 3; ++i) std::this_thread::sleep_for(milliseconds(5));
    if (begun->load() < 3) return std::vector<tcp::endpoint>{};
    return std::vector<tcp::endpoint>{tcp::endpoint(boost::asio::ip::make_address("10.0.0.1"),
                                                    static_cast<uint16_t>(std::stoi(port)))};
  };
  const std::vector<NameToResolve> names = {{"a.example", "1"},
                                            {"192.0.2.7", "2"},
                                            {"b.example", "3"},
                                            {"c.example", "4"},
                                            {"192.0.2.8", "x"}};
  auto results = internal::ResolveAllWithin(names, milliseconds(5000), together);
  ASSERT_EQ(results.size(), names.size());
  for (size_t i : {0u, 2u, 3u}) {
    ASSERT_TRUE(results[i].has_value()) << i << ": " << results[i].error().ToString();
    EXPECT_EQ((*results[i])[0].port(), i + 1);  // each its own, in the order asked
  }
  ASSERT_TRUE(results[1].has_value());  // a literal, at once
  EXPECT_EQ((*results[1])[0].address().to_string(), "192.0.2.7");
  ASSERT_FALSE(results[4].has_value());
  EXPECT_EQ(results[4].error().code(), StatusCode::kInvalidArgument);
}

// More names than lookups may run at once: the rest start as others end,
// a name that hangs holds up none of them, a name asked twice is looked up
// once, and no more than kMaxLookupsPerCall run together.
TEST(ResolveTest, ManyNamesGoThroughAWindowOfLookups) {
  struct Seen {
    std::atomic<int> running{0};
    std::atomic<int> most{0};
    std::atomic<int> calls{0};
    std::atomic<bool> release{false};
  };
  auto seen = std::make_shared<Seen>();
  struct Release {  // the hung lookup ends with the test, whatever happens
    ~Release() {
      seen->release = true;
      std::this_thread::sleep_for(milliseconds(50));  // and frees its slot
    }
    std::shared_ptr<Seen> seen;
  } release{seen};
  std::vector<NameToResolve> names = {{"hung.example", "1"}};
  for (int i = 2; i <= 3 * kMaxLookupsInFlight; ++i) {
    names.push_back({"n" + std::to_string(i) + ".example", std::to_string(i)});
  }
  names.push_back({"n2.example", "2"});  // asked twice
  auto results = internal::ResolveAllWithin(
      names, milliseconds(3000), [seen](const std::string& host, const std::string& port) {
        seen->calls.fetch_add(1);
        const int now = seen->running.fetch_add(1) + 1;
        for (int most = seen->most.load();
             now > most && !seen->most.compare_exchange_weak(most, now);) {
        }
        if (host == "hung.example") {
          while (!seen->release.load()) std::this_thread::sleep_for(milliseconds(5));
        } else {
          std::this_thread::sleep_for(milliseconds(2));
        }
        seen->running.fetch_sub(1);
        return std::vector<tcp::endpoint>{tcp::endpoint(boost::asio::ip::make_address("10.0.0.1"),
                                                        static_cast<uint16_t>(std::stoi(port)))};
      });
  ASSERT_EQ(results.size(), names.size());
  ASSERT_FALSE(results[0].has_value());
  EXPECT_EQ(results[0].error().code(), StatusCode::kDeadlineExceeded);
  for (size_t i = 1; i < results.size(); ++i) {
    ASSERT_TRUE(results[i].has_value()) << i << ": " << results[i].error().ToString();
    EXPECT_EQ((*results[i])[0].port(), std::stoi(names[i].port));
  }
  EXPECT_EQ(seen->calls.load(), static_cast<int>(names.size()) - 1);
  EXPECT_LE(seen->most.load(), static_cast<int>(kMaxLookupsPerCall));
}

// Two callers asking for one name at the same time share its lookup: both
// get its addresses, and it is looked up once.
TEST(ResolveTest, CallersOfOneNameShareItsLookup) {
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto slow = [calls](const std::string&, const std::string&) {
    calls->fetch_add(1);
    std::this_thread::sleep_for(milliseconds(300));
    return std::vector<tcp::endpoint>{
        tcp::endpoint(boost::asio::ip::make_address("10.0.0.9"), 443)};
  };
  Result<std::vector<tcp::endpoint>> first = Err(InternalError("not yet"));
  std::thread caller(
      [&] { first = internal::ResolveWithin("shared.example", "443", milliseconds(5000), slow); });
  for (int i = 0; i < 400 && calls->load() == 0; ++i) std::this_thread::sleep_for(milliseconds(1));
  auto second = internal::ResolveWithin("shared.example", "443", milliseconds(5000), slow);
  caller.join();
  ASSERT_TRUE(first.has_value()) << first.error().ToString();
  ASSERT_TRUE(second.has_value()) << second.error().ToString();
  EXPECT_EQ((*second)[0].address().to_string(), "10.0.0.9");
  EXPECT_EQ(calls->load(), 1);
}

// A resolver that hangs on every name: the window's first lookups run out
// the time, and the names after them are never looked up (a lookup begun
// past the deadline would hold a slot for nothing); a stop ends it all the
// same way, at once.
TEST(ResolveTest, NamesNotBegunByTheDeadlineOrAStopAreNeverLookedUp) {
  struct Hang {
    std::atomic<int> calls{0};
    std::atomic<int> ended{0};
    std::atomic<bool> release{false};
    // A lookup that hangs until released, counted.
    internal::NameLookup Lookup(std::shared_ptr<Hang> self) {
      return [self](const std::string&, const std::string&) {
        self->calls.fetch_add(1);
        while (!self->release.load()) std::this_thread::sleep_for(milliseconds(5));
        self->ended.fetch_add(1);
        return std::vector<tcp::endpoint>{};
      };
    }
  };
  auto late = std::make_shared<Hang>();
  auto stopped = std::make_shared<Hang>();
  // The hung lookups end with the test, whatever happens, and their slots
  // are free for the next test of this process.
  struct Release {
    ~Release() {
      for (Hang* h : hangs) h->release = true;
      for (Hang* h : hangs) {
        for (int i = 0; i < 400 && h->ended.load() < h->calls.load(); ++i) {
          std::this_thread::sleep_for(milliseconds(5));
        }
      }
      std::this_thread::sleep_for(milliseconds(20));  // past their last statement
    }
    std::vector<Hang*> hangs;
  } release{{late.get(), stopped.get()}};
  std::vector<NameToResolve> late_names;
  std::vector<NameToResolve> stopped_names;
  for (size_t i = 0; i < kMaxLookupsPerCall + 4; ++i) {
    late_names.push_back({"late" + std::to_string(i) + ".example", "80"});
    stopped_names.push_back({"stopped" + std::to_string(i) + ".example", "80"});
  }
  for (const auto& r :
       internal::ResolveAllWithin(late_names, milliseconds(200), late->Lookup(late))) {
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), StatusCode::kDeadlineExceeded);
  }
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(late->calls.load(), static_cast<int>(kMaxLookupsPerCall));
  // No time at all: nothing is looked up.
  auto none = internal::ResolveAllWithin(std::span(&stopped_names[0], 1), milliseconds(0),
                                         stopped->Lookup(stopped));
  ASSERT_FALSE(none[0].has_value());
  EXPECT_EQ(none[0].error().code(), StatusCode::kDeadlineExceeded);
  std::this_thread::sleep_for(milliseconds(50));  // a lookup begun would have counted by now
  EXPECT_EQ(stopped->calls.load(), 0);

  std::stop_source stop;
  std::thread stopper([&] {
    std::this_thread::sleep_for(milliseconds(100));
    stop.request_stop();
  });
  auto cancelled = internal::ResolveAllWithin(stopped_names, milliseconds(60000),
                                              stopped->Lookup(stopped), stop.get_token());
  stopper.join();
  for (const auto& r : cancelled) {
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), StatusCode::kCancelled);
  }
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(stopped->calls.load(), static_cast<int>(kMaxLookupsPerCall));
}

// A stop requested while a lookup hangs ends the wait at once: a shutdown
// does not wait out the timeout.
TEST(ResolveTest, AStopGivesUpOnAHungLookupAtOnce) {
  auto release = std::make_shared<std::atomic<bool>>(false);
  auto hang = [release](const std::string&, const std::string&) {
    while (!release->load()) std::this_thread::sleep_for(milliseconds(5));
    return std::vector<tcp::endpoint>{};
  };
  std::stop_source stop;
  std::thread stopper([&] {
    std::this_thread::sleep_for(milliseconds(50));
    stop.request_stop();
  });
  const auto start = std::chrono::steady_clock::now();
  auto hung =
      internal::ResolveWithin("idp.example", "443", milliseconds(60000), hang, stop.get_token());
  const auto waited = std::chrono::steady_clock::now() - start;
  stopper.join();
  *release = true;  // the lookup thread ends and frees its slot
  ASSERT_FALSE(hung.has_value());
  EXPECT_EQ(hung.error().code(), StatusCode::kCancelled);
  EXPECT_LT(waited, milliseconds(30000));
  // Already stopped: no lookup at all.
  auto looked_up = std::make_shared<std::atomic<bool>>(false);
  auto again = internal::ResolveWithin(
      "idp.example", "443", milliseconds(60000),
      [looked_up](const std::string&, const std::string&) {
        *looked_up = true;
        return std::vector<tcp::endpoint>{};
      },
      stop.get_token());
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), StatusCode::kCancelled);
  EXPECT_FALSE(looked_up->load());
}

}  // namespace
}  // namespace bulwark::net
