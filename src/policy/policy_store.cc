#include "policy/policy_store.h"

#include <fmt/format.h>

#include <set>

#include "core/log.h"
#include "policy/cedar_parser.h"

namespace bulwark::policy {

namespace {

constexpr size_t kMaxNameLength = 128;
constexpr std::chrono::milliseconds kRetryPause{500};

std::string Key(std::string_view suffix) { return fmt::format("{}{}", kCedarStorePrefix, suffix); }

const std::string& PoliciesPrefix() {
  static const std::string prefix = Key("policies/");
  return prefix;
}

Status CheckName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength ||
      !std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
      })) {
    return InvalidArgumentError(
        "a policy document name is 1 to 128 letters, digits, '-', '_' or '.'");
  }
  return OkStatus();
}

}  // namespace

Result<cedar::CedarSnapshot> LoadDocuments(const PolicyDocuments& documents) {
  std::vector<cedar::Policy> all;
  std::map<std::string, std::string, std::less<>> owner;  // policy id -> document
  for (const auto& [name, text] : documents.policies) {
    auto parsed = cedar::ParsePolicies(text);
    if (!parsed) {
      return Err(
          InvalidArgumentError(fmt::format("policies/{}:{}", name, parsed.error().message())));
    }
    for (cedar::Policy& policy : *parsed) {
      auto [it, fresh] = owner.emplace(policy.id, name);
      if (!fresh) {
        return Err(InvalidArgumentError(fmt::format(
            "policies/{}: policy id {} is also in policies/{} (ids must be unique; give each "
            "policy an @id)",
            name, policy.id, it->second)));
      }
      all.push_back(std::move(policy));
    }
  }
  auto snapshot = cedar::LoadCedarSnapshot(
      all, documents.entities,
      documents.schema ? std::optional<std::string_view>(*documents.schema) : std::nullopt);
  if (!snapshot) {
    const std::string_view part =
        snapshot.error().part == cedar::SnapshotPart::kPolicies   ? "policies"
        : snapshot.error().part == cedar::SnapshotPart::kEntities ? "entities"
                                                                  : "schema";
    return Err(
        InvalidArgumentError(fmt::format("{}: {}", part, snapshot.error().status.message())));
  }
  return std::move(*snapshot);
}

Result<std::unique_ptr<PolicyStore>> PolicyStore::Open(store::Store& store,
                                                       std::optional<PolicyDocuments> seed) {
  std::unique_ptr<PolicyStore> ps(new PolicyStore(store));
  if (seed) {
    BULWARK_ASSIGN_OR_RETURN(
        store::RangeResult existing,
        store.Range(store::KeyRange::Prefix(kCedarStorePrefix), {.count_only = true}));
    if (existing.count == 0) {
      for (const auto& [name, text] : seed->policies) BULWARK_RETURN_IF_ERROR(CheckName(name));
      if (auto checked = LoadDocuments(*seed); !checked) return Err(checked.error());
      store::TxnRequest txn;
      txn.compares.push_back(store::Compare::Missing(Key("generation")));
      for (const auto& [name, text] : seed->policies) {
        txn.success.push_back(store::TxnPut{PoliciesPrefix() + name, text});
      }
      txn.success.push_back(store::TxnPut{Key("entities"), seed->entities});
      if (seed->schema) txn.success.push_back(store::TxnPut{Key("schema"), *seed->schema});
      txn.success.push_back(store::TxnPut{Key("generation"), "1"});
      BULWARK_ASSIGN_OR_RETURN(store::TxnResult result, store.Txn(txn));
      if (result.succeeded) log::Info("policy.store_seeded", {{"revision", result.revision}});
    }
  }
  BULWARK_ASSIGN_OR_RETURN(Contents contents, ps->ReadContents());
  BULWARK_ASSIGN_OR_RETURN(cedar::CedarSnapshot snapshot, LoadDocuments(contents.documents));
  ps->Install(std::make_shared<const cedar::CedarSnapshot>(std::move(snapshot)), contents.revision);
  BULWARK_RETURN_IF_ERROR(ps->StartWatch(contents.revision + 1));
  ps->worker_ = std::thread([p = ps.get()] { p->Worker(); });
  return ps;
}

