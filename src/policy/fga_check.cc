#include "policy/fga_check.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <unordered_map>
#include <unordered_set>

namespace bulwark::policy::fga {

namespace {

std::string_view TypeOf(std::string_view object) { return object.substr(0, object.find(':')); }
bool IsWildcard(std::string_view user) { return user.ends_with(":*"); }

// The pieces joined, in one allocation (resolution paths are built on every
// granted check, so this stays off fmt's general machinery).
std::string Concat(std::initializer_list<std::string_view> parts) {
  size_t size = 0;
  for (std::string_view p : parts) size += p.size();
  std::string out;
  out.reserve(size);
  for (std::string_view p : parts) out.append(p);
  return out;
}

std::string TupleStep(const TupleIndex::Tuple& t) {
  return Concat({t.object, "#", t.relation, "@", t.user, t.user_relation.empty() ? "" : "#",
                 t.user_relation, t.condition.empty() ? "" : " [if ", t.condition,
                 t.condition.empty() ? "" : "]"});
}

// A branch's answer: granted, not granted, or undecided because it runs
// into a cycle (which grants nothing).
enum class Answer { kFalse, kTrue, kCycle };

// Combines the answers of alternatives: any grant wins; then an error; then
// a cycle.
class AnyOf {
 public:
  // True once an alternative granted.
  bool Add(Result<Answer> a) {
    if (!a) {
      if (!error_) error_ = std::move(a.error());
    } else if (*a == Answer::kTrue) {
      granted_ = true;
    } else if (*a == Answer::kCycle) {
      cycle_ = true;
    }
    return granted_;
  }
  Result<Answer> Get() const {
    if (granted_) return Answer::kTrue;
    if (error_) return Err(*error_);
    return cycle_ ? Answer::kCycle : Answer::kFalse;
  }

