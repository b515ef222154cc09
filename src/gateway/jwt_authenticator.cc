#include "gateway/jwt_authenticator.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <optional>
#include <thread>

#include "core/file.h"
#include "core/log.h"
#include "identity/api_keys.h"
#include "jose/base64url.h"
#include "jose/json.h"
#include "jose/jws.h"
#include "jose/jwt.h"
#include "net/http_fetch.h"
#include "net/request_head.h"

namespace bulwark::gateway {

namespace {

// Appends the strings of a claim that is an array of strings or a
// space-separated string (RFC 8693 `scope`).
void AppendStrings(const boost::json::value* v, std::vector<std::string>& out) {
  if (v == nullptr) return;
  if (const auto* s = v->if_string()) {
    std::string_view rest(*s);
    while (!rest.empty()) {
      size_t space = rest.find(' ');
      std::string_view item = rest.substr(0, space);
      if (!item.empty()) out.emplace_back(item);
      if (space == std::string_view::npos) break;
      rest.remove_prefix(space + 1);
    }
  } else if (const auto* a = v->if_array()) {
    for (const auto& item : *a) {
      if (const auto* s = item.if_string()) out.emplace_back(*s);
    }
  }
}

// Scopes from an array claim (`scp`): an element with a space is no scope
// (RFC 6749 section 3.3), and would read as two wherever scopes travel
// space-separated (X-Bulwark-Scopes, the signed identity's `scope`). It is
// dropped, which can only take a permission away.
// (A space-separated string claim is split, so only an array's can hold one.)
void AppendScopes(const boost::json::value* v, std::vector<std::string>& out) {
  AppendStrings(v, out);
  std::erase_if(out, [](const std::string& scope) { return scope.find(' ') != std::string::npos; });
}

const boost::json::value* Lookup(const boost::json::object& claims, std::string_view dotted) {
  const boost::json::object* obj = &claims;
  const boost::json::value* v = nullptr;
  while (true) {
    size_t dot = dotted.find('.');
    auto it = obj->find(dotted.substr(0, dot));
    if (it == obj->end()) return nullptr;
    v = &it->value();
    if (dot == std::string_view::npos) return v;
    obj = v->if_object();
    if (obj == nullptr) return nullptr;
    dotted.remove_prefix(dot + 1);
  }
}

}  // namespace

struct JwtAuthenticator::Issuer {
  JwtIssuerConfig config;
  std::unique_ptr<jose::JwtVerifier> verifier;
  bool remote = false;
  // Set by a request that met an unknown kid; cleared by the refresher.
  mutable std::atomic<bool> refetch_requested{false};
  // The refresher's bookkeeping (guarded by JwtAuthenticator::mu_).
  std::chrono::steady_clock::time_point next_refresh;
  // When the last fetch began; written by the refresher, read by requests
  // (RefetchDue) without the lock.
  std::atomic<std::chrono::steady_clock::rep> last_attempt_ticks{0};
  void SetLastAttempt(std::chrono::steady_clock::time_point t) {
    last_attempt_ticks.store(t.time_since_epoch().count(), std::memory_order_release);
  }
  std::chrono::steady_clock::time_point LastAttempt() const {
    return std::chrono::steady_clock::time_point(
        std::chrono::steady_clock::duration(last_attempt_ticks.load(std::memory_order_acquire)));
  }
  // True if a refetch asked for now would run at once.
  bool RefetchDue() const {
    return std::chrono::steady_clock::now() - LastAttempt() >= config.jwks_min_refetch_interval;
  }
  // Finished fetches of this issuer, successful or not.
  std::atomic<uint64_t> fetches{0};
  // Serializes fetches of this issuer; guards last_body and confirmed.
  std::mutex fetch_mu;
  std::string last_body;
  // When a fetch last gave usable keys (or the same set again); unset while
  // the issuer has no fetched keys.
  std::optional<std::chrono::steady_clock::time_point> confirmed;
};

JwtAuthenticator::JwtAuthenticator(std::vector<std::unique_ptr<Issuer>> issuers)
    : issuers_(std::move(issuers)) {}

JwtAuthenticator::~JwtAuthenticator() {
  fetches_.request_stop();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread& refresher : refreshers_) refresher.join();
}

