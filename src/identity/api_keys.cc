#include "identity/api_keys.h"

#include <algorithm>
#include <array>

#include <boost/json.hpp>

#include "core/log.h"
#include "crypto/constant_time.h"
#include "crypto/digest.h"
#include "crypto/random.h"
#include "jose/base64url.h"

namespace bulwark::identity {

namespace {

namespace json = boost::json;

constexpr size_t kIdHexDigits = 16;
constexpr size_t kSecretBytes = 32;
constexpr size_t kSecretChars = 43;  // base64url of 32 bytes, unpadded
constexpr size_t kKeyLength = kApiKeyPrefix.size() + kIdHexDigits + 1 + kSecretChars;
constexpr size_t kMaxListEntries = 64;
constexpr int64_t kMinTtlSeconds = 60;
constexpr int64_t kMaxTtlSeconds = int64_t{10} * 366 * 86400;

bool IsHexLower(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
bool IsBase64Url(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}
// A C0 control or DEL, or a C1 control (U+0080..U+009F, in UTF-8 0xC2
// then 0x80..0x9F; the JSON parser has checked the UTF-8).
bool HasControl(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const auto u = static_cast<unsigned char>(s[i]);
    if (u < 0x20 || u == 0x7f) return true;
    if (u == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) <= 0x9f) return true;
  }
  return false;
}
// Characters (code points) of UTF-8 `s`: its bytes but continuation bytes.
size_t Characters(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}
bool IsVisibleAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

Status ValidateList(const std::vector<std::string>& items, std::string_view field) {
  if (items.size() > kMaxListEntries) {
    return InvalidArgumentError(std::string(field) + ": at most 64 entries");
  }
  for (const std::string& item : items) {
    if (item.empty() || item.size() > 128 || !IsVisibleAscii(item)) {
      return InvalidArgumentError(std::string(field) +
                                  ": entries must be 1..128 visible ASCII characters");
    }
  }
  return OkStatus();
}

// SHA-256 over the id and the secret, so a hash cannot be moved to another id.
std::string HashSecret(std::string_view id, std::string_view secret) {
  std::string input;
  input.reserve(32 + id.size() + secret.size());
  input.append("bulwark-api-key-v1");
  input.push_back('\0');
  input.append(id);
  input.push_back('\0');
  input.append(secret);
  std::string digest = crypto::Digest(crypto::HashAlgorithm::kSha256, input);
  crypto::WipeString(input);
  return digest;
}

json::array ToArray(const std::vector<std::string>& items) {
  json::array out;
  for (const auto& item : items) out.emplace_back(item);
  return out;
}

std::string Serialize(const ApiKey& key, std::string_view hash) {
  json::object o;
  o["id"] = key.id;
  o["name"] = key.name;
  o["subject"] = key.subject;
  o["scopes"] = ToArray(key.scopes);
  o["roles"] = ToArray(key.roles);
  o["created_at"] = key.created_at;
  if (key.expires_at) o["expires_at"] = *key.expires_at;
  if (key.revoked_at) o["revoked_at"] = *key.revoked_at;
  o["hash"] = "sha256:" + jose::Base64UrlEncode(hash);
  return json::serialize(o);
}

Result<std::vector<std::string>> StringList(const json::object& o, std::string_view field) {
  std::vector<std::string> out;
  const json::value* v = o.if_contains(field);
  if (v == nullptr) return out;
  if (!v->is_array()) return Err(DataLossError("api key record: bad " + std::string(field)));
  for (const json::value& item : v->as_array()) {
    if (!item.is_string()) return Err(DataLossError("api key record: bad " + std::string(field)));
    out.emplace_back(item.as_string());
  }
  return out;
}

// Parses a stored record; kDataLoss if it is not one.
Result<std::pair<ApiKey, std::string>> Parse(std::string_view text) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) return Err(DataLossError("api key record is not a JSON object"));
  const json::object& o = value.as_object();
  auto str = [&o](std::string_view field) -> const json::string* {
    const json::value* v = o.if_contains(field);
    return v != nullptr && v->is_string() ? &v->as_string() : nullptr;
  };
  // A number, or none if absent (or null). One in another form (a float,
  // a date another tool wrote) makes the record unreadable: read as none, a
  // revocation or expiry would be lost and the key stand again.
  auto num = [&o](std::string_view field) -> Result<std::optional<int64_t>> {
    const json::value* v = o.if_contains(field);
    if (v == nullptr || v->is_null()) return std::optional<int64_t>();
    if (!v->is_int64()) return Err(DataLossError("api key record: bad " + std::string(field)));
    return std::optional<int64_t>(v->as_int64());
  };
  const json::string* id = str("id");
  const json::string* hash = str("hash");
  BULWARK_ASSIGN_OR_RETURN(const std::optional<int64_t> created, num("created_at"));
  if (id == nullptr || hash == nullptr || !created || !hash->starts_with("sha256:")) {
    return Err(DataLossError("api key record lacks id, hash or created_at"));
  }
  ApiKey key;
  key.id = std::string(*id);
  if (const json::string* s = str("name")) key.name = std::string(*s);
  if (const json::string* s = str("subject")) key.subject = std::string(*s);
  BULWARK_ASSIGN_OR_RETURN(key.scopes, StringList(o, "scopes"));
  BULWARK_ASSIGN_OR_RETURN(key.roles, StringList(o, "roles"));
  key.created_at = *created;
  BULWARK_ASSIGN_OR_RETURN(key.expires_at, num("expires_at"));
  BULWARK_ASSIGN_OR_RETURN(key.revoked_at, num("revoked_at"));
  Result<std::string> raw = jose::Base64UrlDecode(std::string_view(*hash).substr(7));
  if (!raw || raw->size() != 32) return Err(DataLossError("api key record: bad hash"));
  return std::pair{std::move(key), std::move(*raw)};
}

