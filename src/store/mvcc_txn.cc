// MvccStore::Txn: compare-and-swap transactions over several keys.
#include <fmt/format.h>
#include <set>
#include <type_traits>

#include "store/mvcc_step.h"
#include "store/mvcc_store.h"

namespace bulwark::store {

namespace {

template <typename T>
bool Holds(Compare::Op op, const T& actual, const T& operand) {
  switch (op) {
    case Compare::Op::kEqual:
      return actual == operand;
    case Compare::Op::kNotEqual:
      return actual != operand;
    case Compare::Op::kLess:
      return actual < operand;
    case Compare::Op::kGreater:
      return actual > operand;
  }
  return false;
}

}  // namespace

Status MvccStore::ValidateTxnBranch(const std::vector<TxnOp>& ops) const {
  if (ops.size() > options_.max_txn_ops) {
    return InvalidArgumentError(
        fmt::format("store: transaction has more than {} operations", options_.max_txn_ops));
  }
  std::set<std::string_view> put_keys;
  std::vector<const KeyRange*> delete_ranges;
  for (const TxnOp& op : ops) {
    if (const auto* put = std::get_if<TxnPut>(&op)) {
      BULWARK_RETURN_IF_ERROR(ValidatePut(put->key, put->value, put->lease));
      if (!put_keys.insert(put->key).second) {
        return InvalidArgumentError("store: a transaction writes the same key twice");
      }
      if (put->lease != 0 && !LeaseLive(put->lease)) {
        return NotFoundError("store: lease not found or expired");
      }
    } else if (const auto* del = std::get_if<TxnDelete>(&op)) {
      BULWARK_RETURN_IF_ERROR(ValidateRange(del->range));
      delete_ranges.push_back(&del->range);
    } else {
      const auto& get = std::get<TxnGet>(op);
      BULWARK_RETURN_IF_ERROR(ValidateRange(get.range));
      if (get.options.limit < 0) return InvalidArgumentError("store: negative limit");
    }
  }
  for (const KeyRange* range : delete_ranges) {
    for (std::string_view key : put_keys) {
      if (range->Contains(key)) {
        return InvalidArgumentError("store: a transaction puts and deletes the same key");
      }
    }
  }
  return OkStatus();
}

bool MvccStore::CompareHolds(const Compare& c) const {
  auto it = kvs_.find(c.key);
  const KeyValue* kv = it == kvs_.end() ? nullptr : &it->second;
  if (c.target == Compare::Target::kValue) {
    if (kv == nullptr) return false;
    return Holds(c.op, std::string_view(kv->value),
                 std::string_view(std::get<std::string>(c.operand)));
  }
  int64_t actual = 0;
  if (kv != nullptr) {
    switch (c.target) {
      case Compare::Target::kVersion:
        actual = kv->version;
        break;
      case Compare::Target::kCreateRevision:
        actual = kv->create_revision;
        break;
      case Compare::Target::kModRevision:
        actual = kv->mod_revision;
        break;
      case Compare::Target::kLease:
        actual = kv->lease;
        break;
      case Compare::Target::kValue:
        break;
    }
  }
  return Holds(c.op, actual, std::get<int64_t>(c.operand));
}

Result<TxnResult> MvccStore::Txn(const TxnRequest& request) {
  for (const Compare& c : request.compares) {
    BULWARK_RETURN_IF_ERROR(ValidateKey(c.key));
    const bool wants_string = c.target == Compare::Target::kValue;
    if (wants_string != std::holds_alternative<std::string>(c.operand)) {
      return Err(InvalidArgumentError("store: compare operand does not match its target"));
    }
  }
  if (request.compares.size() > options_.max_txn_ops) {
    return Err(InvalidArgumentError(
        fmt::format("store: transaction has more than {} compares", options_.max_txn_ops)));
  }
  std::unique_lock lock(mu_);
  BULWARK_RETURN_IF_ERROR(ValidateTxnBranch(request.success));
  BULWARK_RETURN_IF_ERROR(ValidateTxnBranch(request.failure));

  TxnResult result;
  result.succeeded = true;
  for (const Compare& c : request.compares) {
    if (!CompareHolds(c)) {
      result.succeeded = false;
      break;
    }
  }
  Step step(*this);
  for (const TxnOp& op : result.succeeded ? request.success : request.failure) {
    std::visit(
        [&](const auto& o) {
          using T = std::decay_t<decltype(o)>;
          if constexpr (std::is_same_v<T, TxnPut>) {
            result.results.emplace_back(step.Put(o.key, o.value, o.lease));
          } else if constexpr (std::is_same_v<T, TxnDelete>) {
            result.results.emplace_back(step.Delete(o.range));
          } else {
            result.results.emplace_back(ReadRange(o.range, o.options));
          }
        },
        op);
  }
  BULWARK_ASSIGN_OR_RETURN(result.revision, step.Commit());
  for (TxnOpResult& r : result.results) {
    std::visit([&](auto& x) { x.revision = result.revision; }, r);
  }
  return result;
}

}  // namespace bulwark::store
