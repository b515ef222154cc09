// Store: Bulwark's one etcd-shaped key-value interface.
//
// Every piece of shared state (policies, tuples, revocations, keys, clients)
// lives behind this interface, so one node's embedded SQLite file and a
// cluster's etcd look the same to the layers above.
//
// The model is etcd's (https://etcd.io/docs/v3.5/learning/data_model/):
//  - The store has one revision counter. Every write (Put, a Delete that
//    removes something, a Txn that writes, a lease expiry) commits atomically
//    as exactly one new revision; reads never bump it. A fresh store is at
//    revision 1 and holds no keys.
//  - Each key records create_revision (the revision that created its current
//    incarnation), mod_revision (the last revision that changed it) and
//    version (puts since creation: 1 after the first put, reset by delete).
//  - A Watch delivers every change to a key range from a start revision, in
//    revision order, with no gaps, across history the store still retains.
//    Compact(r) forgets history below r; a watch that would need it fails
//    with kOutOfRange instead of silently skipping events.
//  - A lease has a TTL; keys put with it are deleted (one revision, watch
//    events included) when it expires or is revoked.
//
// Every method is thread-safe. A write returns only once it is durable for
// the backend (for sqlite: committed to the WAL with synchronous=FULL).
// Errors: kInvalidArgument for a malformed request (it changes nothing),
// kNotFound for an unknown lease, kOutOfRange for a compacted revision,
// kUnavailable / kDataLoss / kInternal when the backend fails (the write did
// not happen; nothing acknowledged before is lost).
#ifndef BULWARK_STORE_STORE_H_
#define BULWARK_STORE_STORE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/status.h"

namespace bulwark::store {

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  int64_t lease = 0;  // 0 = no lease

  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

// A half-open key range [begin, end), compared bytewise. As in etcd, an empty
// `end` means the single key `begin`, and an `end` of one NUL byte ("\0")
// means every key >= begin.
struct KeyRange {
  std::string begin;
  std::string end;

  static KeyRange Key(std::string key) { return {std::move(key), {}}; }
  // Every key starting with `prefix`; an empty prefix is every key.
  static KeyRange Prefix(std::string_view prefix);
  // [begin, end).
  static KeyRange Between(std::string begin, std::string end) {
    return {std::move(begin), std::move(end)};
  }

  bool single_key() const { return end.empty(); }
  bool Contains(std::string_view key) const;
};

struct RangeOptions {
  int64_t limit = 0;        // 0 = no limit
  bool keys_only = false;   // leave values empty
  bool count_only = false;  // return no keys, only the count
};

struct RangeResult {
  std::vector<KeyValue> kvs;  // in key order
  bool more = false;          // more keys matched than `limit` allowed
  int64_t count = 0;          // keys matching the range, ignoring the limit
  int64_t revision = 0;       // the store revision the read saw
};

struct PutOptions {
  int64_t lease = 0;  // attach the key to this lease; kNotFound if unknown or expired
};

struct PutResult {
  int64_t revision = 0;
  std::optional<KeyValue> previous;  // the key before this put, if it existed
};

struct DeleteResult {
  int64_t revision = 0;  // the store revision after the delete
  int64_t deleted = 0;   // keys removed
};

// One condition of a transaction, over a single key. A missing key has
// version, create_revision, mod_revision and lease 0 and never compares
// equal to any value.
struct Compare {
  enum class Target { kVersion, kCreateRevision, kModRevision, kValue, kLease };
  enum class Op { kEqual, kNotEqual, kLess, kGreater };

  std::string key;
  Target target = Target::kVersion;
  Op op = Op::kEqual;
  std::variant<int64_t, std::string> operand = int64_t{0};