bool JwtAuthenticator::FetchKeys(Issuer& issuer) {
  std::lock_guard<std::mutex> fetch_lock(issuer.fetch_mu);
  const JwtIssuerConfig& config = issuer.config;
  Result<net::FetchedResponse> fetched =
      net::FetchUrl(config.jwks_uri, {.timeout = config.jwks_fetch_timeout,
                                      .ca_file = config.jwks_ca_file,
                                      .max_body_bytes = 1 << 20,
                                      .stop = fetches_.get_token()});
  std::string error;
  if (!fetched) {
    error = fetched.error().message();
  } else if (fetched->status != 200) {
    error = "HTTP status " + std::to_string(fetched->status);
  } else if (issuer.last_body.empty() || fetched->body != issuer.last_body) {
    // Parsed unless it is the set last taken: an empty answer before any
    // set was taken is a failed fetch like any other that is not a JWKS.
    auto keys = jose::Jwks::ParseKeyOrSet(fetched->body);
    // A published set is for anyone: a secret key or private half there is
    // known to all, so a token it signs proves nothing. Such keys are never
    // used; the others in the set are.
    const size_t secret = keys ? keys->DropSecretKeys() : 0;
    if (secret > 0) {
      log::Warn("gateway.jwks_secret_keys_ignored",
                {{"issuer", config.name}, {"keys", static_cast<int64_t>(secret)}});
    }
    if (!keys) {
      error = "not a JWKS: " + keys.error().message();
    } else if (keys->empty()) {
      // Keep the last good ones.
      error = secret > 0 ? "the JWKS has no usable key (its secret keys are not used)"
                         : "the JWKS has no usable key";
    } else {
      const size_t count = keys->keys().size();
      issuer.verifier->ReplaceKeys(std::move(*keys));
      issuer.last_body = std::move(fetched->body);
      log::Info("gateway.jwks_updated",
                {{"issuer", config.name}, {"keys", static_cast<int64_t>(count)}});
    }
  }
  const auto now = std::chrono::steady_clock::now();
  if (error.empty()) {
    issuer.confirmed = now;
  } else {
    log::Warn("gateway.jwks_fetch_failed",
              {{"issuer", config.name}, {"uri", config.jwks_uri}, {"error", error}});
    if (issuer.confirmed && now - *issuer.confirmed >= config.jwks_max_stale) {
      // Fail closed: the keys may be ones the provider has since revoked.
      issuer.verifier->ReplaceKeys(jose::Jwks());
      issuer.last_body.clear();
      issuer.confirmed.reset();
      log::Error(
          "gateway.jwks_stale_keys_dropped",
          {{"issuer", config.name},
           {"max_stale_seconds",
            static_cast<int64_t>(
                std::chrono::duration_cast<std::chrono::seconds>(config.jwks_max_stale).count())}});
    }
  }
  issuer.fetches.fetch_add(1, std::memory_order_acq_rel);
  return error.empty();
}

int JwtAuthenticator::RefreshRemoteKeysNow() {
  int fetched = 0;
  for (auto& issuer : issuers_) {
    if (issuer->remote && FetchKeys(*issuer)) ++fetched;
  }
  return fetched;
}

void JwtAuthenticator::RequestRefetch(const Issuer& issuer) const {
  if (issuer.refetch_requested.exchange(true)) return;  // already pending
  {
    std::lock_guard<std::mutex> lock(mu_);  // so the refresher cannot miss the wake-up
    refetch_requests_.fetch_add(1);
  }
  wake_.notify_all();
}

void JwtAuthenticator::FetchFirst(Issuer& issuer) {
  issuer.SetLastAttempt(std::chrono::steady_clock::now());
  const bool ok = FetchKeys(issuer);
  issuer.next_refresh =
      std::chrono::steady_clock::now() +
      (ok ? issuer.config.jwks_refresh_interval
          : std::min(issuer.config.jwks_refresh_interval, issuer.config.jwks_min_refetch_interval));
  if (!ok) {
    log::Error("gateway.jwks_unavailable",
               {{"issuer", issuer.config.name},
                {"detail", "its tokens are refused until its keys can be fetched"}});
  }
}