 private:
  bool granted_ = false, cycle_ = false;
  std::optional<Status> error_;
};

// An object being resolved: its "type:id" and its id in the stored index
// (TupleIndex::kNoId if the index does not hold it; kUnknown until looked up).
constexpr uint32_t kUnknown = 0xFFFFFFFEu;
struct Node {
  std::string_view object;
  uint32_t id = kUnknown;
  std::string_view type = {};  // TypeOf(object), when known without reading it
};

// The bookkeeping vectors of one resolution. Each thread keeps one set and
// reuses its capacity, so a check allocates nothing for them once warm.
struct DefEntry {
  std::string_view type, relation;
  const RelationDef* def;
};

struct Scratch {
  std::vector<std::pair<std::string_view, std::string_view>> visiting;
  std::vector<std::pair<std::string_view, std::string_view>> known_false;
  std::vector<uint64_t> visiting_ids;
  std::vector<uint64_t> false_ids;
  std::vector<std::pair<std::string_view, TupleIndex::RelationKey>> relation_ids;
  std::vector<DefEntry> defs;
  bool in_use = false;
  void Clear() {
    visiting.clear();
    known_false.clear();
    visiting_ids.clear();
    false_ids.clear();
    relation_ids.clear();
    defs.clear();
  }
};
thread_local Scratch thread_scratch;

class Resolver {
 public:
  // `contextual` may be null (no contextual tuples).
  // `user_id`: the user's id in `stored`, if the caller has looked it up.
  Resolver(const Model& model, const TupleIndex& stored, const TupleIndex* contextual,
           std::string_view user, std::string_view user_relation, const cel::Activation& context,
           uint32_t user_id = kUnknown)
      : model_(model),
        stored_(stored),
        contextual_(contextual),
        user_(user),
        user_relation_(user_relation),
        wildcard_(Concat({TypeOf(user), ":*"})),
        context_(context),
        user_id_(user_id == kUnknown ? stored.Id(user) : user_id),
        user_relation_id_(stored.Id(user_relation)),
        wildcard_id_(stored.Id(wildcard_)),
        owned_(thread_scratch.in_use ? std::make_unique<Scratch>() : nullptr),
        scratch_(owned_ ? *owned_ : thread_scratch),
        visiting_(scratch_.visiting),
        known_false_(scratch_.known_false),
        visiting_ids_(scratch_.visiting_ids),
        false_ids_(scratch_.false_ids),
        relation_ids_(scratch_.relation_ids),
        defs_(scratch_.defs) {
    scratch_.Clear();
    scratch_.in_use = true;
  }
  ~Resolver() { scratch_.in_use = false; }
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  Result<Answer> Check(Node node, std::string_view relation, int depth) {
    if (depth > kMaxResolutionDepth) {
      return Err(Status(StatusCode::kResourceExhausted,
                        fmt::format("resolution deeper than {}", kMaxResolutionDepth)));
    }
    if (node.type.empty()) node.type = TypeOf(node.object);
    const RelationDef* def = Def(node.type, relation);
    if (def == nullptr) return Answer::kFalse;
    if (relation == user_relation_ && node.object == user_) {
      path_.push_back(Concat({node.object, "#", relation, " is the user"}));
      return Answer::kTrue;
    }
    if (node.id == kUnknown) node.id = stored_.Id(node.object);
    // Visited and known-false (object, relation) pairs, by ids when the
    // index holds both (the usual case), else by name.
    const uint32_t rid = RelationId(relation).id;
    const bool by_id = node.id != TupleIndex::kNoId && rid != TupleIndex::kNoId;
    const uint64_t key = (uint64_t{node.id} << 32) | rid;
    if (by_id) {
      if (std::find(visiting_ids_.begin(), visiting_ids_.end(), key) != visiting_ids_.end()) {
        ++cycles_;
        return Answer::kCycle;
      }
      if (std::find(false_ids_.begin(), false_ids_.end(), key) != false_ids_.end()) {
        return Answer::kFalse;
      }
      visiting_ids_.push_back(key);
    } else {
      for (const auto& [o, r] : visiting_) {
        if (o == node.object && r == relation) {
          ++cycles_;
          return Answer::kCycle;
        }
      }
      for (const auto& [o, r] : known_false_) {
        if (o == node.object && r == relation) return Answer::kFalse;
      }
      visiting_.emplace_back(node.object, relation);
    }
    const int cycles_before = cycles_;
    Result<Answer> out = Eval(node, def->rewrite, def->name, depth);
    // A denial reached without meeting a cycle holds wherever it is asked
    // again in this check (diamonds and repeated `X from parent` walks).
    const bool settled = out && *out == Answer::kFalse && cycles_ == cycles_before;
    if (by_id) {
      visiting_ids_.pop_back();
      if (settled) false_ids_.push_back(key);
    } else {
      visiting_.pop_back();
      if (settled) known_false_.emplace_back(node.object, relation);
    }
    return out;
  }

  // Innermost step first.
  std::vector<std::string>& path() { return path_; }

 private:
  // The model's definition of `relation` on `type`, remembered by where the
  // names live (the model's, the index's and the request's strings are
  // stable for the check): no string compares on this hot path.
  const RelationDef* Def(std::string_view type, std::string_view relation) {
    for (const DefEntry& d : defs_) {
      if (d.type.data() == type.data() && d.type.size() == type.size() &&
          d.relation.data() == relation.data() && d.relation.size() == relation.size()) {
        return d.def;
      }
    }
    const RelationDef* def = model_.FindRelation(type, relation);
    defs_.push_back({type, relation, def});
    return def;
  }

  TupleIndex::RelationKey RelationId(std::string_view relation) {
    // Keyed by where the name lives (the model's and the index's strings
    // are stable): no string compares on this hot path.
    for (const auto& [r, key] : relation_ids_) {
      if (r.data() == relation.data() && r.size() == relation.size()) return key;
    }
    const TupleIndex::RelationKey key = stored_.Relation(relation);
    relation_ids_.emplace_back(relation, key);
    return key;
  }

