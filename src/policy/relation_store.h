// Relationship tuples and their model, kept in the store and served from an
// in-memory index, so Check touches no disk and every node of a cluster
// answers from the same tuples.
//
// Keys (under /bulwark/relations/):
//   model                               the authorization model (DSL text)
//   tuples/<object>#<relation>@<user>   a tuple; the value is JSON,
//                                       {"condition": name, "context": {...}}
//                                       or {} without a condition
//
// Writes and deletes go in one transaction that fails if a tuple to write
// already exists or one to delete does not, and return the store revision
// that holds them: the consistency token. A store watch applies every change
// (from this node or another) to the index in revision order; a query may
// ask for at least a token, and waits (bounded) until the index has it, so a
// check made after a write or a revocation never sees the world before it
// (Zanzibar's "new enemy" problem). On this node a write returns only once
// the index holds it.
//
// Readers take a shared lock on the index for the length of one query;
// watch events take it exclusively for the few microseconds of applying
// them. Thread-safe.
#ifndef BULWARK_POLICY_RELATION_STORE_H_
#define BULWARK_POLICY_RELATION_STORE_H_

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/status.h"
#include "policy/fga_check.h"
#include "policy/fga_index.h"
#include "policy/fga_model.h"
#include "store/store.h"

namespace bulwark::policy {

inline constexpr std::string_view kRelationStorePrefix = "/bulwark/relations/";
// Tuples one Write may carry (writes and deletes together).
inline constexpr size_t kMaxTuplesPerWrite = 100;

struct RelationStoreOptions {
  // How long a query waits for the index to reach its consistency token.
  std::chrono::milliseconds consistency_wait{2000};
};

class RelationStore {
 public:
  // Loads the model and tuples the store holds and watches them. If the
  // store holds no model and `seed_model` is given, it is written first.
  // kInvalidArgument if the seed or the stored model does not parse.
  static Result<std::unique_ptr<RelationStore>> Open(store::Store& store,
                                                     std::optional<std::string> seed_model,
                                                     RelationStoreOptions options = {});
  ~RelationStore();

  // Replaces the model; returns the revision that holds it.
  // kInvalidArgument "line N: reason" if it does not parse or validate.
  // Tuples the new model no longer allows stay stored but grant nothing.
  Result<int64_t> PutModel(std::string_view dsl);
  // The model's text and the revision that wrote it; kNotFound if none.
  Result<std::pair<std::string, int64_t>> ReadModel() const;

  // Writes and deletes tuples in one transaction; returns its revision.
  // kFailedPrecondition without a model; kInvalidArgument for a tuple the
  // model does not allow (naming it), the same tuple twice, or more than
  // kMaxTuplesPerWrite; kAlreadyExists writing a stored tuple; kNotFound
  // deleting one that is not stored. Nothing is written on any error.
  Result<int64_t> Write(std::span<const fga::TupleKey> writes,
                        std::span<const fga::TupleKey> deletes);

  // Stored tuples matching a filter (empty fields match anything; `object`
  // may be a bare type such as "document:" to match all of its objects), in
  // key order, starting after `after` (a continuation token from the last
  // page), at most `limit`. Sets `*next` to the token of the next page, or
  // "" at the end.
  struct ReadFilter {
    std::string object;
    std::string relation;
    std::string user;
  };
  Result<std::vector<fga::TupleKey>> Read(const ReadFilter& filter, std::string_view after,
                                          size_t limit, std::string* next) const;

  // The queries of fga_check.h over the index. `at_least` is a consistency
  // token (0: whatever the index holds); kUnavailable if the index does not
  // reach it within the configured wait; kFailedPrecondition without a model.
  Result<fga::CheckResult> Check(const fga::CheckRequest& request, int64_t at_least = 0) const;
  Result<std::vector<std::string>> ListObjects(const fga::ListObjectsRequest& request,
                                               int64_t at_least = 0) const;
  Result<std::vector<std::string>> ListUsers(const fga::ListUsersRequest& request,
                                             int64_t at_least = 0) const;
  Result<fga::ExpandNode> Expand(const fga::ObjectRef& object, std::string_view relation,
                                 int64_t at_least = 0) const;
  Result<std::vector<std::string>> ListRelations(const fga::ObjectRef& object,
                                                 const fga::UserRef& user,
                                                 const cel::Activation& context,
                                                 int64_t at_least = 0) const;

  // The store revision the index reflects.
  int64_t revision() const;
  size_t tuple_count() const;
  size_t index_bytes() const;

 private:
  RelationStore(store::Store& store, RelationStoreOptions options)
      : store_(store), options_(options) {}
  // Reads everything into a fresh index and model; returns the revision read.
  Result<int64_t> Load();
  void Apply(std::span<const store::Event> events);
  Status StartWatch(int64_t from_revision);
  void Worker();
  // Waits until the index reflects `revision`; false on timeout.
  bool WaitFor(int64_t revision) const;
  template <typename F>
  auto Query(int64_t at_least, F f) const -> decltype(f(std::declval<const fga::Model&>()));

  store::Store& store_;
  const RelationStoreOptions options_;

  mutable std::shared_mutex index_mu_;  // guards the fields below
  std::shared_ptr<const fga::Model> model_;
  std::string model_text_;
  int64_t model_revision_ = 0;
  fga::TupleIndex index_;
  int64_t revision_ = 0;

  mutable std::mutex wait_mu_;  // pairs with applied_ for WaitFor
  mutable std::condition_variable applied_;

  std::mutex worker_mu_;  // guards the fields below
  std::condition_variable wake_;
  bool broken_ = false;  // the watch ended: reload and watch again
  bool stop_ = false;
  std::unique_ptr<store::Watch> watch_;
  std::thread worker_;
};

// The store key of a tuple ("/bulwark/relations/tuples/doc:1#viewer@user:anne")
// and back. ParseTupleStoreKey fails (kInvalidArgument) on a malformed key.
std::string TupleStoreKey(const fga::TupleKey& tuple);
Result<fga::TupleKey> ParseTupleStoreKey(std::string_view key, std::string_view value);

}  // namespace bulwark::policy

#endif  // BULWARK_POLICY_RELATION_STORE_H_