bool IsKeyId(std::string_view id) {
  return id.size() == kIdHexDigits && std::all_of(id.begin(), id.end(), IsHexLower);
}

std::string StoreKey(std::string_view id) {
  return std::string(kApiKeyStorePrefix) + std::string(id);
}

}  // namespace

bool LooksLikeApiKey(std::string_view text) {
  if (text.size() != kKeyLength || !text.starts_with(kApiKeyPrefix)) return false;
  const std::string_view id = text.substr(kApiKeyPrefix.size(), kIdHexDigits);
  const std::string_view secret = text.substr(kApiKeyPrefix.size() + kIdHexDigits + 1);
  return IsKeyId(id) && text[kApiKeyPrefix.size() + kIdHexDigits] == '_' &&
         std::all_of(secret.begin(), secret.end(), IsBase64Url);
}

bool ContainsApiKey(std::string_view text) {
  for (size_t at = text.find(kApiKeyPrefix); at != std::string_view::npos;
       at = text.find(kApiKeyPrefix, at + 1)) {
    if (LooksLikeApiKey(text.substr(at, kKeyLength))) return true;
  }
  return false;
}

bool IsForwardableSubject(std::string_view subject) {
  return !subject.empty() && !HasControl(subject) && subject.front() != ' ' &&
         subject.back() != ' ';
}

Status ValidateApiKeySpec(const ApiKeySpec& spec) {
  if (spec.name.empty() || Characters(spec.name) > 128 || HasControl(spec.name)) {
    return InvalidArgumentError("name: 1..128 characters without control characters");
  }
  if (Characters(spec.subject) > 256 || !IsForwardableSubject(spec.subject)) {
    return InvalidArgumentError(
        "subject: 1..256 characters without control characters or surrounding spaces");
  }
  BULWARK_RETURN_IF_ERROR(ValidateList(spec.scopes, "scopes"));
  BULWARK_RETURN_IF_ERROR(ValidateList(spec.roles, "roles"));
  if (spec.ttl && (spec.ttl->count() < kMinTtlSeconds || spec.ttl->count() > kMaxTtlSeconds)) {
    return InvalidArgumentError("ttl: from 60 seconds to 10 years");
  }
  return OkStatus();
}

Result<std::pair<ApiKey, crypto::SecretBytes>> ApiKeyService::Create(const ApiKeySpec& spec) {
  BULWARK_RETURN_IF_ERROR(ValidateApiKeySpec(spec));
  ApiKey key{.name = spec.name,
             .subject = spec.subject,
             .scopes = spec.scopes,
             .roles = spec.roles,
             .created_at = clock_.NowUnixSeconds()};
  if (spec.ttl) key.expires_at = key.created_at + spec.ttl->count();
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::array<uint8_t, kIdHexDigits / 2> id_bytes{};
    BULWARK_RETURN_IF_ERROR(crypto::RandomBytes(id_bytes));
    static constexpr char kHex[] = "0123456789abcdef";
    key.id.clear();
    for (uint8_t b : id_bytes) {
      key.id.push_back(kHex[b >> 4]);
      key.id.push_back(kHex[b & 0xf]);
    }
    BULWARK_ASSIGN_OR_RETURN(crypto::SecretBytes raw, crypto::RandomSecret(kSecretBytes));
    std::string secret = jose::Base64UrlEncode(raw.ExposeSecretAsString());
    const std::string hash = HashSecret(key.id, secret);
    std::string full = std::string(kApiKeyPrefix) + key.id + "_" + secret;
    crypto::WipeString(secret);
    crypto::SecretBytes presented = crypto::SecretBytes::FromString(full);
    crypto::WipeString(full);

    store::TxnRequest txn;
    txn.compares.push_back(store::Compare::Missing(StoreKey(key.id)));
    txn.success.push_back(store::TxnPut{StoreKey(key.id), Serialize(key, hash)});
    BULWARK_ASSIGN_OR_RETURN(store::TxnResult result, store_.Txn(txn));
    if (result.succeeded) return std::pair{std::move(key), std::move(presented)};
    // 64 random bits met an existing id: draw again.
  }
  return Err(InternalError("could not allocate an API key id"));
}