void JwtAuthenticator::RefreshLoop(Issuer& issuer) {
  using steady = std::chrono::steady_clock;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    // Requests counted from here on (they count under mu_) end the wait below,
    // including those made while a fetch below runs with the lock released.
    const uint64_t seen = refetch_requests_.load();
    const auto now = steady::now();
    const bool due = now >= issuer.next_refresh;
    const bool asked = issuer.refetch_requested.load() &&
                       now - issuer.LastAttempt() >= issuer.config.jwks_min_refetch_interval;
    if (due || asked) {
      issuer.refetch_requested.store(false);
      issuer.SetLastAttempt(now);
      lock.unlock();
      const bool ok = FetchKeys(issuer);
      lock.lock();
      if (stop_) return;
      // After a failure, retry sooner than the refresh interval.
      issuer.next_refresh =
          steady::now() + (ok ? issuer.config.jwks_refresh_interval
                              : std::min(issuer.config.jwks_refresh_interval,
                                         issuer.config.jwks_min_refetch_interval));
    }
    steady::time_point wake_at = issuer.next_refresh;
    if (issuer.refetch_requested.load()) {
      wake_at = std::min(wake_at, issuer.LastAttempt() + issuer.config.jwks_min_refetch_interval);
    }
    // A new refetch request (of any issuer: the refreshers share the count)
    // ends the wait, so the loop can schedule it.
    wake_.wait_until(lock, wake_at, [&] { return stop_ || refetch_requests_.load() != seen; });
  }
}

Result<std::unique_ptr<JwtAuthenticator>> JwtAuthenticator::Create(
    std::vector<JwtIssuerConfig> configs, const Clock& clock, FirstFetch first_fetch) {
  std::vector<std::unique_ptr<Issuer>> issuers;
  for (JwtIssuerConfig& config : configs) {
    if (config.name.empty() || config.issuer.empty()) {
      return Err(InvalidArgumentError("jwt issuer: name and issuer are required"));
    }
    if (config.audiences.empty()) {
      return Err(InvalidArgumentError(
          fmt::format("jwt issuer '{}': at least one audience is required", config.name)));
    }
    // API keys' principals carry the issuer `api-key` (X-Bulwark-Issuer,
    // rate limits by principal): an issuer of that name would pass its
    // tokens' subjects off as keys' and share their limits.
    if (config.name == "api-key") {
      return Err(
          InvalidArgumentError("jwt issuer 'api-key': the name is API keys' own; choose another"));
    }
    // Limits by principal key a caller by `<name>/<subject>`: with a '/' in
    // a name, two issuers' subjects could meet in one key and share a quota
    // (`corp` with `partners/alice`, `corp/partners` with `alice`).
    if (config.name.find('/') != std::string::npos) {
      return Err(
          InvalidArgumentError(fmt::format("jwt issuer '{}': a name holds no '/'", config.name)));
    }
    // Routes and forward_token find an issuer by its name: one name, one issuer.
    if (std::any_of(issuers.begin(), issuers.end(),
                    [&](const auto& other) { return other->config.name == config.name; })) {
      return Err(InvalidArgumentError(fmt::format("jwt issuer '{}' is named twice", config.name)));
    }
    // A token finds its issuer by `iss`: two issuers of one `iss` would
    // leave all but one unreachable (its audiences and keys never tried).
    if (auto same =
            std::find_if(issuers.begin(), issuers.end(),
                         [&](const auto& other) { return other->config.issuer == config.issuer; });
        same != issuers.end()) {
      return Err(InvalidArgumentError(fmt::format(
          "jwt issuers '{}' and '{}' have the same issuer '{}': list every audience on one",
          (*same)->config.name, config.name, config.issuer)));
    }
    const bool remote = !config.jwks_uri.empty();
    if (remote == !config.jwks_file.empty()) {
      return Err(InvalidArgumentError(fmt::format(
          "jwt issuer '{}': exactly one of jwks_file and jwks_uri is required", config.name)));
    }
    std::optional<jose::Jwks> keys;
    if (remote) {
      if (config.jwks_refresh_interval.count() <= 0 ||
          config.jwks_min_refetch_interval.count() <= 0 || config.jwks_fetch_timeout.count() <= 0) {
        return Err(InvalidArgumentError(
            fmt::format("jwt issuer '{}': JWKS intervals must be positive", config.name)));
      }
      if (config.jwks_max_stale < 2 * config.jwks_refresh_interval) {
        return Err(InvalidArgumentError(fmt::format(
            "jwt issuer '{}': jwks_max_stale_seconds must be at least twice jwks_refresh_seconds",
            config.name)));
      }
      if (Status url = net::CheckFetchUrl(config.jwks_uri); !url.ok()) {
        return Err(InvalidArgumentError(
            fmt::format("jwt issuer '{}': jwks_uri: {}", config.name, url.message())));
      }
      keys.emplace();  // fetched below
    } else {
      BULWARK_ASSIGN_OR_RETURN(std::string text, ReadFileToString(config.jwks_file));
      auto parsed = jose::Jwks::ParseKeyOrSet(text);
      if (!parsed) {
        return Err(
            InvalidArgumentError(fmt::format("jwt issuer '{}': keys in '{}': {}", config.name,
                                             config.jwks_file, parsed.error().message())));
      }
      if (parsed->skipped() != 0) {
        log::Warn("gateway.jwks_keys_skipped",
                  {{"issuer", config.name},
                   {"file", config.jwks_file},
                   {"skipped", static_cast<int64_t>(parsed->skipped())},
                   {"kept", static_cast<int64_t>(parsed->keys().size())}});
      }
      // Every token of the issuer would be refused: the file is wrong.
      if (parsed->empty()) {
        return Err(InvalidArgumentError(fmt::format(
            "jwt issuer '{}': '{}' holds no key a token can be verified with (none, or none "
            "of a kind Bulwark verifies)",
            config.name, config.jwks_file)));
      }
      keys = std::move(*parsed);
    }
    jose::JwtValidationOptions options{.issuers = {config.issuer},
                                       .audiences = config.audiences,
                                       .leeway = config.leeway,
                                       .max_lifetime = config.max_lifetime,
                                       .required_typ = config.required_typ,
                                       .cache_max_bytes = config.token_cache_bytes};
    BULWARK_ASSIGN_OR_RETURN(auto verifier,
                             jose::JwtVerifier::Create(std::move(*keys), options, clock));
    auto issuer = std::make_unique<Issuer>();
    issuer->config = std::move(config);
    issuer->verifier = std::move(verifier);
    issuer->remote = remote;
    issuers.push_back(std::move(issuer));
  }
  std::unique_ptr<JwtAuthenticator> authenticator(new JwtAuthenticator(std::move(issuers)));
  if (first_fetch == FirstFetch::kAtCreate) authenticator->FetchRemoteKeys();
  return authenticator;
}

