// Who may talk to whom: the shared token agents present to the controller
// (`authorization: Bearer ...` call metadata) and TLS / mutual TLS for the
// session channel from PEM files. Loaded and checked once at start-up; a
// missing or unreadable file is an error that names the flag.
#pragma once

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "common/result.h"

namespace horde {

struct SecurityFlags {
  std::string token_file;                 // --token-file; else the HORDE_TOKEN environment variable
  bool insecure_no_token = false;         // --insecure-no-token: say it to run without a token
  std::string tls_cert, tls_key, tls_ca;  // --tls-cert, --tls-key, --tls-ca (PEM files)
};

struct Security {
  std::string token;  // empty only with insecure_no_token
  std::string cert_pem, key_pem, ca_pem;
  bool tls() const { return !cert_pem.empty() || !ca_pem.empty(); }
};

// Reads the token and PEM files. `role` is "controller" or "agent" (for messages).
Result<Security> load_security(const SecurityFlags& flags, const std::string& role);

// Controller side: TLS when a cert is given; with a CA, clients must present a
// certificate signed by it (mutual TLS).
std::shared_ptr<grpc::ServerCredentials> server_credentials(const Security& s);
// Agent side: TLS when a CA (to verify the controller) or a client cert is given.
std::shared_ptr<grpc::ChannelCredentials> channel_credentials(const Security& s);

// Constant-time comparison of the presented `authorization` value with "Bearer <token>".
bool token_matches(const std::string& presented, const std::string& token);

// A fresh random token (hex), for `horde run`'s own local agents.
std::string random_token();

}  // namespace horde