Result<std::vector<ApiKey>> ApiKeyService::List() {
  BULWARK_ASSIGN_OR_RETURN(store::RangeResult range,
                           store_.Range(store::KeyRange::Prefix(kApiKeyStorePrefix)));
  std::vector<ApiKey> keys;
  for (const store::KeyValue& kv : range.kvs) {
    BULWARK_ASSIGN_OR_RETURN(auto parsed, Parse(kv.value));
    keys.push_back(std::move(parsed.first));
  }
  return keys;
}

Result<ApiKey> ApiKeyService::Get(std::string_view id) {
  if (!IsKeyId(id)) return Err(NotFoundError("no such api key"));
  BULWARK_ASSIGN_OR_RETURN(std::optional<store::KeyValue> kv, store_.Get(StoreKey(id)));
  if (!kv) return Err(NotFoundError("no such api key"));
  BULWARK_ASSIGN_OR_RETURN(auto parsed, Parse(kv->value));
  return std::move(parsed.first);
}

Result<ApiKey> ApiKeyService::Revoke(std::string_view id) {
  if (!IsKeyId(id)) return Err(NotFoundError("no such api key"));
  for (int attempt = 0; attempt < 8; ++attempt) {
    BULWARK_ASSIGN_OR_RETURN(std::optional<store::KeyValue> kv, store_.Get(StoreKey(id)));
    if (!kv) return Err(NotFoundError("no such api key"));
    BULWARK_ASSIGN_OR_RETURN(auto parsed, Parse(kv->value));
    auto& [key, hash] = parsed;
    if (key.revoked_at) return std::move(key);
    key.revoked_at = clock_.NowUnixSeconds();
    store::TxnRequest txn;
    txn.compares.push_back(
        store::Compare::ModRevision(kv->key, store::Compare::Op::kEqual, kv->mod_revision));
    txn.success.push_back(store::TxnPut{kv->key, Serialize(key, hash)});
    BULWARK_ASSIGN_OR_RETURN(store::TxnResult result, store_.Txn(txn));
    if (result.succeeded) return std::move(key);
    // Changed under us: read it again.
  }
  return Err(AbortedError("api key kept changing; try again"));
}

Result<std::unique_ptr<ApiKeyIndex>> ApiKeyIndex::Create(store::Store& store, const Clock& clock) {
  std::unique_ptr<ApiKeyIndex> index(new ApiKeyIndex(store, clock));
  BULWARK_RETURN_IF_ERROR(index->Load());
  index->repairer_ = std::thread([self = index.get()] { self->RepairLoop(); });
  return index;
}

ApiKeyIndex::~ApiKeyIndex() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (repairer_.joinable()) repairer_.join();
  watch_.reset();
}

Status ApiKeyIndex::Load() {
  BULWARK_ASSIGN_OR_RETURN(store::RangeResult range,
                           store_.Range(store::KeyRange::Prefix(kApiKeyStorePrefix)));
  auto snapshot = std::make_shared<Snapshot>();
  for (const store::KeyValue& kv : range.kvs) {
    auto parsed = Parse(kv.value);
    if (!parsed) {  // one bad record must not disable every other key
      log::Error("identity.api_key_unreadable", {{"key", kv.key}});
      continue;
    }
    std::string id = parsed->first.id;  // (the right side of = runs first and moves it)
    (*snapshot)[std::move(id)] = {std::move(parsed->first), std::move(parsed->second)};
  }
  snapshot_.store(std::move(snapshot));
  // From the revision read on, so no change between the read and the watch
  // is missed.
  BULWARK_ASSIGN_OR_RETURN(
      watch_, store_.StartWatch(
                  {.range = store::KeyRange::Prefix(kApiKeyStorePrefix),
                   .start_revision = range.revision + 1},
                  {.on_events = [this](std::span<const store::Event> events) { Apply(events); },
                   .on_error = [this](const Status& status) { OnWatchError(status); }}));
  return OkStatus();
}

