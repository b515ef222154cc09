// OpenFGA's JSON form of authorization models (what its SDKs and CLI send to
// POST /stores/{id}/authorization-models and read back), to and from the
// modeling language Bulwark stores. Internal to pdp/.
#ifndef BULWARK_PDP_OPENFGA_MODEL_JSON_H_
#define BULWARK_PDP_OPENFGA_MODEL_JSON_H_

#include <boost/json/value.hpp>
#include <string>

#include "core/status.h"
#include "policy/fga_model.h"

namespace bulwark::pdp {

// The DSL (schema 1.1) of a JSON model {"schema_version", "type_definitions",
// "conditions"}; kInvalidArgument naming the part that is not such a model.
// The DSL is then parsed and validated as any model is.
Result<std::string> DslFromModelJson(const boost::json::value& model);

// The JSON form of `model`, with `id` as its id.
boost::json::object ModelToJson(const policy::fga::Model& model, const std::string& id);

}  // namespace bulwark::pdp

#endif  // BULWARK_PDP_OPENFGA_MODEL_JSON_H_