void JwtAuthenticator::FetchRemoteKeys() {
  if (!refreshers_.empty()) return;  // done already
  // Every remote issuer's first fetch at once: start waits for the slowest
  // provider (at most its fetch timeout), not for the sum of them.
  {
    std::vector<std::jthread> first;
    for (auto& issuer : issuers_) {
      if (issuer->remote) {
        first.emplace_back([a = this, i = issuer.get()] { a->FetchFirst(*i); });
      }
    }
  }
  for (auto& issuer : issuers_) {
    if (issuer->remote) {
      refreshers_.emplace_back([a = this, i = issuer.get()] { a->RefreshLoop(*i); });
    }
  }
}

uint64_t JwtAuthenticator::KeyFetches(const JwksRefetch& refetch) const {
  if (refetch.issuer == nullptr) return 0;
  return static_cast<const Issuer*>(refetch.issuer)->fetches.load(std::memory_order_acquire);
}

bool JwtAuthenticator::HasIssuer(std::string_view name) const {
  return std::any_of(issuers_.begin(), issuers_.end(),
                     [&](const auto& i) { return i->config.name == name; });
}

bool JwtAuthenticator::ForwardsToken(std::string_view name) const {
  return std::any_of(issuers_.begin(), issuers_.end(), [&](const auto& i) {
    return i->config.forward_token && i->config.name == name;
  });
}