  Result<bool> Condition(const TupleIndex::Tuple& t) {
    if (t.condition.empty()) return true;
    const ConditionDef* def = model_.FindCondition(t.condition);
    if (def == nullptr) return false;  // the model no longer has it
    cel::Activation vars;
    for (const ConditionParam& p : def->params) {
      if (!def->program->identifiers().contains(p.name)) continue;
      const cel::Value* v = nullptr;
      if (t.context != nullptr) {
        if (auto it = t.context->find(p.name); it != t.context->end()) v = &it->second;
      }
      if (v == nullptr) {
        if (auto it = context_.find(p.name); it != context_.end()) v = &it->second;
      }
      if (v == nullptr) {
        return Err(InvalidArgumentError(
            fmt::format("condition `{}` of tuple {}: missing context parameter `{}`", t.condition,
                        TupleStep(t), p.name)));
      }
      auto typed = cel::Coerce(*v, p.type);
      if (!typed) {
        return Err(InvalidArgumentError(fmt::format("condition `{}`: parameter `{}`: {}",
                                                    t.condition, p.name, typed.error().message())));
      }
      vars.emplace(p.name, std::move(*typed));
    }
    auto result = def->program->Evaluate(vars);
    if (!result) {
      return Err(InvalidArgumentError(
          fmt::format("condition `{}`: {}", t.condition, result.error().message())));
    }
    if (!result->is(cel::Value::Kind::kBool)) {
      return Err(InvalidArgumentError(fmt::format("condition `{}` is not a bool", t.condition)));
    }
    return result->bool_value();
  }

  // Whether tuple `t` grants: allowed by `restrictions`, its condition holds,
  // and `then` (what the tuple leads to) grants.
  template <typename Then>
  Result<Answer> Through(const TupleIndex::Tuple& t,
                         const std::vector<TypeRestriction>& restrictions, Then then) {
    if (!AllowedBy(restrictions, t.user_type, t.user_wildcard, t.user_relation, t.condition)) {
      return Answer::kFalse;
    }
    BULWARK_ASSIGN_OR_RETURN(bool holds, Condition(t));
    if (!holds) return Answer::kFalse;
    const size_t mark = path_.size();
    Result<Answer> a = then();
    if (a && *a == Answer::kTrue) {
      path_.push_back(TupleStep(t));
    } else {
      path_.resize(mark);
    }
    return a;
  }

  Result<Answer> Direct(Node node, std::string_view relation,
                        const std::vector<TypeRestriction>& restrictions, int depth) {
    AnyOf any;
    auto granted = [] { return Result<Answer>(Answer::kTrue); };
    const bool plain_user = user_relation_.empty() && !IsWildcard(user_);
    const TupleIndex::RelationKey rid = RelationId(relation);
    if (auto t = stored_.Find(node.id, rid, user_id_, user_relation_id_)) {
      if (any.Add(Through(*t, restrictions, granted))) return Answer::kTrue;
    }
    if (plain_user) {
      if (auto t = stored_.Find(node.id, rid, wildcard_id_, 0)) {
        if (any.Add(Through(*t, restrictions, granted))) return Answer::kTrue;
      }
    }
    if (contextual_ != nullptr) {
      if (auto t = contextual_->Find(node.object, relation, user_, user_relation_)) {
        if (any.Add(Through(*t, restrictions, granted))) return Answer::kTrue;
      }
      if (plain_user) {
        if (auto t = contextual_->Find(node.object, relation, wildcard_, "")) {
          if (any.Add(Through(*t, restrictions, granted))) return Answer::kTrue;
        }
      }
    }
    // Usersets: resolve each. Tuples of the stored index carry their ids.
    auto userset = [&](const TupleIndex::Tuple& t, bool stored) {
      if (t.user_relation.empty()) return true;  // a wildcard, matched above
      return !any.Add(Through(t, restrictions, [&] {
        return Check({t.user, stored ? t.user_id : kUnknown, t.user_type}, t.user_relation,
                     depth + 1);
      }));
    };
    stored_.ForEachIndirect(node.id, rid,
                            [&](const TupleIndex::Tuple& t) { return userset(t, true); });
    if (contextual_ != nullptr && !(any.Get() && *any.Get() == Answer::kTrue)) {
      contextual_->ForEachIndirect(node.object, relation,
                                   [&](const TupleIndex::Tuple& t) { return userset(t, false); });
    }
    return any.Get();
  }

