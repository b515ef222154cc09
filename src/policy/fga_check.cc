#include "policy/fga_check.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace bulwark::policy::fga {

namespace {

std::string IndexKey(const ObjectRef& object, std::string_view relation) {
  return fmt::format("{}:{}#{}", object.type, object.id, relation);
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
  // (object, relation) that `restrictions` admit (tuples the model no
  // longer allows, written before it changed, are ignored).
  template <typename F>
  Result<Answer> AnyTuple(const ObjectRef& object, std::string_view relation,
                          const std::vector<TypeRestriction>& restrictions, F f) {
    Answer out = Answer::kFalse;
    for (const TupleIndex* index : {&stored_, &contextual_}) {
      const auto* entries = index->Find(object, relation);
      if (entries == nullptr) continue;
      for (const TupleIndex::Entry& e : *entries) {
        if (!AllowedBy(restrictions, e.user, e.condition)) continue;
        if (!e.condition.empty()) {
          return Err(Status(StatusCode::kUnimplemented,
                            fmt::format("tuple condition `{}` is not evaluated yet", e.condition)));
        }
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
        return AnyTuple(
            object, relation, w.direct, [&](const TupleIndex::Entry& e) -> Result<Answer> {
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
        // The model's validation makes the tupleset a relation of this type.
        const RelationDef* tupleset = model_.FindRelation(object.type, w.tupleset);
        return AnyTuple(object, w.tupleset, tupleset->directly_related,
                        [&](const TupleIndex::Entry& e) -> Result<Answer> {
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
  ids_by_type_[tuple.object.type].insert(tuple.object.id);
  ++size_;
}

std::vector<std::string> TupleIndex::ObjectIds(std::string_view type) const {
  auto it = ids_by_type_.find(std::string(type));
  if (it == ids_by_type_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

const std::vector<TupleIndex::Entry>* TupleIndex::Find(const ObjectRef& object,
                                                       std::string_view relation) const {
  auto it = by_object_relation_.find(IndexKey(object, relation));
  return it == by_object_relation_.end() ? nullptr : &it->second;
}

namespace {

// A query's type, relation, user and contextual tuples must make sense in
// the model; the contextual tuples come back indexed.
Result<TupleIndex> CheckQuery(const Model& model, std::string_view type, std::string_view relation,
                              const UserRef& user, const std::vector<TupleKey>& contextual_tuples) {
  if (model.FindType(type) == nullptr) {
    return Err(InvalidArgumentError(fmt::format("type `{}` is not in the model", type)));
  }
  if (model.FindRelation(type, relation) == nullptr) {
    return Err(InvalidArgumentError(fmt::format("`{}` has no relation `{}`", type, relation)));
  }
  if (model.FindType(user.type) == nullptr) {
    return Err(InvalidArgumentError(fmt::format("type `{}` is not in the model", user.type)));
  }
  if (!user.relation.empty() && model.FindRelation(user.type, user.relation) == nullptr) {
    return Err(
        InvalidArgumentError(fmt::format("`{}` has no relation `{}`", user.type, user.relation)));
  }
  TupleIndex contextual;
  for (const TupleKey& t : contextual_tuples) {
    BULWARK_RETURN_IF_ERROR(ValidateTuple(model, t));
    contextual.Add(t);
  }
  return contextual;
}

}  // namespace

Result<bool> Check(const Model& model, const TupleIndex& tuples, const CheckRequest& request) {
  BULWARK_ASSIGN_OR_RETURN(TupleIndex contextual,
                           CheckQuery(model, request.object.type, request.relation, request.user,
                                      request.contextual_tuples));
  Resolver resolver(model, tuples, contextual, request.user);
  BULWARK_ASSIGN_OR_RETURN(Answer answer, resolver.Check(request.object, request.relation, 0));
  return answer == Answer::kTrue;
}

Result<std::vector<std::string>> ListObjects(const Model& model, const TupleIndex& tuples,
                                             const ListObjectsRequest& request) {
  BULWARK_ASSIGN_OR_RETURN(
      TupleIndex contextual,
      CheckQuery(model, request.type, request.relation, request.user, request.contextual_tuples));
  std::set<std::string> ids;
  for (const TupleIndex* index : {&tuples, static_cast<const TupleIndex*>(&contextual)}) {
    for (std::string& id : index->ObjectIds(request.type)) ids.insert(std::move(id));
  }
  std::vector<std::string> out;
  for (const std::string& id : ids) {
    Resolver resolver(model, tuples, contextual, request.user);
    BULWARK_ASSIGN_OR_RETURN(Answer answer,
                             resolver.Check(ObjectRef{request.type, id}, request.relation, 0));
    if (answer == Answer::kTrue) out.push_back(request.type + ":" + id);
  }
  return out;
}

}  // namespace bulwark::policy::fga
