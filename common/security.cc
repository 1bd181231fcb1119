#include "common/security.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

namespace horde {

namespace {

Result<std::string> read_small_file(const std::string& flag, const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    return Error{fmt::format("{} {}: cannot read file: {}", flag, path, std::strerror(errno))};
  std::stringstream s;
  s << f.rdbuf();
  std::string text = s.str();
  if (text.size() > (1 << 20))
    return Error{fmt::format("{} {}: file larger than 1 MiB", flag, path)};
  return text;
}

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  const auto last = s.find_last_not_of(" \t\r\n");
  return first == std::string::npos ? "" : s.substr(first, last - first + 1);
}

}  // namespace

Result<Security> load_security(const SecurityFlags& flags, const std::string& role) {
  Security s;
  if (!flags.token_file.empty()) {
    auto text = read_small_file("--token-file", flags.token_file);
    if (!text) return text.error();
    s.token = trim(*text);
    if (s.token.empty()) return Error{"--token-file " + flags.token_file + ": the file is empty"};
  } else if (const char* env = std::getenv("HORDE_TOKEN"); env && *env) {
    s.token = trim(env);
  }
  if (s.token.empty() && !flags.insecure_no_token) {
    return Error{fmt::format(
        "the {} needs a shared token: give --token-file FILE or set HORDE_TOKEN (the same on "
        "controller and agents), or say --insecure-no-token to run without one",
        role)};
  }
  if (s.token.find_first_of("\r\n") != std::string::npos || s.token.size() > 4096) {
    return Error{"the token must be one line of at most 4096 characters"};
  }
  if (flags.tls_cert.empty() != flags.tls_key.empty()) {
    return Error{"--tls-cert and --tls-key go together: give both PEM files"};
  }
  if (!flags.tls_cert.empty()) {
    auto cert = read_small_file("--tls-cert", flags.tls_cert);
    if (!cert) return cert.error();
    auto key = read_small_file("--tls-key", flags.tls_key);
    if (!key) return key.error();
    s.cert_pem = *cert;
    s.key_pem = *key;
  }
  if (!flags.tls_ca.empty()) {
    auto ca = read_small_file("--tls-ca", flags.tls_ca);
    if (!ca) return ca.error();
    s.ca_pem = *ca;
  }
  if (role == "controller" && !s.ca_pem.empty() && s.cert_pem.empty()) {
    return Error{"--tls-ca on the controller needs --tls-cert and --tls-key too"};
  }
  return s;
}

std::shared_ptr<grpc::ServerCredentials> server_credentials(const Security& s) {
  if (s.cert_pem.empty()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions o(
      s.ca_pem.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                       : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  o.pem_root_certs = s.ca_pem;
  o.pem_key_cert_pairs.push_back({s.key_pem, s.cert_pem});
  return grpc::SslServerCredentials(o);
}

std::shared_ptr<grpc::ChannelCredentials> channel_credentials(const Security& s) {
  if (!s.tls()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions o;
  o.pem_root_certs = s.ca_pem;
  o.pem_private_key = s.key_pem;
  o.pem_cert_chain = s.cert_pem;
  return grpc::SslCredentials(o);
}

bool token_matches(const std::string& presented, const std::string& token) {
  const std::string expected = "Bearer " + token;
  unsigned char diff = presented.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < expected.size(); ++i) {
    const unsigned char p = i < presented.size() ? static_cast<unsigned char>(presented[i]) : 0;
    diff |= p ^ static_cast<unsigned char>(expected[i]);
  }
  return diff == 0;
}

std::string random_token() {
  std::random_device rd;
  std::string t;
  for (int i = 0; i < 4; ++i) t += fmt::format("{:08x}", rd());
  return t;
}

}  // namespace horde