Result<std::shared_ptr<const Principal>> JwtAuthenticator::Authenticate(
    std::string_view token, std::span<const std::string> allowed, JwksRefetch* refetch) const {
  const Issuer* issuer = nullptr;
  if (issuers_.size() == 1) {
    issuer = issuers_[0].get();
  } else {
    // Several issuers: the unverified `iss` only picks whose keys to try; the
    // chosen verifier then checks `iss` again under the signature.
    auto jws = jose::ParseCompactJws(token);
    if (!jws) return Err(UnauthenticatedError(jws.error().message()));
    auto payload = jose::Base64UrlDecode(jws->payload_b64);
    if (!payload) return Err(UnauthenticatedError("malformed token"));
    auto claims = jose::ParseJsonObject(*payload);
    if (!claims) return Err(UnauthenticatedError("malformed claims"));
    const auto* iss = Lookup(*claims, "iss");
    for (const auto& candidate : issuers_) {
      if (iss && iss->is_string() && iss->get_string() == candidate->config.issuer) {
        issuer = candidate.get();
      }
    }
  }
  if (issuer == nullptr) return Err(UnauthenticatedError("issuer not allowed"));
  if (!allowed.empty() &&
      std::find(allowed.begin(), allowed.end(), issuer->config.name) == allowed.end()) {
    return Err(UnauthenticatedError("issuer not allowed"));
  }
  auto jwt = issuer->verifier->Verify(token);
  if (!jwt) {
    if (issuer->remote) {
      // The issuer may have rotated to a key this set lacks: ask for a refetch
      // (rate-limited by the refresher), and tell the caller if it runs now.
      auto jws = jose::ParseCompactJws(token);
      if (jws && !issuer->verifier->HasKid(jws->header.kid)) {
        const uint64_t fetches = issuer->fetches.load(std::memory_order_acquire);
        const bool due = issuer->RefetchDue();
        RequestRefetch(*issuer);
        if (refetch != nullptr && due) {
          *refetch = {.pending = true,
                      .after = fetches,
                      .timeout = issuer->config.jwks_fetch_timeout,
                      .issuer = issuer};
        }
      }
    }
    return Err(UnauthenticatedError(jwt.error().message()));
  }

  // The principal is a function of the verified token and the issuer's
  // settings alone: a token in steady use has it derived once per thread.
  // An entry holds its token, so no other token can come to share its address.
  struct Derived {
    const Issuer* issuer = nullptr;
    std::shared_ptr<const jose::VerifiedJwt> jwt;
    std::shared_ptr<const Principal> principal;
  };
  thread_local std::array<Derived, 256> derived;
  Derived& slot = derived[(std::hash<const void*>{}(jwt->get()) >> 4) % derived.size()];
  if (slot.jwt == *jwt && slot.issuer == issuer) return slot.principal;
  Result<Principal> made = MakePrincipal(*issuer, **jwt);
  if (!made) return Err(std::move(made).error());
  slot = {issuer, *jwt, Principal::Seal(std::move(*made))};
  return slot.principal;
}

Result<Principal> JwtAuthenticator::MakePrincipal(const Issuer& issuer,
                                                  const jose::VerifiedJwt& token) const {
  Principal p;
  p.credential_ = CredentialKind::kJwt;
  p.subject_ = token.subject();
  p.issuer_ = issuer.config.name;
  // Verification takes the token until its exp and the leeway have passed.
  if (token.expires_at() != 0) p.ends_at_ = token.expires_at() + issuer.config.leeway.count();
  const auto& claims = token.claims();
  AppendScopes(Lookup(claims, "scope"), p.scopes_);
  AppendScopes(Lookup(claims, "scp"), p.scopes_);
  AppendStrings(Lookup(claims, issuer.config.roles_claim), p.roles_);
  if (p.subject_.empty()) return Err(UnauthenticatedError("token has no subject"));
  // These travel on as header values: control characters would split them.
  auto unsafe = [](std::string_view s) {
    return std::any_of(s.begin(), s.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
  };
  if (unsafe(p.subject_) || std::any_of(p.scopes_.begin(), p.scopes_.end(), unsafe) ||
      std::any_of(p.roles_.begin(), p.roles_.end(), unsafe)) {
    return Err(UnauthenticatedError("control characters in claims"));
  }
  if (!identity::IsForwardableSubject(p.subject_)) {
    return Err(UnauthenticatedError("subject with surrounding whitespace or C1 controls"));
  }
  return p;
}

}  // namespace bulwark::gateway
