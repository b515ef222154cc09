#include "policy/fga_check.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace bulwark::policy::fga {

namespace {

std::string IndexKey(const ObjectRef& object, std::string_view relation) {
  return fmt::format("{}:{}#{}", object.type, object.id, relation);
}

bool Allows(const std::vector<TypeRestriction>& restrictions, const UserRef& user,
            std::string_view condition) {
  return std::any_of(restrictions.begin(), restrictions.end(), [&](const TypeRestriction& r) {
    return r.type == user.type && r.wildcard == user.wildcard() && r.relation == user.relation &&
           r.condition == condition;
  });
}

// A branch's answer: granted, not granted, or undecided because it runs
// into a cycle. A cycle grants nothing, and a `but not` whose subtracted
// part runs into one does not grant either (undecided is not "not
// excluded"): the check fails closed.
enum class Answer { kFalse, kTrue, kCycle };

class Resolver {
 public:
  Resolver(const Model& model, const TupleIndex& stored, const TupleIndex& contextual,
           const UserRef& user)
      : model_(model), stored_(stored), contextual_(contextual), user_(user) {}

  Result<Answer> Check(const ObjectRef& object, std::string_view relation, int depth) {
    if (depth > kMaxResolutionDepth) {
      return Err(Status(StatusCode::kResourceExhausted,
                        fmt::format("resolution deeper than {}", kMaxResolutionDepth)));
    }
    const RelationDef* def = model_.FindRelation(object.type, relation);
    if (def == nullptr) return Answer::kFalse;
    // A cycle (this relation of this object already being resolved below us)
    // grants nothing along that path.
    std::string key = IndexKey(object, relation);
    if (!visiting_.insert(key).second) return Answer::kCycle;
    Result<Answer> out = Eval(object, def->rewrite, def->name, depth);
    visiting_.erase(key);
    return out;
  }

 private:
  // The union of `f(entry)` over the stored and contextual tuples of
  // (object, relation).
  template <typename F>
  Result<Answer> AnyTuple(const ObjectRef& object, std::string_view relation, F f) {
    Answer out = Answer::kFalse;
    for (const TupleIndex* index : {&stored_, &contextual_}) {
      const auto* entries = index->Find(object, relation);
      if (entries == nullptr) continue;
      for (const TupleIndex::Entry& e : *entries) {
        BULWARK_ASSIGN_OR_RETURN(Answer a, f(e));
        if (a == Answer::kTrue) return a;
        if (a == Answer::kCycle) out = a;
      }
    }
    return out;
  }

  Result<Answer> Eval(const ObjectRef& object, const Rewrite& w, std::string_view relation,
                      int depth) {
    switch (w.kind) {
      case Rewrite::Kind::kDirect:
        return AnyTuple(object, relation, [&](const TupleIndex::Entry& e) -> Result<Answer> {
          if (!Allows(w.direct, e.user, e.condition)) return Answer::kFalse;  // the model moved on
          if (!e.condition.empty()) {
            return Err(
                Status(StatusCode::kUnimplemented,
                       fmt::format("tuple condition `{}` is not evaluated yet", e.condition)));
          }
          if (e.user == user_) return Answer::kTrue;
          if (e.user.wildcard()) {
            return user_.relation.empty() && user_.type == e.user.type ? Answer::kTrue
                                                                       : Answer::kFalse;
          }
          if (!e.user.relation.empty()) {
            return Check(ObjectRef{e.user.type, e.user.id}, e.user.relation, depth + 1);
          }
          return Answer::kFalse;
        });
      case Rewrite::Kind::kComputed:
        return Check(object, w.relation, depth + 1);
      case Rewrite::Kind::kTupleToUserset: {
        const RelationDef* tupleset = model_.FindRelation(object.type, w.tupleset);
        return AnyTuple(object, w.tupleset, [&](const TupleIndex::Entry& e) -> Result<Answer> {
          if (tupleset == nullptr || !Allows(tupleset->directly_related, e.user, e.condition)) {
            return Answer::kFalse;
          }
          if (!e.condition.empty()) {
            return Err(
                Status(StatusCode::kUnimplemented,
                       fmt::format("tuple condition `{}` is not evaluated yet", e.condition)));
          }
          if (e.user.wildcard() || !e.user.relation.empty()) return Answer::kFalse;
          return Check(ObjectRef{e.user.type, e.user.id}, w.relation, depth + 1);
        });
      }
      case Rewrite::Kind::kUnion: {
        Answer out = Answer::kFalse;
        for (const Rewrite& c : w.children) {
          BULWARK_ASSIGN_OR_RETURN(Answer a, Eval(object, c, relation, depth));
          if (a == Answer::kTrue) return a;
          if (a == Answer::kCycle) out = a;
        }
        return out;
      }
      case Rewrite::Kind::kIntersection: {
        Answer out = Answer::kTrue;
        for (const Rewrite& c : w.children) {
          BULWARK_ASSIGN_OR_RETURN(Answer a, Eval(object, c, relation, depth));
          if (a == Answer::kFalse) return a;
          if (a == Answer::kCycle) out = a;
        }
        return out;
      }
      case Rewrite::Kind::kExclusion: {
        BULWARK_ASSIGN_OR_RETURN(Answer base, Eval(object, w.children[0], relation, depth));
        if (base != Answer::kTrue) return base;
        BULWARK_ASSIGN_OR_RETURN(Answer subtract, Eval(object, w.children[1], relation, depth));
        if (subtract == Answer::kFalse) return Answer::kTrue;
        return subtract == Answer::kTrue ? Answer::kFalse : Answer::kCycle;
      }
    }
    return Answer::kFalse;
  }

  const Model& model_;
  const TupleIndex& stored_;
  const TupleIndex& contextual_;
  const UserRef& user_;
  std::set<std::string, std::less<>> visiting_;
};

}  // namespace

void TupleIndex::Add(const TupleKey& tuple) {
  by_object_relation_[IndexKey(tuple.object, tuple.relation)].push_back(
      {tuple.user, tuple.condition});
  ++size_;
}

const std::vector<TupleIndex::Entry>* TupleIndex::Find(const ObjectRef& object,
                                                       std::string_view relation) const {
  auto it = by_object_relation_.find(IndexKey(object, relation));
  return it == by_object_relation_.end() ? nullptr : &it->second;
}

Result<bool> Check(const Model& model, const TupleIndex& tuples, const CheckRequest& request) {
  if (model.FindType(request.object.type) == nullptr) {
    return Err(
        InvalidArgumentError(fmt::format("type `{}` is not in the model", request.object.type)));
  }
  if (model.FindRelation(request.object.type, request.relation) == nullptr) {
    return Err(InvalidArgumentError(
        fmt::format("`{}` has no relation `{}`", request.object.type, request.relation)));
  }
  if (model.FindType(request.user.type) == nullptr) {
    return Err(
        InvalidArgumentError(fmt::format("type `{}` is not in the model", request.user.type)));
  }
  if (!request.user.relation.empty() &&
      model.FindRelation(request.user.type, request.user.relation) == nullptr) {
    return Err(InvalidArgumentError(
        fmt::format("`{}` has no relation `{}`", request.user.type, request.user.relation)));
  }
  TupleIndex contextual;
  for (const TupleKey& t : request.contextual_tuples) {
    BULWARK_RETURN_IF_ERROR(ValidateTuple(model, t));
    contextual.Add(t);
  }
  Resolver resolver(model, tuples, contextual, request.user);
  BULWARK_ASSIGN_OR_RETURN(Answer answer, resolver.Check(request.object, request.relation, 0));
  return answer == Answer::kTrue;
}

}  // namespace bulwark::policy::fga