  Result<Answer> TupleToUserset(Node node, std::string_view relation, const Rewrite& w, int depth) {
    // The model's validation makes the tupleset a relation of this type.
    const RelationDef* tupleset = Def(node.type, w.tupleset);
    AnyOf any;
    auto through = [&](const TupleIndex::Tuple& t, bool stored) {
      if (!t.user_relation.empty() || t.user_wildcard) return true;
      if (Def(t.user_type, w.relation) == nullptr) return true;
      Result<Answer> a = Through(t, tupleset->directly_related, [&] {
        return Check({t.user, stored ? t.user_id : kUnknown, t.user_type}, w.relation, depth + 1);
      });
      if (a && *a == Answer::kTrue) {
        path_.push_back(Concat({node.object, "#", relation, " <- ", t.user, "#", w.relation, " (",
                                w.relation, " from ", w.tupleset, ")"}));
      }
      return !any.Add(std::move(a));
    };
    stored_.ForEach(node.id, RelationId(w.tupleset),
                    [&](const TupleIndex::Tuple& t) { return through(t, true); });
    if (contextual_ != nullptr && !(any.Get() && *any.Get() == Answer::kTrue)) {
      contextual_->ForEach(node.object, w.tupleset,
                           [&](const TupleIndex::Tuple& t) { return through(t, false); });
    }
    return any.Get();
  }

  Result<Answer> Eval(Node node, const Rewrite& w, std::string_view relation, int depth) {
    const size_t mark = path_.size();
    auto keep_if_granted = [&](Result<Answer> a) {
      if (!a || *a != Answer::kTrue) path_.resize(mark);
      return a;
    };
    switch (w.kind) {
      case Rewrite::Kind::kDirect:
        return keep_if_granted(Direct(node, relation, w.direct, depth));
      case Rewrite::Kind::kComputed: {
        Result<Answer> a = Check(node, w.relation, depth + 1);
        if (a && *a == Answer::kTrue) {
          path_.push_back(
              Concat({node.object, "#", relation, " <- ", node.object, "#", w.relation}));
        }
        return keep_if_granted(std::move(a));
      }
      case Rewrite::Kind::kTupleToUserset:
        return keep_if_granted(TupleToUserset(node, relation, w, depth));
      case Rewrite::Kind::kUnion: {
        AnyOf any;
        for (const Rewrite& c : w.children) {
          const size_t before = path_.size();
          Result<Answer> a = Eval(node, c, relation, depth);
          if (!a || *a != Answer::kTrue) path_.resize(before);
          if (any.Add(std::move(a))) return Answer::kTrue;
        }
        return keep_if_granted(any.Get());
      }
      case Rewrite::Kind::kIntersection: {
        // Any false decides, even over an error elsewhere.
        std::optional<Status> error;
        bool cycle = false;
        for (const Rewrite& c : w.children) {
          Result<Answer> a = Eval(node, c, relation, depth);
          if (!a) {
            if (!error) error = a.error();
          } else if (*a == Answer::kFalse) {
            path_.resize(mark);
            return Answer::kFalse;
          } else if (*a == Answer::kCycle) {
            cycle = true;
          }
        }
        if (error) return keep_if_granted(Err(*error));
        return keep_if_granted(cycle ? Answer::kCycle : Answer::kTrue);
      }
      case Rewrite::Kind::kExclusion: {
        Result<Answer> base = Eval(node, w.children[0], relation, depth);
        if (base && *base == Answer::kFalse) return keep_if_granted(base);
        const size_t before = path_.size();
        Result<Answer> subtract = Eval(node, w.children[1], relation, depth);
        path_.resize(before);
        if (subtract && *subtract == Answer::kTrue) return keep_if_granted(Answer::kFalse);
        if (!base) return keep_if_granted(base);
        if (!subtract) return keep_if_granted(Err(subtract.error()));
        if (*subtract == Answer::kCycle) return keep_if_granted(Answer::kCycle);
        if (*base == Answer::kTrue) {
          path_.push_back(Concat({node.object, "#", relation, ": not excluded by its `but not`"}));
        }
        return keep_if_granted(base);
      }
    }
    return Answer::kFalse;
  }

