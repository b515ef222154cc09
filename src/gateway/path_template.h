// Path templates of routes: "/docs/{id}" names path segments that become
// parameters of a policy's resource or a relation's object
// ("Document::\"{id}\"", "document:{id}"); a last "{name*}" takes the rest
// of the path. Templates match the normalized path.
#ifndef BULWARK_GATEWAY_PATH_TEMPLATE_H_
#define BULWARK_GATEWAY_PATH_TEMPLATE_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "gateway/route.h"

namespace bulwark::gateway {

using PathParams = std::map<std::string, std::string, std::less<>>;

// Splits and checks a template ("" is no template: no segments).
// kInvalidArgument naming the bad segment or a repeated parameter.
Result<std::vector<PathSegment>> CompilePathTemplate(std::string_view path);

// The parameters of `path` under compiled `segments` (none matches every
// path), or nullopt if it does not match. Each parameter is its segment as a
// service resolves it (net::SegmentResource: path parameters dropped,
// escapes decoded; a {rest*} is its segments so, joined by '/'); a segment
// that resolves to nothing certain does not match. With `ignore_case` (a
// route that is not case_sensitive) literal segments match in any ASCII
// case; parameters keep their case either way.
std::optional<PathParams> MatchPathTemplate(const std::vector<PathSegment>& segments,
                                            std::string_view path, bool ignore_case = false);

// `text` with each {name} replaced by its parameter; kInvalidArgument for a
// name `params` lacks or an unclosed brace.
Result<std::string> ExpandTemplate(std::string_view text, const PathParams& params);

// The parameter names of compiled `segments`, each mapped to "x": what
// ExpandTemplate needs to check a template at compile time.
PathParams SampleParams(const std::vector<PathSegment>& segments);

}  // namespace bulwark::gateway

#endif  // BULWARK_GATEWAY_PATH_TEMPLATE_H_
