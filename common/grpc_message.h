// gRPC calls as plain HTTP/2 requests. A workload's `grpc:` section is turned
// into one RequestSpec when the workload is loaded: the request message is
// encoded here from JSON (with the user's .proto files, through protobuf's
// compiler importer and DynamicMessage) or taken as raw bytes from a file, then
// framed with the gRPC length prefix and given the gRPC headers. Agents on other
// hosts therefore send ordinary HTTP/2 POSTs and never need the .proto files.
// Errors name the `grpc.*` field and say what is expected.
#pragma once

#include <functional>
#include <string>

#include "common/duration.h"
#include "common/result.h"
#include "common/workload.h"

namespace google::protobuf {
class Descriptor;
}

namespace horde {

// The serialized request message for `spec`:
// - message_json (needs proto_files): parsed with protobuf's JSON mapping into the
//   method's input type and serialized;
// - message_file: the file's bytes as they are (checked against the input type
//   when proto_files are given);
// - neither: empty bytes (the method is still looked up when proto_files are given).
// Relative paths in proto_files, import_paths and message_file are resolved
// against `base_dir` (the workload file's directory; "" = the current directory).
// import_paths default to the directory of each proto file.
Result<std::string> encode_grpc_message(const GrpcSpec& spec, const std::string& base_dir);

// The HTTP/2 request for one unary call: POST to spec.method with
// `content-type: application/grpc`, `te: trailers`, `grpc-timeout` when a deadline
// is set, then the metadata (names lowercased; `-bin` values base64-encoded); the
// body is the gRPC frame of `message_bytes`.
Result<RequestSpec> grpc_request(const GrpcSpec& spec, const std::string& message_bytes);

// Loads spec's proto_files, finds spec.method and calls `use` with its input
// type, valid during the call (common/grpc_template.cc walks it).
Result<bool> with_input_type(
    const GrpcSpec& spec, const std::string& base_dir,
    const std::function<Result<bool>(const google::protobuf::Descriptor&)>& use);
// `json` in protobuf's JSON mapping, serialized as `input`; errors name grpc.message.
Result<std::string> encode_json(const google::protobuf::Descriptor& input, const std::string& json);

// Pieces of grpc_request, public for tests.

// Checks the "/package.Service/Method" form (package optional); the error names grpc.method.
Result<bool> check_grpc_method(const std::string& method);
// grpc-timeout header value: milliseconds ("250m"), or the finest coarser unit
// (S, M, H; rounded up) that keeps the number within the spec's 8 digits. d > 0.
std::string grpc_timeout_value(Millis d);
// 1 byte compressed flag (0) + 4-byte big-endian length + the message.
std::string grpc_frame(const std::string& message_bytes);

}  // namespace horde
