#include "policy/cedar_snapshot.h"

#include <fmt/format.h>

#include "policy/cedar_parser.h"
#include "policy/cedar_validator.h"

namespace bulwark::policy::cedar {

namespace {

constexpr size_t kErrorsShown = 5;

std::unexpected<SnapshotError> Fail(SnapshotPart part, Status status) {
  return std::unexpected(SnapshotError{part, std::move(status)});
}

}  // namespace

std::expected<CedarSnapshot, SnapshotError> LoadCedarSnapshot(
    std::string_view policies, std::string_view entities, std::optional<std::string_view> schema) {
  auto parsed = ParsePolicies(policies);
  if (!parsed) return Fail(SnapshotPart::kPolicies, parsed.error());
  return LoadCedarSnapshot(*parsed, entities, schema);
}

std::expected<CedarSnapshot, SnapshotError> LoadCedarSnapshot(
    const std::vector<Policy>& parsed, std::string_view entities,
    std::optional<std::string_view> schema) {
  auto set = PolicySet::Create(parsed);
  if (!set) return Fail(SnapshotPart::kPolicies, set.error());
  auto loaded = Entities::FromJson(entities);
  if (!loaded) return Fail(SnapshotPart::kEntities, loaded.error());
  CedarSnapshot snapshot{.policies = std::move(*set)};
  if (schema) {
    auto s = Schema::Parse(*schema);
    if (!s) return Fail(SnapshotPart::kSchema, s.error());
    const ValidationResult validation = ValidatePolicies(*s, parsed);
    if (!validation.ok()) {
      std::string message =
          fmt::format("{} validation error(s) against the schema", validation.errors.size());
      for (size_t i = 0; i < validation.errors.size() && i < kErrorsShown; ++i) {
        const ValidationIssue& e = validation.errors[i];
        message += fmt::format("; {}:{}: policy {}: {}", e.location.line, e.location.column,
                               e.policy_id, e.message);
      }
      return Fail(SnapshotPart::kPolicies, InvalidArgumentError(std::move(message)));
    }
    if (Status status = ConformEntities(*s, *loaded); !status.ok()) {
      return Fail(SnapshotPart::kEntities, std::move(status));
    }
    snapshot.schema = std::make_shared<const Schema>(std::move(*s));
  }
  snapshot.entities = std::make_shared<const Entities>(std::move(*loaded));
  return snapshot;
}

}  // namespace bulwark::policy::cedar