  const Model& model_;
  const TupleIndex& stored_;
  const TupleIndex* contextual_;
  std::string_view user_;
  std::string_view user_relation_;
  const std::string wildcard_;
  const cel::Activation& context_;
  const uint32_t user_id_, user_relation_id_, wildcard_id_;
  std::unique_ptr<Scratch> owned_;  // only if this thread's scratch is taken
  Scratch& scratch_;
  std::vector<std::pair<std::string_view, std::string_view>>& visiting_;
  std::vector<std::pair<std::string_view, std::string_view>>& known_false_;
  std::vector<uint64_t>& visiting_ids_;
  std::vector<uint64_t>& false_ids_;
  std::vector<std::pair<std::string_view, TupleIndex::RelationKey>>& relation_ids_;
  std::vector<DefEntry>& defs_;
  int cycles_ = 0;
  std::vector<std::string> path_;
};

Status CheckType(const Model& model, std::string_view type) {
  if (model.FindType(type) == nullptr) {
    return InvalidArgumentError(fmt::format("type `{}` is not in the model", type));
  }
  return OkStatus();
}

Status CheckRelation(const Model& model, std::string_view type, std::string_view relation) {
  BULWARK_RETURN_IF_ERROR(CheckType(model, type));
  if (model.FindRelation(type, relation) == nullptr) {
    return InvalidArgumentError(fmt::format("`{}` has no relation `{}`", type, relation));
  }
  return OkStatus();
}

// The contextual tuples, validated and indexed; null if there are none.
Result<std::unique_ptr<TupleIndex>> IndexContextual(const Model& model,
                                                    const std::vector<TupleKey>& tuples) {
  if (tuples.size() > kMaxContextualTuples) {
    return Err(InvalidArgumentError(
        fmt::format("{} contextual tuples; at most {}", tuples.size(), kMaxContextualTuples)));
  }
  if (tuples.empty()) return nullptr;
  auto contextual = std::make_unique<TupleIndex>();
  for (const TupleKey& t : tuples) {
    BULWARK_RETURN_IF_ERROR(ValidateTuple(model, t));
    contextual->Add(t);
  }
  return contextual;
}

// The stored index and, if any, the contextual one.
std::vector<const TupleIndex*> Indexes(const TupleIndex& stored, const TupleIndex* contextual) {
  if (contextual == nullptr) return {&stored};
  return {&stored, contextual};
}

Status CheckUser(const Model& model, const UserRef& user) {
  BULWARK_RETURN_IF_ERROR(CheckType(model, user.type));
  if (!user.relation.empty())
    BULWARK_RETURN_IF_ERROR(CheckRelation(model, user.type, user.relation));
  return OkStatus();
}

std::vector<std::string_view> RelationsOf(const Model& model, std::string_view type) {
  std::vector<std::string_view> out;
  if (const TypeDef* t = model.FindType(type)) {
    for (const RelationDef& r : t->relations) out.push_back(r.name);
  }
  return out;
}

}  // namespace

Result<CheckResult> Check(const Model& model, const TupleIndex& tuples,
                          const CheckRequest& request) {
  BULWARK_RETURN_IF_ERROR(CheckRelation(model, request.object.type, request.relation));
  BULWARK_RETURN_IF_ERROR(CheckUser(model, request.user));
  BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<TupleIndex> contextual,
                           IndexContextual(model, request.contextual_tuples));
  const std::string object = ToString(request.object);
  const std::string user = request.user.type + ":" + request.user.id;
  const auto [object_id, user_id] = tuples.Ids(object, user);
  Resolver resolver(model, tuples, contextual.get(), user, request.user.relation, request.context,
                    user_id);
  BULWARK_ASSIGN_OR_RETURN(Answer answer, resolver.Check({object, object_id}, request.relation, 0));
  CheckResult out;
  out.allowed = answer == Answer::kTrue;
  if (out.allowed) {
    out.path = std::move(resolver.path());
    std::reverse(out.path.begin(), out.path.end());
  }
  return out;
}

