// JSON shapes of relationship requests (tuples, contexts, filters), shared by
// the relations API and the AuthZEN API. Internal to pdp/. Every error is
// kInvalidArgument naming the field.
#ifndef BULWARK_PDP_RELATIONS_JSON_H_
#define BULWARK_PDP_RELATIONS_JSON_H_

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "policy/cel.h"
#include "policy/fga_tuple.h"

namespace bulwark::pdp {

// {"user", "relation", "object", "condition"?: {"name", "context"?}}.
Result<policy::fga::TupleKey> TupleFromJson(const boost::json::value* v, std::string_view field);
boost::json::object TupleToJson(const policy::fga::TupleKey& tuple);
// A list of tuples, or OpenFGA's {"tuple_keys": [...]} (absent: none).
Result<std::vector<policy::fga::TupleKey>> TuplesFromJson(const boost::json::value* v,
                                                          std::string_view field);
// A list of tuples or {"tuple_keys": [...]} (absent: none).
Result<std::vector<policy::fga::TupleKey>> ContextualTuplesFromJson(const boost::json::value* v);
// A JSON object of condition parameters (absent: empty).
Result<policy::cel::Activation> ContextFromJson(const boost::json::value* v);
// "type:id" or {"type", "id"}.
Result<policy::fga::ObjectRef> ObjectFromJson(const boost::json::value* v, std::string_view field);
// ["user", "group#member"] or [{"type": "user"}, {"type": "group", "relation": "member"}].
Result<std::vector<std::string>> UserFiltersFromJson(const boost::json::value* v);
// A required string field of `o`.
Result<std::string> StringField(const boost::json::object& o, std::string_view field);
// A resolution path as one line for audit records.
std::string JoinPath(const std::vector<std::string>& path);

}  // namespace bulwark::pdp

#endif  // BULWARK_PDP_RELATIONS_JSON_H_
