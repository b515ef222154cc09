// A Cedar snapshot: the policies, entities and (optional) schema one set of
// decisions is made against, loaded and checked together, immutable once
// built. The decision API and the gateway's Cedar authorizer share one.
#ifndef BULWARK_POLICY_CEDAR_SNAPSHOT_H_
#define BULWARK_POLICY_CEDAR_SNAPSHOT_H_

#include <expected>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "policy/cedar_entities.h"
#include "policy/cedar_policy_set.h"
#include "policy/cedar_schema.h"

namespace bulwark::policy::cedar {

struct CedarSnapshot {
  std::shared_ptr<const PolicySet> policies;
  std::shared_ptr<const Entities> entities;
  std::shared_ptr<const Schema> schema;  // null: no schema
};

// Which input a snapshot error is about, so the caller can name its file.
enum class SnapshotPart { kPolicies, kEntities, kSchema };

struct SnapshotError {
  SnapshotPart part;
  Status status;
};

// Parses and indexes `policies`, parses `entities` (JSON), and with a schema
// validates the policies against it (the first few errors in the message)
// and reads the entities through it. Nothing half-built is returned.
std::expected<CedarSnapshot, SnapshotError> LoadCedarSnapshot(
    std::string_view policies, std::string_view entities, std::optional<std::string_view> schema);

// The same from policies already parsed.
std::expected<CedarSnapshot, SnapshotError> LoadCedarSnapshot(
    const std::vector<Policy>& policies, std::string_view entities,
    std::optional<std::string_view> schema);

// Where decisions get their snapshot: fixed at start (files), or the latest
// the store holds (PolicyStore). Thread-safe.
class SnapshotSource {
 public:
  virtual ~SnapshotSource() = default;
  // Never null.
  virtual std::shared_ptr<const CedarSnapshot> Current() const = 0;
};

class FixedSnapshot final : public SnapshotSource {
 public:
  explicit FixedSnapshot(CedarSnapshot snapshot)
      : snapshot_(std::make_shared<const CedarSnapshot>(std::move(snapshot))) {}
  std::shared_ptr<const CedarSnapshot> Current() const override { return snapshot_; }

 private:
  const std::shared_ptr<const CedarSnapshot> snapshot_;
};

}  // namespace bulwark::policy::cedar

#endif  // BULWARK_POLICY_CEDAR_SNAPSHOT_H_