// The nodes a ListObjects or ListUsers walk has reached (views into the
// request's strings and the indexes) and those it has still to expand.
class ListWalk {
 public:
  // What a walk past kMaxListReach nodes is refused with.
  explicit ListWalk(std::string refusal) : refusal_(std::move(refusal)) {}
  // True if `node` is new, and queues it.
  Result<bool> Reach(std::string_view node) {
    if (!seen_.insert(node).second) return false;
    if (seen_.size() > kMaxListReach) {
      return Err(Status(StatusCode::kResourceExhausted, refusal_));
    }
    frontier_.push_back(node);
    return true;
  }
  // The next node to expand, if any and the walk goes on.
  std::optional<std::string_view> Next() {
    if (!going_ || frontier_.empty()) return std::nullopt;
    const std::string_view node = frontier_.back();
    frontier_.pop_back();
    return node;
  }
  // Takes a step's outcome (true: go on; false: the limit is reached; an
  // error); false once the walk is to stop. Tuple callbacks return it, so a
  // node with a million tuples stops where the walk does.
  bool Take(Result<bool> step) {
    if (!step) failure_ = std::move(step.error());
    going_ = going_ && step && *step;
    return going_;
  }
  bool going() const { return going_; }
  // The walk's error, if a step failed.
  std::optional<Status>& failure() { return failure_; }

 private:
  bool going_ = true;
  std::optional<Status> failure_;
  std::string refusal_;
  std::unordered_set<std::string_view> seen_;
  std::vector<std::string_view> frontier_;
};

