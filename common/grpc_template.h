// Templates in a gRPC call's message (`grpc.message` as JSON with {{...}} in
// string values). The controller compiles the message once, with the .proto
// files, into a template of the encoded bytes (TemplateSyntax::kProtobuf): the
// bytes that never change as literals, and each templated field as a group
// that the agent renders per request and encodes in place (a string with its
// length, an integer as a varint), with every enclosing message's length and
// the gRPC frame header recomputed around it. Agents need no .proto files and
// never parse JSON; a message without templates is sent as the bytes it
// always was.
//
// Compiling: each templated JSON value is replaced by a placeholder, the JSON
// is encoded by protobuf's own JSON mapping, and the encoded bytes are walked
// with the message's descriptor to find where each placeholder landed.
#pragma once

#include <string>

#include "common/result.h"
#include "common/workload.h"

namespace horde {

// The body of the call `spec` makes, as template source in
// TemplateSyntax::kProtobuf: the gRPC frame of its message. Templates go in
// string fields and in integer fields (int32, int64, uint32, uint64, sint32,
// sint64; the value a quoted template such as "{{seq}}"), also inside nested
// messages, repeated fields, map values and the wrapper types
// (google.protobuf.StringValue, ...); anywhere else is an error naming the
// field. Relative paths resolve against `base_dir` (encode_grpc_message).
Result<std::string> grpc_body_template(const GrpcSpec& spec, const std::string& base_dir);

}  // namespace horde
