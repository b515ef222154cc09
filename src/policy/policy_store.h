// Cedar policies, entities and schema kept in the store, so operators change
// them while Bulwark serves and every node of a cluster follows.
//
// Keys (under /bulwark/cedar/):
//   policies/<name>  a policy document: Cedar text of one or more policies
//   entities         the entities, Cedar's JSON entity format
//   schema           a Cedar schema (text or JSON format), optional
//   generation       bumped by every change (optimistic concurrency)
//
// Every change is checked as the whole snapshot it would make (each document
// parses, policy ids are unique across documents, policies validate against
// the schema, entities fit it) before anything is written, and is written as
// one transaction; a bad change is refused and the previous snapshot keeps
// serving. A store watch carries each change, from this node or another, to
// a new snapshot swapped in atomically; decisions in flight finish on the
// one they started with.
#ifndef BULWARK_POLICY_POLICY_STORE_H_
#define BULWARK_POLICY_POLICY_STORE_H_

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "core/status.h"
#include "policy/cedar_snapshot.h"
#include "store/store.h"

namespace bulwark::policy {

inline constexpr std::string_view kCedarStorePrefix = "/bulwark/cedar/";

// What the store holds, as text.
struct PolicyDocuments {
  std::map<std::string, std::string, std::less<>> policies;  // name -> Cedar text
  std::string entities = "[]";
  std::optional<std::string> schema;
};

class PolicyStore final : public cedar::SnapshotSource {
 public:
  // Loads what the store holds and watches it. If the store holds no Cedar
  // keys yet and `seed` is given, the seed is checked and written first (a
  // config's files become the store's first snapshot). kInvalidArgument if
  // the seed, or what the store holds, does not load.
  static Result<std::unique_ptr<PolicyStore>> Open(store::Store& store,
                                                   std::optional<PolicyDocuments> seed);
  ~PolicyStore() override;

  std::shared_ptr<const cedar::CedarSnapshot> Current() const override;
  // The store revision the current snapshot reflects.
  int64_t revision() const;

  // Changes. Each returns the store revision that holds it, and the
  // snapshot it makes is current when it returns. kInvalidArgument (nothing
  // written) if the result would not load, naming the document and place;
  // kNotFound deleting what is not there; kAborted if another writer changed
  // the Cedar keys at the same moment (twice in a row).
  Result<int64_t> PutPolicies(std::string_view name, std::string_view text);
  Result<int64_t> DeletePolicies(std::string_view name);
  Result<int64_t> PutEntities(std::string_view json);
  Result<int64_t> PutSchema(std::string_view text);
  Result<int64_t> DeleteSchema();

  // What the store holds now.
  Result<PolicyDocuments> Read() const;

 private:
  explicit PolicyStore(store::Store& store) : store_(store) {}
  struct Contents {
    PolicyDocuments documents;
    int64_t revision = 0;            // the store revision read
    int64_t generation_version = 0;  // of the generation key (0: missing)
  };
  Result<Contents> ReadContents() const;
  // Applies `change` to what the store holds, checks the result and writes
  // it in one transaction guarded by the generation key.
  Result<int64_t> Change(const std::function<Status(PolicyDocuments&)>& change);
  // Loads the store's contents into a new snapshot (kept only if newer).
  Status Reload();
  void Install(std::shared_ptr<const cedar::CedarSnapshot> snapshot, int64_t revision);
  Status StartWatch(int64_t from_revision);
  void Worker();

  store::Store& store_;
  mutable std::mutex install_mu_;  // orders installs by revision
  std::atomic<std::shared_ptr<const cedar::CedarSnapshot>> snapshot_;
  std::atomic<int64_t> revision_{0};

  std::mutex mu_;  // guards the fields below
  std::condition_variable wake_;
  bool dirty_ = false;   // the watch saw a change
  bool broken_ = false;  // the watch ended: reload and watch again
  bool stop_ = false;
  std::unique_ptr<store::Watch> watch_;  // replaced only by the worker
  std::thread worker_;
};

// The snapshot `documents` make, checked as PolicyStore checks a change:
// errors name the document ("policies/main:3:7: ..."), entities or schema.
Result<cedar::CedarSnapshot> LoadDocuments(const PolicyDocuments& documents);

}  // namespace bulwark::policy

#endif  // BULWARK_POLICY_POLICY_STORE_H_
