#include "policy/relation_store.h"

#include <fmt/format.h>

#include <set>

#include "core/log.h"

namespace bulwark::policy {

namespace {

constexpr std::chrono::milliseconds kRetryPause{500};
constexpr int64_t kLoadPage = 10'000;

const std::string& ModelKey() {
  static const std::string key = fmt::format("{}model", kRelationStorePrefix);
  return key;
}
const std::string& TuplesPrefix() {
  static const std::string prefix = fmt::format("{}tuples/", kRelationStorePrefix);
  return prefix;
}

std::string TupleValue(const fga::TupleKey& t) {
  if (t.condition.empty()) return "{}";
  std::string out = fmt::format("{{\"condition\":\"{}\"", t.condition);  // names are plain
  if (t.context != nullptr && !t.context->empty()) {
    out += ",\"context\":" + cel::ContextToJson(*t.context);
  }
  return out + "}";
}

}  // namespace

std::string TupleStoreKey(const fga::TupleKey& t) {
  return fmt::format("{}{}#{}@{}", TuplesPrefix(), fga::ToString(t.object), t.relation,
                     fga::ToString(t.user));
}

Result<fga::TupleKey> ParseTupleStoreKey(std::string_view key, std::string_view value) {
  if (!key.starts_with(TuplesPrefix())) return Err(InvalidArgumentError("not a tuple key"));
  key.remove_prefix(TuplesPrefix().size());
  // Object ids hold no '#'; relation names hold no '@'.
  const size_t hash = key.find('#');
  const size_t at = key.find('@', hash == std::string_view::npos ? 0 : hash);
  if (hash == std::string_view::npos || at == std::string_view::npos) {
    return Err(InvalidArgumentError("malformed tuple key"));
  }
  fga::TupleKey t;
  BULWARK_ASSIGN_OR_RETURN(t.object, fga::ParseObject(key.substr(0, hash)));
  t.relation = key.substr(hash + 1, at - hash - 1);
  BULWARK_ASSIGN_OR_RETURN(t.user, fga::ParseUser(key.substr(at + 1)));
  if (!value.empty() && value != "{}") {
    BULWARK_ASSIGN_OR_RETURN(cel::Value v, cel::ValueFromJson(value));
    if (!v.is(cel::Value::Kind::kMap)) return Err(InvalidArgumentError("malformed tuple value"));
    if (const cel::Value* c = v.Find(cel::Value::String("condition"))) {
      if (!c->is(cel::Value::Kind::kString)) return Err(InvalidArgumentError("bad condition"));
      t.condition = c->string_value();
    }
    if (const cel::Value* c = v.Find(cel::Value::String("context"))) {
      if (!c->is(cel::Value::Kind::kMap)) return Err(InvalidArgumentError("bad context"));
      cel::Activation context;
      for (const auto& [k, x] : c->map()) {
        if (k.is(cel::Value::Kind::kString)) context.emplace(k.string_value(), x);
      }
      t.context = std::make_shared<const cel::Activation>(std::move(context));
    }
  }
  return t;
}

Result<std::unique_ptr<RelationStore>> RelationStore::Open(store::Store& store,
                                                           std::optional<std::string> seed_model,
                                                           RelationStoreOptions options) {
  std::unique_ptr<RelationStore> rs(new RelationStore(store, options));
  if (seed_model) {
    auto model = fga::Model::Parse(*seed_model);
    if (!model) return Err(InvalidArgumentError("model: " + model.error().message()));
    store::TxnRequest txn;
    txn.compares.push_back(store::Compare::Missing(ModelKey()));
    txn.success.push_back(store::TxnPut{ModelKey(), *seed_model});
    BULWARK_ASSIGN_OR_RETURN(store::TxnResult result, store.Txn(txn));
    if (result.succeeded) log::Info("relations.model_seeded", {{"revision", result.revision}});
  }
  BULWARK_ASSIGN_OR_RETURN(int64_t revision, rs->Load());
  BULWARK_RETURN_IF_ERROR(rs->StartWatch(revision + 1));
  rs->worker_ = std::thread([p = rs.get()] { p->Worker(); });
  return rs;
}

RelationStore::~RelationStore() {
  {
    std::lock_guard lock(worker_mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
  watch_.reset();
}

Result<int64_t> RelationStore::Load() {
  BULWARK_ASSIGN_OR_RETURN(store::RangeResult model_range,
                           store_.Range(store::KeyRange::Key(ModelKey())));
  const int64_t revision = model_range.revision;
  std::shared_ptr<const fga::Model> model;
  std::string text;
  int64_t model_revision = 0;
  if (!model_range.kvs.empty()) {
    text = model_range.kvs[0].value;
    model_revision = model_range.kvs[0].mod_revision;
    auto parsed = fga::Model::Parse(text);
    if (!parsed) return Err(InvalidArgumentError("stored model: " + parsed.error().message()));
    model = std::make_shared<const fga::Model>(std::move(*parsed));
  }
  // Pages read at later revisions than `revision` are fine: the watch
  // replays every change after it, and applying one twice is harmless.
  fga::TupleIndex index;
  store::KeyRange range = store::KeyRange::Prefix(TuplesPrefix());
  while (true) {
    BULWARK_ASSIGN_OR_RETURN(store::RangeResult page, store_.Range(range, {.limit = kLoadPage}));
    for (const store::KeyValue& kv : page.kvs) {
      auto tuple = ParseTupleStoreKey(kv.key, kv.value);
      if (!tuple) {
        log::Error("relations.bad_tuple", {{"key", kv.key}, {"error", tuple.error().message()}});
        continue;
      }
      index.Add(*tuple);
    }
    if (!page.more || page.kvs.empty()) break;
    range.begin = page.kvs.back().key + '\0';
  }
  {
    std::unique_lock lock(index_mu_);
    model_ = std::move(model);
    model_text_ = std::move(text);
    model_revision_ = model_revision;
    index_ = std::move(index);
    revision_ = revision;
  }
  applied_.notify_all();
  log::Info("relations.loaded",
            {{"revision", revision}, {"tuples", static_cast<int64_t>(tuple_count())}});
  return revision;
}

void RelationStore::Apply(std::span<const store::Event> events) {
  {
    std::unique_lock lock(index_mu_);
    for (const store::Event& e : events) {
      if (e.kv.key == ModelKey()) {
        if (e.type == store::EventType::kDelete) {
          model_.reset();
          model_text_.clear();
          continue;
        }
        auto parsed = fga::Model::Parse(e.kv.value);
        if (!parsed) {  // written by something that did not check it
          log::Error("relations.bad_model", {{"error", parsed.error().message()}});
          continue;
        }
        model_ = std::make_shared<const fga::Model>(std::move(*parsed));
        model_text_ = e.kv.value;
        model_revision_ = e.revision();
        continue;
      }
      auto tuple = ParseTupleStoreKey(e.kv.key, e.kv.value);
      if (!tuple) continue;
      if (e.type == store::EventType::kPut) {
        // A key put again replaces its tuple, whose condition or context may
        // have changed: the index holds what the store holds. (Write refuses
        // an existing tuple; another writer of the store may not.)
        if (!index_.Add(*tuple)) {
          index_.Remove(*tuple);
          index_.Add(*tuple);
        }
      } else {
        index_.Remove(*tuple);
      }
    }
    if (!events.empty()) revision_ = std::max(revision_, events.back().revision());
  }
  { std::lock_guard lock(wait_mu_); }
  applied_.notify_all();
}

Status RelationStore::StartWatch(int64_t from_revision) {
  BULWARK_ASSIGN_OR_RETURN(
      std::unique_ptr<store::Watch> watch,
      store_.StartWatch(
          {.range = store::KeyRange::Prefix(kRelationStorePrefix), .start_revision = from_revision},
          {.on_events = [this](std::span<const store::Event> events) { Apply(events); },
           .on_error =
               [this](const Status& status) {
                 if (status.code() == StatusCode::kCancelled) return;
                 log::Error("relations.watch_failed", {{"error", status.message()}});
                 {
                   std::lock_guard lock(worker_mu_);
                   broken_ = true;
                 }
                 wake_.notify_all();
               }}));
  std::lock_guard lock(worker_mu_);
  watch_ = std::move(watch);
  return OkStatus();
}

// Repairs a watch that ended (it fell behind compaction): reload everything
// and watch again from there.
void RelationStore::Worker() {
  std::unique_lock lock(worker_mu_);
  while (true) {
    wake_.wait(lock, [&] { return stop_ || broken_; });
    if (stop_) return;
    broken_ = false;
    std::unique_ptr<store::Watch> old = std::move(watch_);
    lock.unlock();
    old.reset();
    auto revision = Load();
    Status status = revision ? StartWatch(*revision + 1) : revision.error();
    if (!status.ok()) {
      log::Error("relations.reload_failed", {{"error", status.message()}});
      std::this_thread::sleep_for(kRetryPause);
    }
    lock.lock();
    if (!status.ok()) broken_ = true;
  }
}

int64_t RelationStore::revision() const {
  std::shared_lock lock(index_mu_);
  return revision_;
}

size_t RelationStore::tuple_count() const {
  std::shared_lock lock(index_mu_);
  return index_.size();
}

size_t RelationStore::index_bytes() const {
  std::shared_lock lock(index_mu_);
  return index_.MemoryBytes();
}

bool RelationStore::WaitFor(int64_t revision) const {
  if (revision <= 0 || this->revision() >= revision) return true;
  std::unique_lock lock(wait_mu_);
  return applied_.wait_for(lock, options_.consistency_wait,
                           [&] { return this->revision() >= revision; });
}

template <typename F>
auto RelationStore::Query(int64_t at_least, F f) const
    -> decltype(f(std::declval<const fga::Model&>())) {
  if (!WaitFor(at_least)) {
    return Err(Status(StatusCode::kUnavailable,
                      fmt::format("the relation index has not reached revision {} yet", at_least)));
  }
  std::shared_lock lock(index_mu_);
  if (model_ == nullptr) {
    return Err(Status(StatusCode::kFailedPrecondition, "no authorization model yet"));
  }
  return f(*model_);
}

Result<fga::CheckResult> RelationStore::Check(const fga::CheckRequest& request,
                                              int64_t at_least) const {
  return Query(at_least,
               [&](const fga::Model& model) { return fga::Check(model, index_, request); });
}

Result<std::vector<std::string>> RelationStore::ListObjects(const fga::ListObjectsRequest& request,
                                                            int64_t at_least) const {
  return Query(at_least,
               [&](const fga::Model& model) { return fga::ListObjects(model, index_, request); });
}

Result<std::vector<std::string>> RelationStore::ListUsers(const fga::ListUsersRequest& request,
                                                          int64_t at_least) const {
  return Query(at_least,
               [&](const fga::Model& model) { return fga::ListUsers(model, index_, request); });
}

Result<fga::ExpandNode> RelationStore::Expand(const fga::ObjectRef& object,
                                              std::string_view relation, int64_t at_least) const {
  return Query(at_least, [&](const fga::Model& model) {
    return fga::Expand(model, index_, object, relation);
  });
}

Result<std::vector<std::string>> RelationStore::ListRelations(const fga::ObjectRef& object,
                                                              const fga::UserRef& user,
                                                              const cel::Activation& context,
                                                              int64_t at_least) const {
  return Query(at_least, [&](const fga::Model& model) {
    return fga::ListRelations(model, index_, object, user, context);
  });
}

Result<int64_t> RelationStore::PutModel(std::string_view dsl) {
  auto model = fga::Model::Parse(dsl);
  if (!model) return Err(model.error());
  BULWARK_ASSIGN_OR_RETURN(store::PutResult put, store_.Put(ModelKey(), dsl));
  WaitFor(put.revision);
  return put.revision;
}

Result<std::pair<std::string, int64_t>> RelationStore::ReadModel() const {
  std::shared_lock lock(index_mu_);
  if (model_ == nullptr) return Err(NotFoundError("no authorization model yet"));
  return std::make_pair(model_text_, model_revision_);
}

Result<int64_t> RelationStore::Write(std::span<const fga::TupleKey> writes,
                                     std::span<const fga::TupleKey> deletes) {
  if (writes.size() + deletes.size() == 0) {
    return Err(InvalidArgumentError("nothing to write or delete"));
  }
  if (writes.size() + deletes.size() > kMaxTuplesPerWrite) {
    return Err(InvalidArgumentError(fmt::format(
        "at most {} tuples per write (writes and deletes together)", kMaxTuplesPerWrite)));
  }
  std::shared_ptr<const fga::Model> model;
  {
    std::shared_lock lock(index_mu_);
    model = model_;
  }
  if (model == nullptr) {
    return Err(Status(StatusCode::kFailedPrecondition, "no authorization model yet"));
  }
  store::TxnRequest txn;
  std::set<std::string> keys;
  for (const fga::TupleKey& t : writes) {
    BULWARK_RETURN_IF_ERROR(fga::ValidateTuple(*model, t));
    std::string key = TupleStoreKey(t);
    if (!keys.insert(key).second) {
      return Err(InvalidArgumentError(
          fmt::format("tuple {} appears twice", key.substr(TuplesPrefix().size()))));
    }
    txn.compares.push_back(store::Compare::Missing(key));
    txn.success.push_back(store::TxnPut{std::move(key), TupleValue(t)});
  }
  for (const fga::TupleKey& t : deletes) {
    std::string key = TupleStoreKey(t);
    if (!keys.insert(key).second) {
      return Err(InvalidArgumentError(
          fmt::format("tuple {} appears twice", key.substr(TuplesPrefix().size()))));
    }
    txn.compares.push_back(store::Compare::Version(key, store::Compare::Op::kGreater, 0));
    txn.success.push_back(store::TxnDelete{store::KeyRange::Key(std::move(key))});
  }
  BULWARK_ASSIGN_OR_RETURN(store::TxnResult result, store_.Txn(txn));
  if (!result.succeeded) {
    // Say which tuple stood in the way.
    for (const fga::TupleKey& t : writes) {
      BULWARK_ASSIGN_OR_RETURN(auto kv, store_.Get(TupleStoreKey(t)));
      if (kv) {
        return Err(
            AlreadyExistsError(fmt::format("tuple {}#{}@{} already exists", fga::ToString(t.object),
                                           t.relation, fga::ToString(t.user))));
      }
    }
    for (const fga::TupleKey& t : deletes) {
      BULWARK_ASSIGN_OR_RETURN(auto kv, store_.Get(TupleStoreKey(t)));
      if (!kv) {
        return Err(
            NotFoundError(fmt::format("tuple {}#{}@{} does not exist", fga::ToString(t.object),
                                      t.relation, fga::ToString(t.user))));
      }
    }
    return Err(Status(StatusCode::kAborted, "the tuples changed concurrently; try again"));
  }
  // Read-your-writes: the index holds the change before the token is handed out.
  WaitFor(result.revision);
  return result.revision;
}

Result<std::vector<fga::TupleKey>> RelationStore::Read(const ReadFilter& filter,
                                                       std::string_view after, size_t limit,
                                                       std::string* next) const {
  std::string prefix = TuplesPrefix();
  if (!filter.object.empty()) {
    prefix += filter.object;
    if (!filter.object.ends_with(':')) {
      prefix += '#';
      if (!filter.relation.empty()) prefix += filter.relation + "@";
    }
  }
  store::KeyRange range = store::KeyRange::Prefix(prefix);
  if (!after.empty()) {
    const std::string resume = TuplesPrefix() + std::string(after) + '\0';
    if (resume > range.begin) range.begin = resume;
  }
  std::vector<fga::TupleKey> out;
  next->clear();
  while (out.size() < limit) {
    BULWARK_ASSIGN_OR_RETURN(store::RangeResult page,
                             store_.Range(range, {.limit = static_cast<int64_t>(limit)}));
    for (const store::KeyValue& kv : page.kvs) {
      auto t = ParseTupleStoreKey(kv.key, kv.value);
      if (!t) continue;
      if (!filter.relation.empty() && t->relation != filter.relation) continue;
      if (!filter.user.empty() && fga::ToString(t->user) != filter.user) continue;
      out.push_back(std::move(*t));
      if (out.size() == limit) {
        *next = kv.key.substr(TuplesPrefix().size());
        break;
      }
    }
    if (out.size() == limit || !page.more || page.kvs.empty()) break;
    range.begin = page.kvs.back().key + '\0';
  }
  return out;
}

}  // namespace bulwark::policy