  static Compare Version(std::string key, Op op, int64_t v) {
    return {std::move(key), Target::kVersion, op, v};
  }
  static Compare ModRevision(std::string key, Op op, int64_t r) {
    return {std::move(key), Target::kModRevision, op, r};
  }
  static Compare CreateRevision(std::string key, Op op, int64_t r) {
    return {std::move(key), Target::kCreateRevision, op, r};
  }
  static Compare Value(std::string key, Op op, std::string v) {
    return {std::move(key), Target::kValue, op, std::move(v)};
  }
  static Compare Lease(std::string key, Op op, int64_t lease) {
    return {std::move(key), Target::kLease, op, lease};
  }
  // True when `key` does not exist.
  static Compare Missing(std::string key) { return Version(std::move(key), Op::kEqual, 0); }
};

struct TxnPut {
  std::string key;
  std::string value;
  int64_t lease = 0;
};
struct TxnDelete {
  KeyRange range;
};
struct TxnGet {
  KeyRange range;
  RangeOptions options;
};
using TxnOp = std::variant<TxnPut, TxnDelete, TxnGet>;

// If every compare holds, `success` runs, else `failure`; either way the
// whole transaction is one atomic step and, if it writes, one revision.
// Ops run in order and a get sees the writes before it. No key may be
// written twice in one transaction (kInvalidArgument).
struct TxnRequest {
  std::vector<Compare> compares;
  std::vector<TxnOp> success;
  std::vector<TxnOp> failure;
};

using TxnOpResult = std::variant<PutResult, DeleteResult, RangeResult>;

struct TxnResult {
  bool succeeded = false;            // the compares held
  int64_t revision = 0;              // the store revision after the transaction
  std::vector<TxnOpResult> results;  // one per op of the branch that ran
};

enum class EventType { kPut, kDelete };

// One change. For kPut, kv is the key after the put; for kDelete, kv holds the
// key and mod_revision = the revision of the delete, other fields zero.
struct Event {
  EventType type = EventType::kPut;
  KeyValue kv;

  int64_t revision() const { return kv.mod_revision; }
  friend bool operator==(const Event&, const Event&) = default;
};

struct WatchOptions {
  KeyRange range;
  // First revision to deliver; 0 = changes after the current revision. A
  // revision below OldestWatchableRevision() fails with kOutOfRange.
  int64_t start_revision = 0;
};

// Callbacks of a watch. They run on the store's notifier thread, one at a
// time per store, so they must be quick (hand work to your own executor).
// Events arrive in revision order, each revision's events together, never
// twice, never with a gap. on_error ends the watch: kOutOfRange when the
// watcher fell behind compaction, kCancelled when the store closes.
struct WatchHandler {
  std::function<void(std::span<const Event>)> on_events;
  std::function<void(const Status&)> on_error;
};

// An active watch. Destroying it cancels the watch; once the destructor has
// returned no callback is running or will run (destroying it from inside its
// own callback is allowed and takes effect after that callback).
class Watch {
 public:
  virtual ~Watch() = default;
};

struct LeaseInfo {
  int64_t id = 0;
  std::chrono::seconds ttl{0};             // as granted
  std::chrono::milliseconds remaining{0};  // until expiry, as of the call
};

class Store {
 public:
  virtual ~Store() = default;

  // The current store revision.
  virtual int64_t Revision() const = 0;

  // The key, or std::nullopt if absent.
  virtual Result<std::optional<KeyValue>> Get(std::string_view key) = 0;
  virtual Result<RangeResult> Range(const KeyRange& range, const RangeOptions& options = {}) = 0;

  virtual Result<PutResult> Put(std::string_view key, std::string_view value,
                                const PutOptions& options = {}) = 0;
  // Deletes every key in range. Deleting nothing does not bump the revision.
  virtual Result<DeleteResult> Delete(const KeyRange& range) = 0;
  virtual Result<TxnResult> Txn(const TxnRequest& request) = 0;

  virtual Result<std::unique_ptr<Watch>> StartWatch(const WatchOptions& options,
                                                    WatchHandler handler) = 0;
  // Forgets history below `revision` (which must be <= Revision()); watches
  // from older revisions then fail. Returns the new compacted revision.
  virtual Result<int64_t> Compact(int64_t revision) = 0;
  // The lowest revision a new watch may start from.
  virtual int64_t OldestWatchableRevision() const = 0;

  // TTL between 1 s and 1 year.
  virtual Result<LeaseInfo> GrantLease(std::chrono::seconds ttl) = 0;
  // Restarts the lease's TTL. kNotFound if unknown or already expired.
  virtual Result<LeaseInfo> KeepAlive(int64_t lease) = 0;
  // Deletes the lease and its keys (one revision if it had keys).
  virtual Status RevokeLease(int64_t lease) = 0;
  virtual Result<LeaseInfo> LeaseTimeToLive(int64_t lease) = 0;
  // Revokes every lease whose TTL has passed by the store's clock. Backends
  // call it on their own every second; tests with a FakeClock call it.
  // Returns the number of leases revoked.
  virtual Result<int64_t> ExpireLeases() = 0;
};

// The smallest key greater than every key starting with `prefix`, or "\0"
// (the end of the keyspace) when there is none: the prefix is empty or all
// 0xff bytes.
std::string PrefixEnd(std::string_view prefix);

}  // namespace bulwark::store

#endif  // BULWARK_STORE_STORE_H_