void ApiKeyIndex::OnWatchError(const Status& status) {
  if (status.code() == StatusCode::kCancelled) return;  // the store is closing
  // Without the watch a revocation could be missed: fail closed until the
  // repair thread has reloaded every key.
  broken_.store(true);
  log::Error("identity.api_key_watch_failed", {{"error", status.message()}});
  {
    std::lock_guard lock(mu_);
    ++watch_failures_;
  }
  wake_.notify_all();
}

void ApiKeyIndex::RepairLoop() {
  constexpr std::chrono::milliseconds kFirstBackoff{100};
  constexpr std::chrono::milliseconds kMaxBackoff{5000};
  std::chrono::milliseconds backoff = kFirstBackoff;
  uint64_t repaired = 0;  // watch failures dealt with
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait(lock, [&] { return stop_ || watch_failures_ != repaired; });
    if (stop_) return;
    const uint64_t failures = watch_failures_;
    lock.unlock();
    watch_.reset();  // the ended watch; returns once its callback is done
    const Status loaded = Load();
    lock.lock();
    if (!loaded.ok()) {
      log::Error("identity.api_key_reload_failed", {{"error", loaded.message()}});
      wake_.wait_for(lock, backoff, [&] { return stop_; });
      backoff = std::min(backoff * 2, kMaxBackoff);
      continue;  // watch_failures_ is still ahead of `repaired`: try again
    }
    repaired = failures;
    backoff = kFirstBackoff;
    // A failure of the new watch counted meanwhile keeps the index closed
    // and goes round again.
    if (watch_failures_ == repaired) {
      broken_.store(false);
      log::Info("identity.api_key_index_reloaded", {{"keys", std::to_string(size())}});
    }
  }
}

void ApiKeyIndex::Apply(std::span<const store::Event> events) {
  auto next = std::make_shared<Snapshot>(*snapshot_.load());
  for (const store::Event& event : events) {
    const std::string id = event.kv.key.substr(kApiKeyStorePrefix.size());
    if (event.type == store::EventType::kDelete) {
      next->erase(id);
      continue;
    }
    auto parsed = Parse(event.kv.value);
    if (!parsed) {
      next->erase(id);  // unreadable: the key no longer opens anything
      log::Error("identity.api_key_unreadable", {{"key", event.kv.key}});
      continue;
    }
    (*next)[id] = {std::move(parsed->first), std::move(parsed->second)};
  }
  snapshot_.store(std::move(next));
}

size_t ApiKeyIndex::size() const { return snapshot_.load()->size(); }

Result<ApiKey> ApiKeyIndex::Verify(std::string_view presented) const {
  if (broken_.load(std::memory_order_relaxed)) {
    return Err(UnavailableError("api key index unavailable"));
  }
  if (!LooksLikeApiKey(presented)) return Err(UnauthenticatedError("malformed api key"));
  const std::string_view id = presented.substr(kApiKeyPrefix.size(), kIdHexDigits);
  const std::string_view secret = presented.substr(kApiKeyPrefix.size() + kIdHexDigits + 1);
  const std::shared_ptr<const Snapshot> snapshot = snapshot_.load();
  auto it = snapshot->find(std::string(id));
  // An unknown id still costs a hash, so timing does not tell ids apart.
  const std::string hash = HashSecret(id, secret);
  if (it == snapshot->end()) return Err(UnauthenticatedError("unknown api key"));
  if (!crypto::ConstantTimeEquals(hash, it->second.hash)) {
    return Err(UnauthenticatedError("unknown api key"));
  }
  const ApiKey& key = it->second.key;
  if (key.revoked_at) return Err(UnauthenticatedError("api key revoked"));
  if (Expired(key)) {
    return Err(UnauthenticatedError("api key expired"));
  }
  return key;
}

bool ApiKeyIndex::Expired(const ApiKey& key) const {
  return key.expires_at && clock_.NowUnixSeconds() >= *key.expires_at;
}

bool ApiKeyIndex::Stands(std::string_view id) const {
  const std::shared_ptr<const Snapshot> snapshot = snapshot_.load();
  const auto it = snapshot->find(std::string(id));
  const ApiKey* key = it == snapshot->end() ? nullptr : &it->second.key;
  // An expiry is known here, watch or no watch: a tunnel ends with it.
  if (key != nullptr && Expired(*key)) return false;
  if (broken_.load(std::memory_order_relaxed)) return true;
  return key != nullptr && !key->revoked_at;
}

}  // namespace bulwark::identity
