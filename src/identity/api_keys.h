// API keys: long random secrets that callers send instead of a token, each
// acting as a subject with scopes and roles, optionally expiring, revocable.
//
// A key reads `bwk_<id>_<secret>`: `id` is 16 hex digits, public, the handle
// used to list and revoke it; `secret` is 32 random bytes in base64url. The
// store keeps only a SHA-256 of the secret (bound to the id) under
// identity/api_keys/<id>, never the key; the key is shown once, at creation.
// A 256-bit random secret needs no slow hash: nobody can guess it, and a
// fast hash lets every request check it.
//
// ApiKeyService writes (the admin API); ApiKeyIndex answers "which key is
// this" on the request path from an immutable snapshot that a store watch
// keeps current, so a revocation on any node reaches every node's gateway
// without a store read per request.
#ifndef BULWARK_IDENTITY_API_KEYS_H_
#define BULWARK_IDENTITY_API_KEYS_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "crypto/secret_bytes.h"
#include "store/store.h"

namespace bulwark::identity {

inline constexpr std::string_view kApiKeyPrefix = "bwk_";
inline constexpr std::string_view kApiKeyStorePrefix = "identity/api_keys/";

// What is known of a key; never its secret.
struct ApiKey {
  std::string id;       // 16 lowercase hex digits
  std::string name;     // a label for people
  std::string subject;  // the principal the key acts as
  std::vector<std::string> scopes;
  std::vector<std::string> roles;
  int64_t created_at = 0;             // Unix seconds
  std::optional<int64_t> expires_at;  // Unix seconds; none = no expiry
  std::optional<int64_t> revoked_at;  // Unix seconds, once revoked
};

struct ApiKeySpec {
  std::string name;
  std::string subject;
  std::vector<std::string> scopes;
  std::vector<std::string> roles;
  std::optional<std::chrono::seconds> ttl;  // none = no expiry
};

// Whether `subject`, any credential's (an API key's, a token's `sub`), can
// travel to the service as a field value as it is: not empty, no control
// characters (they would split the field), and no space at either end (RFC
// 9110 section 5.5: the service would read " alice" as alice, whom no rule
// here names).
bool IsForwardableSubject(std::string_view subject);

// Checks a spec (its strings UTF-8, as the JSON parser has checked): name
// 1..128 characters without control characters (C0, DEL, C1), subject up to
// 256 characters and forwardable (IsForwardableSubject); scopes and roles up
// to 64 each, 1..128 bytes of visible ASCII; ttl 60 s .. 10 years.
// kInvalidArgument naming the field.
Status ValidateApiKeySpec(const ApiKeySpec& spec);

class ApiKeyService {
 public:
  // `store` and `clock` must outlive the service.
  ApiKeyService(store::Store& store, const Clock& clock) : store_(store), clock_(clock) {}

  // Creates a key; returns its record and the key itself, which exists
  // nowhere else afterwards. Errors of ValidateApiKeySpec and the store.
  Result<std::pair<ApiKey, crypto::SecretBytes>> Create(const ApiKeySpec& spec);
  // Every key, revoked and expired ones included, by id.
  Result<std::vector<ApiKey>> List();
  // kNotFound for an unknown id.
  Result<ApiKey> Get(std::string_view id);
  // Marks the key revoked (kept, for audit); revoking twice keeps the first
  // time. kNotFound for an unknown id.
  Result<ApiKey> Revoke(std::string_view id);

 private:
  store::Store& store_;
  const Clock& clock_;
};

class ApiKeyIndex {
 public:
  // Loads every key and watches for changes. `store` and `clock` must
  // outlive the index. If the watch ends (it fell behind compaction, or the
  // store's connection dropped), the index refuses every key until it has
  // reloaded them all and watches again; it retries with backoff.
  static Result<std::unique_ptr<ApiKeyIndex>> Create(store::Store& store, const Clock& clock);
  ~ApiKeyIndex();

  // The key `presented` is, if it is valid now. kUnauthenticated with a
  // reason safe to log ("malformed api key", "unknown api key", "api key
  // revoked", "api key expired"); kUnavailable while the index has lost its
  // watch (fail closed). The secret is compared in constant time.
  // Thread-safe, lock-free on the snapshot.
  Result<ApiKey> Verify(std::string_view presented) const;

  // Whether the key of id `id`, verified before, still stands: neither
  // revoked, expired nor deleted. While the index has lost its watch only
  // an expiry it holds can tell (a revocation would go unseen; Verify
  // refuses every key meanwhile): a key not expired stands, and is asked
  // about again once the watch is back.
  bool Stands(std::string_view id) const;

  // How many keys the current snapshot holds.
  size_t size() const;

  // Marks the watch lost, as its failure does, without the repair that
  // follows one: for a test of what the index answers meanwhile.
  void MarkWatchLostForTesting() { broken_.store(true); }

 private:
  struct Entry {
    ApiKey key;
    std::string hash;  // raw SHA-256
  };
  using Snapshot = std::unordered_map<std::string, Entry>;

  ApiKeyIndex(store::Store& store, const Clock& clock) : store_(store), clock_(clock) {}
  // Reads every key into a new snapshot and watches from the revision read.
  Status Load();
  // Whether `key` has expired by the clock.
  bool Expired(const ApiKey& key) const;
  void Apply(std::span<const store::Event> events);
  void OnWatchError(const Status& status);
  void RepairLoop();

  store::Store& store_;
  const Clock& clock_;
  std::atomic<std::shared_ptr<const Snapshot>> snapshot_;
  std::atomic<bool> broken_{false};
  std::unique_ptr<store::Watch> watch_;  // replaced only by the repair thread

  std::mutex mu_;  // guards the fields below
  std::condition_variable wake_;
  uint64_t watch_failures_ = 0;
  bool stop_ = false;
  std::thread repairer_;
};

// True if `text` has the shape of an API key (prefix, id, secret lengths);
// says nothing of its validity. Lets a bearer credential be told from a JWT.
bool LooksLikeApiKey(std::string_view text);

// True if an API key's shape is anywhere in `text`: in a list of values
// (`bwk_..., other`), after a scheme and any whitespace, within quotes.
bool ContainsApiKey(std::string_view text);

}  // namespace bulwark::identity

#endif  // BULWARK_IDENTITY_API_KEYS_H_