PolicyStore::~PolicyStore() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
  watch_.reset();
}

std::shared_ptr<const cedar::CedarSnapshot> PolicyStore::Current() const {
  return snapshot_.load(std::memory_order_acquire);
}

int64_t PolicyStore::revision() const { return revision_.load(std::memory_order_acquire); }

Result<PolicyStore::Contents> PolicyStore::ReadContents() const {
  BULWARK_ASSIGN_OR_RETURN(store::RangeResult range,
                           store_.Range(store::KeyRange::Prefix(kCedarStorePrefix)));
  Contents out;
  out.revision = range.revision;
  for (const store::KeyValue& kv : range.kvs) {
    const std::string_view key = kv.key;
    if (key.starts_with(PoliciesPrefix())) {
      out.documents.policies.emplace(std::string(key.substr(PoliciesPrefix().size())), kv.value);
    } else if (key == Key("entities")) {
      out.documents.entities = kv.value;
    } else if (key == Key("schema")) {
      out.documents.schema = kv.value;
    } else if (key == Key("generation")) {
      out.generation_version = kv.version;
    }
  }
  return out;
}

Result<PolicyDocuments> PolicyStore::Read() const {
  BULWARK_ASSIGN_OR_RETURN(Contents contents, ReadContents());
  return std::move(contents.documents);
}

Result<int64_t> PolicyStore::Change(const std::function<Status(PolicyDocuments&)>& change) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    BULWARK_ASSIGN_OR_RETURN(Contents contents, ReadContents());
    const PolicyDocuments before = contents.documents;
    BULWARK_RETURN_IF_ERROR(change(contents.documents));
    BULWARK_ASSIGN_OR_RETURN(cedar::CedarSnapshot snapshot, LoadDocuments(contents.documents));

    store::TxnRequest txn;
    txn.compares.push_back(store::Compare::Version(Key("generation"), store::Compare::Op::kEqual,
                                                   contents.generation_version));
    const PolicyDocuments& after = contents.documents;
    for (const auto& [name, text] : before.policies) {
      if (!after.policies.contains(name)) {
        txn.success.push_back(store::TxnDelete{store::KeyRange::Key(PoliciesPrefix() + name)});
      }
    }
    for (const auto& [name, text] : after.policies) {
      auto it = before.policies.find(name);
      if (it == before.policies.end() || it->second != text) {
        txn.success.push_back(store::TxnPut{PoliciesPrefix() + name, text});
      }
    }
    if (after.entities != before.entities) {
      txn.success.push_back(store::TxnPut{Key("entities"), after.entities});
    }
    if (after.schema != before.schema) {
      if (after.schema) {
        txn.success.push_back(store::TxnPut{Key("schema"), *after.schema});
      } else {
        txn.success.push_back(store::TxnDelete{store::KeyRange::Key(Key("schema"))});
      }
    }
    txn.success.push_back(
        store::TxnPut{Key("generation"), std::to_string(contents.generation_version + 1)});
    BULWARK_ASSIGN_OR_RETURN(store::TxnResult result, store_.Txn(txn));
    if (!result.succeeded) continue;  // another writer: read again and re-check
    // Read-your-writes: this node decides with the change from now on.
    Install(std::make_shared<const cedar::CedarSnapshot>(std::move(snapshot)), result.revision);
    return result.revision;
  }
  return Err(Status(StatusCode::kAborted, "the policies changed concurrently; try again"));
}

Result<int64_t> PolicyStore::PutPolicies(std::string_view name, std::string_view text) {
  BULWARK_RETURN_IF_ERROR(CheckName(name));
  return Change([&](PolicyDocuments& d) {
    d.policies[std::string(name)] = std::string(text);
    return OkStatus();
  });
}