Result<std::vector<std::string>> ListObjects(const Model& model, const TupleIndex& tuples,
                                             const ListObjectsRequest& request) {
  BULWARK_RETURN_IF_ERROR(CheckRelation(model, request.type, request.relation));
  BULWARK_RETURN_IF_ERROR(CheckUser(model, request.user));
  BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<TupleIndex> contextual,
                           IndexContextual(model, request.contextual_tuples));
  std::vector<std::string> out;
  if (request.limit == 0) return out;
  const std::string user = request.user.type + ":" + request.user.id;
  const std::string wildcard = request.user.type + ":*";
  const std::vector<const TupleIndex*> indexes = Indexes(tuples, contextual.get());
  // Objects reachable backwards from the user, through the tuples that name
  // it (or its type's wildcard) and then those that name what they reach,
  // as an object or as any of its usersets. Each of the requested type is
  // checked when first reached, so the walk ends once `limit` are granted.
  // Nodes are views into `user`, `wildcard` and the indexes.
  ListWalk walk(
      fmt::format("more than {} objects reachable from {}; list a narrower type or "
                  "relation",
                  kMaxListReach, user));
  std::unordered_map<std::string_view, std::vector<std::string_view>> relations_of;
  auto reach = [&](std::string_view node) -> Result<bool> {  // false: `limit` reached
    BULWARK_ASSIGN_OR_RETURN(const bool added, walk.Reach(node));
    if (!added || TypeOf(node) != request.type || IsWildcard(node) ||
        (node == user && request.user.wildcard())) {
      return true;
    }
    Resolver resolver(model, tuples, contextual.get(), user, request.user.relation,
                      request.context);
    BULWARK_ASSIGN_OR_RETURN(Answer answer, resolver.Check({node}, request.relation, 0));
    if (answer != Answer::kTrue) return true;
    out.emplace_back(node);
    return out.size() < request.limit;
  };
  if (walk.Take(reach(user)) && !request.user.wildcard()) walk.Take(reach(wildcard));
  while (const std::optional<std::string_view> node = walk.Next()) {
    const std::string_view type = TypeOf(*node);
    auto [it, added] = relations_of.try_emplace(type);
    if (added) {
      it->second = RelationsOf(model, type);
      it->second.push_back("");
    }
    for (const TupleIndex* index : indexes) {
      for (std::string_view r : it->second) {
        if (!walk.going()) break;
        index->ForEachByUser(
            *node, r, [&](const TupleIndex::Tuple& t) { return walk.Take(reach(t.object)); });
      }
    }
  }
  if (walk.failure()) return Err(std::move(*walk.failure()));
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<std::string>> ListUsers(const Model& model, const TupleIndex& tuples,
                                           const ListUsersRequest& request) {
  BULWARK_RETURN_IF_ERROR(CheckRelation(model, request.object.type, request.relation));
  if (request.filters.empty()) return Err(InvalidArgumentError("at least one user filter"));
  std::vector<UserRef> filters;
  for (const std::string& f : request.filters) {
    UserRef filter;
    const size_t hash = f.find('#');
    filter.type = f.substr(0, hash);
    if (hash != std::string::npos) filter.relation = f.substr(hash + 1);
    BULWARK_RETURN_IF_ERROR(CheckUser(model, filter));
    filters.push_back(std::move(filter));
  }
  BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<TupleIndex> contextual,
                           IndexContextual(model, request.contextual_tuples));
  auto matches_plain = [&](std::string_view type) {
    return std::any_of(filters.begin(), filters.end(),
                       [&](const UserRef& f) { return f.relation.empty() && f.type == type; });
  };
  // Users reachable forwards from the object: those its tuples name, and
  // those of the objects and usersets they name in turn. Each that matches a
  // filter is checked when first reached, so the walk ends once `limit` are
  // granted. Nodes are views into `start` and the indexes.
  std::vector<std::string> out;
  if (request.limit == 0) return out;
  const std::string start = ToString(request.object);
  const std::vector<const TupleIndex*> indexes = Indexes(tuples, contextual.get());
  ListWalk walk(
      fmt::format("more than {} users and objects reachable from {}; list with a "
                  "narrower filter",
                  kMaxListReach, start));
  std::unordered_set<std::string> tried;
  auto consider = [&](std::string_view user, std::string_view user_relation) -> Result<bool> {
    std::string candidate =
        user_relation.empty() ? std::string(user) : Concat({user, "#", user_relation});
    if (!tried.insert(candidate).second) return true;
    Resolver resolver(model, tuples, contextual.get(), user, user_relation, request.context);
    BULWARK_ASSIGN_OR_RETURN(Answer answer, resolver.Check({start}, request.relation, 0));
    if (answer != Answer::kTrue) return true;
    out.push_back(std::move(candidate));
    return out.size() < request.limit;
  };
  auto reach = [&](std::string_view node) -> Result<bool> {  // false: `limit` reached
    BULWARK_ASSIGN_OR_RETURN(const bool added, walk.Reach(node));
    if (!added) return true;
    for (const UserRef& f : filters) {
      if (f.relation.empty() || f.type != TypeOf(node)) continue;
      BULWARK_ASSIGN_OR_RETURN(bool more, consider(node, f.relation));
      if (!more) return false;
    }
    return true;
  };
  walk.Take(reach(start));
  while (const std::optional<std::string_view> node = walk.Next()) {
    for (const TupleIndex* index : indexes) {
      for (std::string_view r : RelationsOf(model, TypeOf(*node))) {
        if (!walk.going()) break;
        index->ForEach(*node, r, [&](const TupleIndex::Tuple& t) {
          if (t.user_relation.empty() && matches_plain(TypeOf(t.user)) &&
              !walk.Take(consider(t.user, ""))) {
            return false;
          }
          return IsWildcard(t.user) || walk.Take(reach(t.user));
        });
      }
    }
  }
  if (walk.failure()) return Err(std::move(*walk.failure()));
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<std::string>> ListRelations(const Model& model, const TupleIndex& tuples,
                                               const ObjectRef& object, const UserRef& user,
                                               const cel::Activation& context) {
  BULWARK_RETURN_IF_ERROR(CheckType(model, object.type));
  BULWARK_RETURN_IF_ERROR(CheckUser(model, user));
  const std::string target = ToString(object);
  const std::string user_object = user.type + ":" + user.id;
  std::vector<std::string> out;
  for (std::string_view relation : RelationsOf(model, object.type)) {
    Resolver resolver(model, tuples, nullptr, user_object, user.relation, context);
    BULWARK_ASSIGN_OR_RETURN(Answer answer, resolver.Check({target}, relation, 0));
    if (answer == Answer::kTrue) out.emplace_back(relation);
  }
  return out;
}

