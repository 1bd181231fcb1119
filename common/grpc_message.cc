#include "common/grpc_message.h"

#include <google/protobuf/compiler/importer.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/descriptor_database.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string_view>
#include <vector>

#include "common/base64.h"
#include "common/text.h"

namespace horde {

namespace {

namespace fs = std::filesystem;
namespace pb = google::protobuf;

using text::quote;

// The request travels to every agent inside its assignment, whose gRPC
// messages are capped at 4 MiB (agent/session.cc).
constexpr size_t kMaxMessageFileBytes = 1u << 20;
constexpr size_t kMaxErrorsShown = 10;
constexpr const char* kMethodForm = "expected /package.Service/Method";

std::string resolve(const std::string& base_dir, const std::string& path) {
  fs::path p(path);
  if (p.is_relative()) p = fs::path(base_dir.empty() ? "." : base_dir) / p;
  std::error_code ec;
  fs::path abs = fs::absolute(p, ec);
  return (ec ? p : abs).lexically_normal().string();
}

std::string list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

bool is_ident(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

// Parse errors come file by file; collected into one message with positions
// (1-based, as editors show them) and disk paths, as the user named the files.
class Errors : public pb::compiler::MultiFileErrorCollector {
 public:
  explicit Errors(pb::compiler::DiskSourceTree* tree) : tree_(tree) {}

  void AddError(const std::string& filename, int line, int column,
                const std::string& message) override {
    std::string disk;
    const std::string& name = tree_->VirtualFileToDiskFile(filename, &disk) ? disk : filename;
    std::ostringstream s;
    s << name;
    if (line >= 0) s << ':' << line + 1 << ':' << column + 1;
    s << ": " << message;
    lines_.push_back(s.str());
    if (message == "File not found.") missing_file_ = true;
  }

  bool empty() const { return lines_.empty(); }
  bool missing_file() const { return missing_file_; }
  std::string text() const {
    std::string out;
    for (size_t i = 0; i < lines_.size() && i < kMaxErrorsShown; ++i) out += "\n  " + lines_[i];
    if (lines_.size() > kMaxErrorsShown) {
      out += "\n  (" + std::to_string(lines_.size() - kMaxErrorsShown) + " more)";
    }
    return out;
  }

 private:
  pb::compiler::DiskSourceTree* tree_;
  std::vector<std::string> lines_;
  bool missing_file_ = false;
};

// The well-known types (google/protobuf/timestamp.proto, ...) are compiled into
// libprotobuf, so imports of them work without their .proto files on disk.
class WellKnownTypes : public pb::DescriptorDatabase {
 public:
  bool FindFileByName(const std::string& filename, pb::FileDescriptorProto* out) override {
    if (filename.rfind("google/protobuf/", 0) != 0) return false;
    const pb::FileDescriptor* f = pb::DescriptorPool::generated_pool()->FindFileByName(filename);
    if (f == nullptr) return false;
    f->CopyTo(out);
    return true;
  }
  bool FindFileContainingSymbol(const std::string&, pb::FileDescriptorProto*) override {
    return false;
  }
  bool FindFileContainingExtension(const std::string&, int, pb::FileDescriptorProto*) override {
    return false;
  }
};

// Everything that must outlive the descriptors found in it.
struct Protos {
  pb::compiler::DiskSourceTree tree;
  Errors errors{&tree};
  WellKnownTypes well_known;
  std::unique_ptr<pb::compiler::SourceTreeDescriptorDatabase> source_db;
  std::unique_ptr<pb::MergedDescriptorDatabase> db;
  std::unique_ptr<pb::DescriptorPool> pool;
  std::vector<const pb::FileDescriptor*> files;
};

Result<bool> load_protos(const GrpcSpec& spec, const std::string& base_dir, Protos* p) {
  std::vector<std::string> disk_files;
  for (const auto& f : spec.proto_files) {
    const std::string disk = resolve(base_dir, f);
    std::error_code ec;
    if (!fs::is_regular_file(disk, ec)) {
      return Error{"grpc.proto_files: " + quote(f) + " (" + disk +
                   "): no such file; give .proto files relative to the workload file's "
                   "directory or as absolute paths"};
    }
    disk_files.push_back(disk);
  }
  std::vector<std::string> roots;
  if (spec.import_paths.empty()) {
    for (const auto& d : disk_files) roots.push_back(fs::path(d).parent_path().string());
  } else {
    for (const auto& i : spec.import_paths) {
      const std::string disk = resolve(base_dir, i);
      std::error_code ec;
      if (!fs::is_directory(disk, ec)) {
        return Error{"grpc.import_paths: " + quote(i) + " (" + disk +
                     "): not a directory; expected directories where imports are looked up"};
      }
      roots.push_back(disk);
    }
  }
  for (const auto& r : roots) p->tree.MapPath("", r);

  std::vector<std::string> virtual_files;
  for (size_t i = 0; i < disk_files.size(); ++i) {
    std::string virtual_file;
    std::string shadow;
    const auto r = p->tree.DiskFileToVirtualFile(disk_files[i], &virtual_file, &shadow);
    if (r == pb::compiler::DiskSourceTree::SHADOWED) {
      return Error{"grpc.proto_files: " + quote(spec.proto_files[i]) + " is shadowed by " + shadow +
                   " (same name under an earlier import path); reorder grpc.import_paths"};
    }
    if (r != pb::compiler::DiskSourceTree::SUCCESS) {
      return Error{"grpc.proto_files: " + quote(spec.proto_files[i]) +
                   " is not under any of grpc.import_paths (" + list(spec.import_paths) +
                   "); add its directory (or a parent of it) to grpc.import_paths"};
    }
    virtual_files.push_back(virtual_file);
  }

  p->source_db = std::make_unique<pb::compiler::SourceTreeDescriptorDatabase>(&p->tree);
  p->source_db->RecordErrorsTo(&p->errors);
  p->db = std::make_unique<pb::MergedDescriptorDatabase>(&p->well_known, p->source_db.get());
  p->pool = std::make_unique<pb::DescriptorPool>(p->db.get(),
                                                 p->source_db->GetValidationErrorCollector());
  for (const auto& v : virtual_files) {
    const pb::FileDescriptor* f = p->pool->FindFileByName(v);
    if (f != nullptr) p->files.push_back(f);
  }
  if (!p->errors.empty() || p->files.size() != virtual_files.size()) {
    std::string hint;
    if (p->errors.missing_file()) {
      hint = "\n  imports are looked up in: " + list(roots) +
             (spec.import_paths.empty() ? " (set grpc.import_paths to change)" : "");
    }
    return Error{"grpc.proto_files: cannot parse (" + list(spec.proto_files) +
                 "):" + p->errors.text() + hint};
  }
  return true;
}

// The method's descriptor, or an error naming what exists instead.
Result<const pb::MethodDescriptor*> find_method(const GrpcSpec& spec, const Protos& p) {
  const std::string& m = spec.method;
  const size_t slash = m.find('/', 1);
  const std::string service = m.substr(1, slash - 1);
  const std::string method = m.substr(slash + 1);
  const pb::ServiceDescriptor* s = p.pool->FindServiceByName(service);
  if (s == nullptr) {
    std::vector<std::string> services;
    for (const auto* f : p.files) {
      for (int i = 0; i < f->service_count(); ++i) services.push_back(f->service(i)->full_name());
    }
    return Error{"grpc.method: " + quote(m) + ": service " + service +
                 " not found in proto_files (" + list(spec.proto_files) + "); " + kMethodForm +
                 (services.empty() ? std::string("; the files define no service")
                                   : "; services there: " + list(services))};
  }
  const pb::MethodDescriptor* md = s->FindMethodByName(method);
  if (md == nullptr) {
    std::vector<std::string> methods;
    for (int i = 0; i < s->method_count(); ++i) methods.push_back(s->method(i)->name());
    return Error{"grpc.method: " + quote(m) + ": service " + service + " has no method " + method +
                 "; its methods: " + list(methods)};
  }
  if (md->client_streaming() || md->server_streaming()) {
    return Error{"grpc.method: " + quote(m) +
                 ": is a streaming method; horde makes unary calls only"};
  }
  return md;
}

Result<std::string> read_file(const std::string& given, const std::string& disk) {
  std::error_code not_regular;
  if (!fs::is_regular_file(disk, not_regular)) {
    return Error{"grpc.message_file: " + quote(given) + " (" + disk +
                 "): not a regular file; expected a file of serialized request message bytes"};
  }
  std::ifstream in(disk, std::ios::binary);
  if (!in) {
    return Error{"grpc.message_file: " + quote(given) + " (" + disk + "): cannot read: " +
                 std::strerror(errno) + "; expected a file of serialized request message bytes"};
  }
  std::string bytes;
  char buf[8192];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    bytes.append(buf, static_cast<size_t>(in.gcount()));
    if (bytes.size() > kMaxMessageFileBytes) {
      return Error{"grpc.message_file: " + quote(given) + ": larger than " +
                   std::to_string(kMaxMessageFileBytes >> 20) + " MiB"};
    }
  }
  return bytes;
}

bool valid_header_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Names an HTTP/2 request may not carry (connection-specific, RFC 9113 8.2.2)
// or that grpc_request sets itself.
Result<bool> check_metadata_name(const std::string& given, const std::string& name) {
  const std::string field = "grpc.metadata: " + quote(given) + ": ";
  if (name.empty()) return Error{field + "empty name; expected a header name"};
  if (name[0] == ':') {
    return Error{field + "pseudo-headers (':...') are set by horde; use a plain header name"};
  }
  for (char c : name) {
    if (!valid_header_name_char(c)) {
      return Error{field +
                   "invalid character in a header name; expected letters, digits, "
                   "'-', '_' and '.'"};
    }
  }
  if (name == "grpc-timeout") return Error{field + "set the timeout with grpc.deadline instead"};
  if (name.rfind("grpc-", 0) == 0) {
    return Error{field + "names starting with grpc- are reserved by gRPC; use another name"};
  }
  for (const char* own : {"content-type", "te"}) {
    if (name == own) return Error{field + "is set by horde for every gRPC call; remove it"};
  }
  for (const char* conn :
       {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host"}) {
    if (name == conn) {
      return Error{field + "connection-specific headers are not allowed in HTTP/2; remove it"};
    }
  }
  return true;
}

}  // namespace

Result<bool> check_grpc_method(const std::string& method) {
  const std::string bad = "grpc.method: " + quote(method) + ": ";
  if (method.empty()) return Error{"grpc.method: missing; " + std::string(kMethodForm)};
  if (method[0] != '/') return Error{bad + "must start with '/'; " + kMethodForm};
  const size_t slash = method.find('/', 1);
  if (slash == std::string::npos || method.find('/', slash + 1) != std::string::npos) {
    return Error{bad + "expected exactly two '/'; " + kMethodForm};
  }
  const std::string_view service(method.data() + 1, slash - 1);
  const std::string_view name(method.data() + slash + 1, method.size() - slash - 1);
  size_t start = 0;
  while (true) {
    const size_t dot = service.find('.', start);
    const std::string_view part = service.substr(start, dot - start);
    if (!is_ident(part)) {
      return Error{bad + "service name is not a dotted protobuf name; " + kMethodForm};
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (!is_ident(name)) return Error{bad + "method name is not a protobuf name; " + kMethodForm};
  return true;
}

Result<std::string> encode_grpc_message(const GrpcSpec& spec, const std::string& base_dir) {
  if (auto ok = check_grpc_method(spec.method); !ok) return ok.error();
  const bool json = !spec.message_json.empty();
  const bool file = !spec.message_file.empty();
  if (json && file) {
    return Error{"grpc.message: both message and message_file are given; expected one of them"};
  }
  if (json && spec.proto_files.empty()) {
    return Error{
        "grpc.message: a JSON message needs grpc.proto_files to encode it; add the "
        ".proto files that define " +
        spec.method + ", or give raw bytes with grpc.message_file"};
  }
  if (!spec.import_paths.empty() && spec.proto_files.empty()) {
    return Error{"grpc.import_paths: given without grpc.proto_files; add the .proto files"};
  }

  std::string bytes;
  if (file) {
    auto read = read_file(spec.message_file, resolve(base_dir, spec.message_file));
    if (!read) return read.error();
    bytes = std::move(*read);
  }
  if (spec.proto_files.empty()) return bytes;

  Protos protos;
  if (auto loaded = load_protos(spec, base_dir, &protos); !loaded) return loaded.error();
  auto method = find_method(spec, protos);
  if (!method) return method.error();
  const pb::Descriptor* input = (*method)->input_type();

  pb::DynamicMessageFactory factory(protos.pool.get());
  std::unique_ptr<pb::Message> message(factory.GetPrototype(input)->New());
  if (file) {
    if (!message->ParseFromString(bytes)) {
      return Error{"grpc.message_file: " + quote(spec.message_file) +
                   ": the bytes do not parse as " + input->full_name() +
                   "; expected a serialized request message (e.g. from protoc --encode)"};
    }
    return bytes;
  }
  if (json) return encode_json(*input, spec.message_json);
  return bytes;
}

Result<bool> with_input_type(const GrpcSpec& spec, const std::string& base_dir,
                             const std::function<Result<bool>(const pb::Descriptor&)>& use) {
  Protos protos;
  if (auto loaded = load_protos(spec, base_dir, &protos); !loaded) return loaded.error();
  auto method = find_method(spec, protos);
  if (!method) return method.error();
  return use(*(*method)->input_type());
}

Result<std::string> encode_json(const pb::Descriptor& input, const std::string& json) {
  pb::DynamicMessageFactory factory(input.file()->pool());
  std::unique_ptr<pb::Message> message(factory.GetPrototype(&input)->New());
  const auto status = pb::util::JsonStringToMessage(json, message.get());
  if (!status.ok()) {
    // protobuf's message may quote the input over several lines: keep the first.
    std::string why(status.message());
    why = why.substr(0, why.find('\n'));
    if (why.rfind(": ", 0) == 0) why.erase(0, 2);
    return Error{"grpc.message: not a valid " + input.full_name() + ": " + why +
                 "; expected its fields in protobuf's JSON mapping (names as in the .proto "
                 "or lowerCamelCase)"};
  }
  std::string bytes;
  if (!message->SerializeToString(&bytes)) {
    return Error{"grpc.message: cannot serialize " + input.full_name() +
                 " (required fields missing?): " + message->InitializationErrorString()};
  }
  return bytes;
}

std::string grpc_timeout_value(Millis d) {
  constexpr int64_t kMax = 99'999'999;  // the spec allows at most 8 digits
  int64_t v = d.count();
  if (v <= kMax) return std::to_string(v) + "m";
  const std::pair<int64_t, char> coarser[] = {{1000, 'S'}, {60, 'M'}, {60, 'H'}};
  for (const auto& [factor, unit] : coarser) {
    v = v / factor + (v % factor != 0 ? 1 : 0);  // round up: never time out early
    if (v <= kMax) return std::to_string(v) + unit;
  }
  return std::to_string(kMax) + "H";
}

std::string grpc_frame(const std::string& message_bytes) {
  const auto n = static_cast<uint32_t>(message_bytes.size());
  std::string out;
  out.reserve(5 + message_bytes.size());
  out.push_back('\0');
  out.push_back(static_cast<char>(n >> 24));
  out.push_back(static_cast<char>(n >> 16));
  out.push_back(static_cast<char>(n >> 8));
  out.push_back(static_cast<char>(n));
  out += message_bytes;
  return out;
}

Result<RequestSpec> grpc_request(const GrpcSpec& spec, const std::string& message_bytes) {
  if (auto ok = check_grpc_method(spec.method); !ok) return ok.error();
  if (spec.deadline.count() < 0) {
    return Error{"grpc.deadline: negative; expected a duration such as 500ms, or 0 for none"};
  }
  if (message_bytes.size() > UINT32_MAX) {
    return Error{"grpc.message: larger than 4 GiB, the most a gRPC frame can carry"};
  }
  RequestSpec r;
  r.method = "POST";
  r.path = spec.method;
  r.headers = {{"content-type", "application/grpc"}, {"te", "trailers"}};
  if (spec.deadline.count() > 0)
    r.headers.emplace_back("grpc-timeout", grpc_timeout_value(spec.deadline));
  for (const auto& [given, value] : spec.metadata) {
    const std::string name = text::lower(given);
    if (auto ok = check_metadata_name(given, name); !ok) return ok.error();
    if (ends_with(name, "-bin")) {
      r.headers.emplace_back(name, base64_encode(value));
      continue;
    }
    for (char c : value) {
      if (c < 0x20 || c > 0x7e) {
        return Error{"grpc.metadata: " + quote(given) +
                     ": the value has a character outside printable ASCII; use printable "
                     "ASCII, or a name ending in -bin for binary values (sent base64-encoded)"};
      }
    }
    r.headers.emplace_back(name, value);
  }
  r.body = grpc_frame(message_bytes);
  return r;
}

}  // namespace horde