Result<int64_t> PolicyStore::DeletePolicies(std::string_view name) {
  BULWARK_RETURN_IF_ERROR(CheckName(name));
  return Change([&](PolicyDocuments& d) {
    auto it = d.policies.find(name);
    if (it == d.policies.end()) {
      return Status(StatusCode::kNotFound, fmt::format("no policy document {}", name));
    }
    d.policies.erase(it);
    return OkStatus();
  });
}

Result<int64_t> PolicyStore::PutEntities(std::string_view json) {
  return Change([&](PolicyDocuments& d) {
    d.entities = std::string(json);
    return OkStatus();
  });
}

Result<int64_t> PolicyStore::PutSchema(std::string_view text) {
  return Change([&](PolicyDocuments& d) {
    d.schema = std::string(text);
    return OkStatus();
  });
}

Result<int64_t> PolicyStore::DeleteSchema() {
  return Change([&](PolicyDocuments& d) {
    if (!d.schema) return Status(StatusCode::kNotFound, "no schema");
    d.schema.reset();
    return OkStatus();
  });
}

void PolicyStore::Install(std::shared_ptr<const cedar::CedarSnapshot> snapshot, int64_t revision) {
  std::lock_guard lock(install_mu_);
  if (revision <= revision_.load(std::memory_order_relaxed)) return;  // an older view
  snapshot_.store(std::move(snapshot), std::memory_order_release);
  revision_.store(revision, std::memory_order_release);
}

Status PolicyStore::Reload() {
  BULWARK_ASSIGN_OR_RETURN(Contents contents, ReadContents());
  if (contents.revision <= revision()) return OkStatus();
  auto snapshot = LoadDocuments(contents.documents);
  if (!snapshot) {
    // Written by something that did not check it: keep serving the last good one.
    log::Error("policy.store_unloadable",
               {{"revision", contents.revision}, {"error", snapshot.error().message()}});
    return OkStatus();
  }
  Install(std::make_shared<const cedar::CedarSnapshot>(std::move(*snapshot)), contents.revision);
  log::Info("policy.snapshot", {{"revision", contents.revision},
                                {"policies", static_cast<int64_t>(Current()->policies->size())}});
  return OkStatus();
}

Status PolicyStore::StartWatch(int64_t from_revision) {
  BULWARK_ASSIGN_OR_RETURN(
      std::unique_ptr<store::Watch> watch,
      store_.StartWatch(
          {.range = store::KeyRange::Prefix(kCedarStorePrefix), .start_revision = from_revision},
          {.on_events =
               [this](std::span<const store::Event>) {
                 {
                   std::lock_guard lock(mu_);
                   dirty_ = true;
                 }
                 wake_.notify_all();
               },
           .on_error =
               [this](const Status& status) {
                 if (status.code() == StatusCode::kCancelled) return;
                 log::Error("policy.store_watch_failed", {{"error", status.message()}});
                 {
                   std::lock_guard lock(mu_);
                   broken_ = true;
                 }
                 wake_.notify_all();
               }}));
  std::lock_guard lock(mu_);
  watch_ = std::move(watch);
  return OkStatus();
}

// Builds snapshots off the store's notifier thread (a large policy set takes
// a while), and repairs a watch that ended by reloading and watching again.
void PolicyStore::Worker() {
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait(lock, [&] { return stop_ || dirty_ || broken_; });
    if (stop_) return;
    const bool repair = broken_;
    dirty_ = false;
    broken_ = false;
    std::unique_ptr<store::Watch> old = repair ? std::move(watch_) : nullptr;
    lock.unlock();
    old.reset();
    Status status = Reload();
    if (status.ok() && repair) status = StartWatch(revision() + 1);
    if (!status.ok()) {
      log::Error("policy.store_reload_failed", {{"error", status.message()}});
      std::this_thread::sleep_for(kRetryPause);
    }
    lock.lock();
    if (!status.ok()) (repair ? broken_ : dirty_) = true;
  }
}

}  // namespace bulwark::policy
