#include "store/mvcc_step.h"

#include <algorithm>

namespace bulwark::store {

MvccStore::Step::Step(MvccStore& store)
    : s_(store), revision_(store.revision_ + 1), next_lease_id_before_(store.next_lease_id_) {}

void MvccStore::Step::Remember(const std::string& key) {
  if (kv_before_.contains(key)) return;
  auto it = s_.kvs_.find(key);
  kv_before_.emplace(key, it == s_.kvs_.end() ? std::nullopt : std::optional(it->second));
}

void MvccStore::Step::RememberLease(int64_t id) {
  if (lease_before_.contains(id)) return;
  auto it = s_.leases_.find(id);
  lease_before_.emplace(id, it == s_.leases_.end() ? std::nullopt : std::optional(it->second));
}

PutResult MvccStore::Step::Put(std::string_view key, std::string_view value, int64_t lease) {
  std::string k(key);
  Remember(k);
  PutResult result{.revision = revision_};
  KeyValue kv{.key = k,
              .value = std::string(value),
              .create_revision = revision_,
              .mod_revision = revision_,
              .version = 1,
              .lease = lease};
  if (auto it = s_.kvs_.find(k); it != s_.kvs_.end()) {
    result.previous = it->second;
    kv.create_revision = it->second.create_revision;
    kv.version = it->second.version + 1;
  }
  events_.push_back({EventType::kPut, kv});
  s_.kvs_.insert_or_assign(std::move(k), std::move(kv));
  return result;
}

DeleteResult MvccStore::Step::Delete(const KeyRange& range) {
  std::vector<std::string> keys;
  for (auto it = s_.kvs_.lower_bound(range.begin); it != s_.kvs_.end() && range.Contains(it->first);
       ++it) {
    keys.push_back(it->first);
    if (range.single_key()) break;
  }
  for (std::string& key : keys) {
    Remember(key);
    s_.kvs_.erase(key);
    events_.push_back(
        {EventType::kDelete, KeyValue{.key = std::move(key), .mod_revision = revision_}});
  }
  return {.revision = revision_, .deleted = static_cast<int64_t>(keys.size())};
}

int64_t MvccStore::Step::NewLeaseId() { return s_.next_lease_id_++; }

void MvccStore::Step::SetLease(int64_t id, int64_t ttl_seconds, int64_t expires_unix_ms) {
  RememberLease(id);
  LeaseState& lease = s_.leases_[id];
  lease.ttl_seconds = ttl_seconds;
  lease.expires_unix_ms = expires_unix_ms;
}

void MvccStore::Step::DeleteLease(int64_t id) {
  RememberLease(id);
  s_.leases_.erase(id);
}

void MvccStore::Step::Compact(int64_t revision) { compact_ = revision; }

Result<int64_t> MvccStore::Step::Commit() {
  ::bulwark::store::Commit c;
  c.revision = events_.empty() ? s_.revision_ : revision_;
  c.next_lease_id = s_.next_lease_id_;
  for (const auto& [key, before] : kv_before_) {
    if (auto it = s_.kvs_.find(key); it != s_.kvs_.end()) {
      c.puts.push_back(it->second);
    } else if (before) {
      c.deletes.push_back(key);
    }
  }
  for (const auto& [id, before] : lease_before_) {
    if (auto it = s_.leases_.find(id); it != s_.leases_.end()) {
      c.lease_upserts.push_back({id, it->second.ttl_seconds, it->second.expires_unix_ms});
    } else if (before) {
      c.lease_deletes.push_back(id);
    }
  }
  const int64_t keep = std::max<int64_t>(s_.options_.history_revisions, 1);
  if (!compact_ && c.revision - s_.compact_revision_ > keep + keep / 10) {
    compact_ = c.revision - keep + 1;
  }
  if (compact_ && *compact_ > s_.compact_revision_) c.compact_revision = compact_;
  const bool changed = !events_.empty() || !c.lease_upserts.empty() || !c.lease_deletes.empty() ||
                       c.compact_revision.has_value();
  if (!changed) return s_.revision_;
  c.events = events_;

  if (s_.persistence_) {
    if (Status written = s_.persistence_->Write(c); !written.ok()) {
      Rollback();
      return Err(std::move(written));
    }
  }
  Publish(c);
  return s_.revision_;
}

void MvccStore::Step::Publish(const ::bulwark::store::Commit& c) {
  for (const auto& [key, before] : kv_before_) {
    if (before && before->lease != 0) {
      if (auto l = s_.leases_.find(before->lease); l != s_.leases_.end()) l->second.keys.erase(key);
    }
    if (auto it = s_.kvs_.find(key); it != s_.kvs_.end() && it->second.lease != 0) {
      if (auto l = s_.leases_.find(it->second.lease); l != s_.leases_.end()) {
        l->second.keys.insert(key);
      }
    }
  }
  s_.revision_ = c.revision;
  for (Event& e : events_) s_.history_.push_back(std::move(e));
  if (c.compact_revision) {
    s_.compact_revision_ = *c.compact_revision;
    while (!s_.history_.empty() && s_.history_.front().revision() < s_.compact_revision_) {
      s_.history_.pop_front();
    }
  }
  if (!c.events.empty()) s_.notifier_->Publish(s_.revision_);
}

void MvccStore::Step::Rollback() {
  for (auto& [key, before] : kv_before_) {
    if (before) {
      s_.kvs_.insert_or_assign(key, std::move(*before));
    } else {
      s_.kvs_.erase(key);
    }
  }
  for (auto& [id, before] : lease_before_) {
    if (before) {
      s_.leases_.insert_or_assign(id, std::move(*before));
    } else {
      s_.leases_.erase(id);
    }
  }
  s_.next_lease_id_ = next_lease_id_before_;
}

}  // namespace bulwark::store
