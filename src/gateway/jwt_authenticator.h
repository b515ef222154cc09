// JwtAuthenticator: turns a bearer JWT into a Principal, against the issuers
// the config names. Each issuer has its own key set, audiences, token type
// and lifetime rules; the token's `iss` picks the issuer, and the issuer's
// own keys and algorithms decide. Thread-safe.
//
// Keys come from a local JWKS file or from the issuer's `jwks_uri`. A remote
// set is fetched at start and refreshed by a background thread every
// refresh interval; a token with a `kid` the set lacks (the issuer rotated)
// asks for an early refetch, at most once per min_refetch_interval, so a
// flood of made-up kids cannot turn Bulwark into a load generator against
// the issuer. The authenticator never waits on the network: when the refetch
// will run at once, it says so (JwksRefetch), and the caller may hold the
// request until the fetch is done and try once more (the reverse proxy and
// forward-auth do, see key_refetch_wait.h).
// A failed fetch keeps the last good keys; an issuer that never answered has
// no keys, and its tokens are refused (fail closed).
#ifndef BULWARK_GATEWAY_JWT_AUTHENTICATOR_H_
#define BULWARK_GATEWAY_JWT_AUTHENTICATOR_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "gateway/principal.h"
#include "net/request_head.h"

namespace bulwark::jose {
class JwtVerifier;
class VerifiedJwt;
}  // namespace bulwark::jose

namespace bulwark::gateway {

struct JwtIssuerConfig {
  std::string name;                    // how routes refer to it
  std::string issuer;                  // the exact `iss` value
  std::vector<std::string> audiences;  // the token's `aud` must hold one; required
  std::string jwks_file;               // a JWKS (or single JWK) file, or
  std::string jwks_uri;                // an https URL serving the JWKS
  std::string jwks_ca_file;            // CA bundle for jwks_uri; "" = system trust
  std::chrono::milliseconds jwks_refresh_interval{std::chrono::minutes(5)};
  std::chrono::milliseconds jwks_min_refetch_interval{std::chrono::seconds(30)};
  std::chrono::milliseconds jwks_fetch_timeout{std::chrono::seconds(5)};
  // Fetched keys no fetch has confirmed for this long (the provider down,
  // unreachable or serving no usable key) are dropped and the issuer's
  // tokens refused until a fetch succeeds: a key the provider rotated out
  // stays trusted no longer than this, however its fetches are kept from
  // succeeding. At least twice jwks_refresh_interval, so that one failed
  // refresh does not drop them.
  std::chrono::milliseconds jwks_max_stale{std::chrono::hours(24)};
  std::string required_typ;  // e.g. "at+jwt"; empty accepts any typ
  std::chrono::seconds leeway{60};
  std::optional<std::chrono::seconds> max_lifetime;
  // The heap the issuer's cache of verified tokens may hold (an estimate,
  // see jose::VerificationCache); 0 verifies every token afresh.
  size_t token_cache_bytes = size_t{64} << 20;
  // Where the roles are: a dotted path into the claims ("roles",
  // "realm_access.roles"); an array of strings or a space-separated string.
  std::string roles_claim = "roles";
  // The verified token goes on to the service in Authorization. By default
  // it stays here: the service gets the identity fields (and the signed
  // identity token, if configured), never a bearer credential it could
  // replay against other services that accept the same audience.
  bool forward_token = false;
};

// Filled by Authenticate when a token names a kid its issuer's remote set
// lacks and a refetch starts at once: once KeyFetches(refetch) exceeds
// `after`, that issuer's keys may have changed and the token is worth one
// more try; no sooner than `timeout` (the issuer's fetch timeout) has that
// become unlikely.
struct JwksRefetch {
  bool pending = false;
  uint64_t after = 0;
  std::chrono::milliseconds timeout{0};
  const void* issuer = nullptr;  // whose fetches count, opaque; valid as the authenticator
};

class JwtAuthenticator {
 public:
  // When remote sets are first fetched.
  enum class FirstFetch {
    kAtCreate,  // by Create
    kDeferred,  // by FetchRemoteKeys, once the caller has checked the rest
                // of its configuration (a mistake there is told at once)
  };

  // Loads every issuer's keys and, unless deferred, fetches the remote sets
  // (FetchRemoteKeys). kInvalidArgument for a bad config or key file (the
  // message names the issuer), kNotFound for a missing file.
  static Result<std::unique_ptr<JwtAuthenticator>> Create(
      std::vector<JwtIssuerConfig> issuers, const Clock& clock,
      FirstFetch first_fetch = FirstFetch::kAtCreate);
  // Fetches every remote set once, all at once (waiting at most the longest
  // fetch timeout), and starts refreshing them in the background. A set
  // that cannot be fetched is no error: it is logged and retried in the
  // background, its tokens refused meanwhile. Once, after a deferred Create.
  void FetchRemoteKeys();

  ~JwtAuthenticator();

  // Verifies `token` and returns its principal. `allowed_issuers` holds
  // issuer names; empty allows every configured issuer. Failures are
  // kUnauthenticated with a short reason safe to log ("expired", "invalid
  // signature", "issuer not allowed", ...).
  // `refetch`, if given, is filled as JwksRefetch says. The principal is
  // shared: a token in steady use yields the same one on every request.
  Result<std::shared_ptr<const Principal>> Authenticate(
      std::string_view token, std::span<const std::string> allowed_issuers = {},
      JwksRefetch* refetch = nullptr) const;

  // How many fetches (at start, refreshes, refetches) of the keys of the
  // issuer `refetch` names have finished, successful or not.
  uint64_t KeyFetches(const JwksRefetch& refetch) const;

  bool HasIssuer(std::string_view name) const;
  // Whether the issuer named `name` has forward_token set; false if none is.
  bool ForwardsToken(std::string_view name) const;

  // Fetches every remote set now (tests and operators); returns how many
  // fetches succeeded.
  int RefreshRemoteKeysNow();

 private:
  struct Issuer;
  explicit JwtAuthenticator(std::vector<std::unique_ptr<Issuer>> issuers);
  // Fetches `issuer`'s set and installs it if it parses; false on failure.
  bool FetchKeys(Issuer& issuer);
  void RequestRefetch(const Issuer& issuer) const;
  // The principal `token`, verified for `issuer`, stands for.
  Result<Principal> MakePrincipal(const Issuer& issuer, const jose::VerifiedJwt& token) const;
  // The first fetch of a remote issuer's keys, at start.
  void FetchFirst(Issuer& issuer);
  // Refreshes `issuer`'s keys, and refetches them when asked, until stopped:
  // one thread per remote issuer, so one provider's slow answer never holds
  // back another's refetch.
  void RefreshLoop(Issuer& issuer);

  std::vector<std::unique_ptr<Issuer>> issuers_;
  mutable std::mutex mu_;
  mutable std::condition_variable wake_;
  bool stop_ = false;         // guarded by mu_
  std::stop_source fetches_;  // stopped first on destruction: ends a fetch under way
  // Counts refetch requests, so the refreshers wake for a new one.
  mutable std::atomic<uint64_t> refetch_requests_{0};
  std::vector<std::thread> refreshers_;
};

// Parsed in net/ (see net::BearerToken); named here for the gateway's code.
using net::BearerToken;

}  // namespace bulwark::gateway

#endif  // BULWARK_GATEWAY_JWT_AUTHENTICATOR_H_