namespace {

ExpandNode ExpandRewrite(const Model& model, const TupleIndex& stored, const TupleIndex* contextual,
                         const std::string& object, std::string_view relation, const Rewrite& w) {
  ExpandNode node;
  node.name = fmt::format("{}#{}", object, relation);
  switch (w.kind) {
    case Rewrite::Kind::kDirect:
      node.kind = ExpandNode::Kind::kUsers;
      for (const TupleIndex* index : Indexes(stored, contextual)) {
        index->ForEach(object, relation, [&](const TupleIndex::Tuple& t) {
          if (AllowedBy(w.direct, TypeOf(t.user), IsWildcard(t.user), t.user_relation,
                        t.condition)) {
            node.users.push_back(t.user_relation.empty()
                                     ? std::string(t.user)
                                     : fmt::format("{}#{}", t.user, t.user_relation));
          }
          return true;
        });
      }
      std::sort(node.users.begin(), node.users.end());
      break;
    case Rewrite::Kind::kComputed:
      node.kind = ExpandNode::Kind::kComputed;
      node.computed = fmt::format("{}#{}", object, w.relation);
      break;
    case Rewrite::Kind::kTupleToUserset:
      node.kind = ExpandNode::Kind::kTupleToUserset;
      node.tupleset = fmt::format("{}#{}", object, w.tupleset);
      for (const TupleIndex* index : Indexes(stored, contextual)) {
        index->ForEach(object, w.tupleset, [&](const TupleIndex::Tuple& t) {
          if (t.user_relation.empty() && !IsWildcard(t.user) &&
              model.FindRelation(TypeOf(t.user), w.relation) != nullptr) {
            node.computed_usersets.push_back(fmt::format("{}#{}", t.user, w.relation));
          }
          return true;
        });
      }
      std::sort(node.computed_usersets.begin(), node.computed_usersets.end());
      break;
    case Rewrite::Kind::kUnion:
    case Rewrite::Kind::kIntersection:
    case Rewrite::Kind::kExclusion:
      node.kind = w.kind == Rewrite::Kind::kUnion          ? ExpandNode::Kind::kUnion
                  : w.kind == Rewrite::Kind::kIntersection ? ExpandNode::Kind::kIntersection
                                                           : ExpandNode::Kind::kDifference;
      for (const Rewrite& c : w.children) {
        node.children.push_back(ExpandRewrite(model, stored, contextual, object, relation, c));
      }
      break;
  }
  return node;
}

}  // namespace

Result<ExpandNode> Expand(const Model& model, const TupleIndex& tuples, const ObjectRef& object,
                          std::string_view relation,
                          const std::vector<TupleKey>& contextual_tuples) {
  BULWARK_RETURN_IF_ERROR(CheckRelation(model, object.type, relation));
  BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<TupleIndex> contextual,
                           IndexContextual(model, contextual_tuples));
  const RelationDef* def = model.FindRelation(object.type, relation);
  return ExpandRewrite(model, tuples, contextual.get(), ToString(object), relation, def->rewrite);
}

}  // namespace bulwark::policy::fga
