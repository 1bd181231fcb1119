// Offline checks of the deployment files in docker/ (no Docker engine or cluster
// runs here): the runtime image installs every shared library the built binary
// links (ldd -> dpkg -S) and nothing else; compose.yaml parses, uses one image and
// only subcommands and flags that `horde <sub> --help` knows; the Kubernetes
// manifests validate against the API schemas (tests/deploy/validate_k8s.js, which
// must also reject a broken manifest) and pass their own flag check; the workloads
// shipped for them pass `horde validate`.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <map>
#include <regex>
#include <set>

#include "tests/integration/harness.h"

namespace horde::testing {
namespace deploy_test {

namespace fs = std::filesystem;

const fs::path kSource = HORDE_SOURCE_DIR;
const fs::path kDocker = kSource / "docker";

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs a shell command; returns its exit code and its stdout + stderr.
Finished shell(const std::string& command) {
  Finished f;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return f;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) f.out.append(buf, n);
  const int status = ::pclose(p);
  f.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return f;
}

bool have(const std::string& program) {
  return shell("command -v " + quote(program) + " >/dev/null").code == 0;
}

std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// Libraries debian:12-slim already has (its Essential set plus apt's dependencies).
const std::set<std::string> kInSlimBase = {
    "libc6",         "libgcc-s1",   "libstdc++6",   "zlib1g",      "libzstd1",    "liblz4-1",
    "liblzma5",      "libbz2-1.0",  "libsystemd0",  "libudev1",    "libgcrypt20", "libgpg-error0",
    "libcap2",       "libselinux1", "libpcre2-8-0", "libgmp10",    "libnettle8",  "libhogweed6",
    "libp11-kit0",   "libtasn1-6",  "libgnutls30",  "libffi8",     "libidn2-0",   "libunistring2",
    "libcrypt1",     "libtinfo6",   "libxxhash0",   "libseccomp2", "libacl1",     "libattr1",
    "libaudit1",     "libcap-ng0",  "libmd0",       "libuuid1",    "libblkid1",   "libmount1",
    "libsmartcols1", "libpam0g",    "libdb5.3"};

// Debian packages owning the shared libraries `ldd binary` resolves.
std::set<std::string> runtime_packages(const std::string& binary, std::string* log) {
  const auto ldd = shell("ldd " + quote(binary));
  *log += ldd.out;
  const std::regex resolved(R"(=>\s+(/\S+))"), loader(R"(^\s*(/\S+ld-linux\S*))");
  std::vector<std::string> libraries;
  std::string query;
  std::istringstream lines(ldd.out);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, resolved) && !std::regex_search(line, m, loader)) continue;
    libraries.push_back(m[1]);
  }
  // usrmerge: a library is registered under /lib or /usr/lib, so ask for every spelling
  // (and the real file) in one dpkg -S call; it prints "pkg:arch: /path" per hit.
  auto spellings = [](const std::string& path) {
    std::vector<std::string> out = {path, fs::weakly_canonical(path).string()};
    for (const auto& c : std::vector<std::string>(out)) {
      out.push_back(c.rfind("/usr/", 0) == 0 ? c.substr(4) : "/usr" + c);
    }
    return out;
  };
  for (const auto& l : libraries) {
    for (const auto& c : spellings(l)) query += " " + quote(c);
  }
  std::map<std::string, std::string> owner_of;
  std::istringstream hits(shell("dpkg -S" + query).out);
  for (std::string hit; std::getline(hits, hit);) {
    const auto sep = hit.find(": /");
    if (sep == std::string::npos) continue;
    owner_of[hit.substr(sep + 2)] = hit.substr(0, hit.find_first_of(":,"));
  }
  std::set<std::string> packages;
  for (const auto& l : libraries) {
    std::string owner;
    for (const auto& c : spellings(l)) {
      if (owner_of.count(c)) owner = owner_of[c];
    }
    *log += l + " -> " + (owner.empty() ? "?" : owner) + "\n";
    packages.insert(owner.empty() ? "UNOWNED:" + l : owner);
  }
  return packages;
}

struct Stage {
  std::string from;
  std::vector<std::string> apt_packages;  // from its RUN ... apt-get install lines
};

// Splits a Dockerfile into stages (continuation lines joined) and collects the
// packages of each stage's `apt-get install` commands.
std::vector<Stage> parse_dockerfile(const std::string& text) {
  std::vector<std::string> instructions;
  std::istringstream lines(text);
  std::string current;
  for (std::string line; std::getline(lines, line);) {
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    const bool more = !line.empty() && line.back() == '\\';
    current += (more ? line.substr(0, line.size() - 1) : line) + " ";
    if (!more) {
      instructions.push_back(current);
      current.clear();
    }
  }
  std::vector<Stage> stages;
  for (const auto& ins : instructions) {
    const auto w = words(ins);
    if (w.empty()) continue;
    if (w[0] == "FROM") {
      stages.push_back({w.size() > 1 ? w[1] : "", {}});
    } else if (w[0] == "RUN" && !stages.empty()) {
      for (size_t i = 0; i + 1 < w.size(); ++i) {
        if (w[i] != "apt-get" || w[i + 1] != "install") continue;
        for (size_t j = i + 2; j < w.size() && w[j] != "&&" && w[j] != ";"; ++j) {
          if (w[j][0] != '-') stages.back().apt_packages.push_back(w[j]);
        }
      }
    }
  }
  return stages;
}

TEST(Deploy, RuntimeImageInstallsExactlyTheLibrariesTheBinaryLinks) {
  if (!have("ldd") || !have("dpkg")) GTEST_SKIP() << "needs ldd and dpkg (Debian)";
  const auto stages = parse_dockerfile(read_file(kDocker / "Dockerfile"));
  ASSERT_EQ(stages.size(), 2u) << "expected a build stage and a runtime stage";
  EXPECT_EQ(stages[0].from, "debian:12");
  EXPECT_EQ(stages[1].from, "debian:12-slim");
  const std::set<std::string> installed(stages[1].apt_packages.begin(),
                                        stages[1].apt_packages.end());

  std::string log;
  const auto needed = runtime_packages(HORDE_BINARY, &log);
  ASSERT_FALSE(needed.empty()) << log;
  // The image builds without sanitizers; a sanitizer build links their runtimes on top.
  if (log.find("libasan") != std::string::npos || log.find("libubsan") != std::string::npos) {
    GTEST_SKIP() << "this horde is a sanitizer build (links libasan/libubsan); the image is not";
  }
  for (const auto& p : needed) {
    EXPECT_EQ(p.rfind("UNOWNED:", 0), std::string::npos) << p << " belongs to no package\n" << log;
    if (kInSlimBase.count(p)) continue;
    EXPECT_TRUE(installed.count(p)) << "runtime stage does not install " << p << "\n" << log;
  }
  for (const auto& p : installed) {
    EXPECT_TRUE(needed.count(p)) << "runtime stage installs " << p
                                 << ", which the binary does not link\n"
                                 << log;
  }
}

TEST(Deploy, BuildStageHasTheDevPackagesOfDepsScript) {
  const auto stages = parse_dockerfile(read_file(kDocker / "Dockerfile"));
  ASSERT_FALSE(stages.empty());
  const std::set<std::string> build(stages[0].apt_packages.begin(), stages[0].apt_packages.end());
  // Test, benchmark, fuzzing and tooling packages are not needed to build the binary.
  const std::set<std::string> not_for_image = {"libgtest-dev", "libgmock-dev", "libbenchmark-dev",
                                               "libnghttp2-dev", "libclang-rt-14-dev"};
  const std::regex dev(R"(\b(lib[a-z0-9+.-]+-dev|nlohmann-json3-dev|protobuf-compiler(-grpc)?)\b)");
  const std::string deps = read_file(kSource / "scripts" / "deps.sh");
  for (std::sregex_iterator it(deps.begin(), deps.end(), dev), end; it != end; ++it) {
    const std::string p = (*it)[1];
    if (not_for_image.count(p)) continue;
    EXPECT_TRUE(build.count(p)) << "build stage lacks " << p << " (listed in scripts/deps.sh)";
  }
  const std::string text = read_file(kDocker / "Dockerfile");
  EXPECT_NE(text.find("-DHORDE_BUILD_TESTS=OFF"), std::string::npos);
  EXPECT_NE(text.find("-DHORDE_BUILD_BENCH=OFF"), std::string::npos);
  EXPECT_NE(text.find("ENTRYPOINT [\"horde\"]"), std::string::npos);
  EXPECT_TRUE(std::regex_search(text, std::regex(R"(\nUSER\s+(?!root|0\b)\S+)")))
      << "runtime stage must not run as root";
  EXPECT_NE(text.find("org.opencontainers.image.title"), std::string::npos);
  // The token and build trees must never reach the build context.
  const std::string ignore = read_file(kDocker / "Dockerfile.dockerignore");
  EXPECT_NE(ignore.find("docker/token"), std::string::npos);
  EXPECT_NE(ignore.find("build"), std::string::npos);
}

// The long flags `horde <sub> --help` lists (and the subcommands of `horde --help`).
std::set<std::string> help_flags(const std::string& sub) {
  const auto f = run_horde(sub.empty() ? std::vector<std::string>{"--help"}
                                       : std::vector<std::string>{sub, "--help"});
  std::set<std::string> flags;
  const std::regex flag(R"(--[a-z][a-z0-9-]*)");
  for (std::sregex_iterator it(f.out.begin(), f.out.end(), flag), end; it != end; ++it) {
    flags.insert(it->str());
  }
  return flags;
}

const std::set<std::string> kSubcommands = {"run", "controller", "agent", "target", "validate"};

// Checks one horde command line (tokens after the entrypoint) against --help.
void expect_known_command(const std::vector<std::string>& argv, const std::string& where) {
  ASSERT_FALSE(argv.empty()) << where;
  const std::string sub = argv[0];
  ASSERT_TRUE(kSubcommands.count(sub)) << where << ": unknown subcommand " << sub;
  const auto known = help_flags(sub);
  ASSERT_TRUE(known.count("--help")) << "horde " << sub << " --help lists no flags";
  for (const auto& a : argv) {
    if (a.rfind("--", 0) != 0) continue;
    const std::string name = a.substr(0, a.find('='));
    EXPECT_TRUE(known.count(name)) << where << ": horde " << sub << " has no flag " << name;
  }
}

// ${VAR:-default} -> default (what compose does with VAR unset).
std::string interpolate(const std::string& s) {
  return std::regex_replace(s, std::regex(R"(\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\})"), "$1");
}

std::string flag_value(const std::vector<std::string>& argv, const std::string& flag) {
  for (size_t i = 0; i + 1 < argv.size(); ++i) {
    if (argv[i] == flag) return argv[i + 1];
  }
  return "";
}

// yaml-cpp 0.7 keeps YAML merge keys (`<<: *anchor`) as a plain key; compose merges
// them, so do the same: keys of the merged map that the service does not set.
YAML::Node merged(const YAML::Node& service) {
  YAML::Node out = YAML::Clone(service);
  if (const auto base = service["<<"]; base && base.IsMap()) {
    for (const auto& kv : base) {
      if (!out[kv.first.as<std::string>()]) out[kv.first.as<std::string>()] = kv.second;
    }
    out.remove("<<");
  }
  return out;
}

TEST(Deploy, ComposeFileUsesOneImageAndValidCommands) {
  const YAML::Node compose = YAML::LoadFile((kDocker / "compose.yaml").string());
  ASSERT_TRUE(compose["services"] && compose["services"].IsMap());
  YAML::Node services;
  for (const auto& s : compose["services"]) services[s.first.as<std::string>()] = merged(s.second);
  std::map<std::string, std::vector<std::string>> commands;
  std::set<std::string> images;
  for (const auto& s : services) {
    const std::string name = s.first.as<std::string>();
    ASSERT_TRUE(s.second["image"]) << name << " has no image";
    images.insert(s.second["image"].as<std::string>());
    EXPECT_EQ(s.second["build"]["dockerfile"].as<std::string>(""), "docker/Dockerfile") << name;
    std::vector<std::string> argv;
    for (const auto& a : s.second["command"]) argv.push_back(interpolate(a.as<std::string>()));
    expect_known_command(argv, "compose service " + name);
    commands[name] = argv;
    for (const auto& secret : s.second["secrets"]) {
      EXPECT_TRUE(compose["secrets"][secret.as<std::string>()]) << name << ": undefined secret";
    }
    for (const auto& config : s.second["configs"]) {
      const std::string source = config["source"].as<std::string>();
      ASSERT_TRUE(compose["configs"][source]) << name << ": undefined config " << source;
      EXPECT_TRUE(fs::exists(kDocker / compose["configs"][source]["file"].as<std::string>()));
    }
  }
  EXPECT_EQ(images.size(), 1u) << "every service runs the same image";
  ASSERT_TRUE(commands.count("controller") && commands.count("agent") && commands.count("target"));
  EXPECT_EQ(commands["controller"][0], "controller");
  EXPECT_EQ(commands["agent"][0], "agent");
  EXPECT_EQ(commands["target"][0], "target");

  // The controller waits for as many agents as compose starts, which dial its port.
  const auto replicas = services["agent"]["deploy"]["replicas"].as<int>(1);
  EXPECT_EQ(flag_value(commands["controller"], "--expect-agents"), std::to_string(replicas));
  EXPECT_EQ(replicas, 3);
  const std::string listen = flag_value(commands["controller"], "--listen");
  const std::string dial = flag_value(commands["agent"], "--controller");
  EXPECT_EQ(dial, "controller:" + listen.substr(listen.rfind(':') + 1));
  EXPECT_EQ(flag_value(commands["agent"], "--token-file"),
            "/run/secrets/" + services["agent"]["secrets"][0].as<std::string>());
  EXPECT_EQ(flag_value(commands["controller"], "--token-file"),
            flag_value(commands["agent"], "--token-file"));
  EXPECT_TRUE(compose["secrets"]["horde_token"]["file"]);
  EXPECT_TRUE(compose["volumes"]["results"]);

  // The workload it mounts is valid and aims at the compose target.
  const auto f = run_horde({"validate", (kDocker / "workload.yaml").string()});
  EXPECT_EQ(f.code, 0) << f.out;
  EXPECT_NE(read_file(kDocker / "workload.yaml").find("http://target:8080/"), std::string::npos);
}

// horde argv of a container: `args` after the entrypoint, or the horde line of `sh -c`.
std::vector<std::string> horde_argv(const YAML::Node& container) {
  std::vector<std::string> all;
  for (const auto& key : {"command", "args"}) {
    for (const auto& a : container[key]) all.push_back(a.as<std::string>());
  }
  if (all.size() >= 2 && all[0] == "sh" && all[1] == "-c") {
    std::string script;
    for (size_t i = 2; i < all.size(); ++i) script += all[i] + "\n";
    script = std::regex_replace(script, std::regex(R"(\\\n)"), " ");
    const auto at = script.find("horde ");
    if (at == std::string::npos) return {};
    auto w = words(script.substr(at + 6, script.find('\n', at) - at - 6));
    if (!w.empty() && w.back() == "&") w.pop_back();
    return w;
  }
  return all;
}

TEST(Deploy, KubernetesManifestsUseValidCommandsAndWorkload) {
  int containers = 0;
  for (const auto& entry : fs::directory_iterator(kDocker / "k8s")) {
    if (entry.path().filename() == "kustomization.yaml") continue;
    for (const auto& doc : YAML::LoadAllFromFile(entry.path().string())) {
      const std::string where = entry.path().filename().string();
      if (doc["kind"].as<std::string>("") == "ConfigMap") {
        for (const auto& d : doc["data"]) {
          const auto dir = temp_dir("deploy-configmap");
          write_file(dir / d.first.as<std::string>(), d.second.as<std::string>());
          const auto f = run_horde({"validate", (dir / d.first.as<std::string>()).string()});
          EXPECT_EQ(f.code, 0) << where << ": " << f.out;
          fs::remove_all(dir);
        }
      }
      if (!doc["spec"] || !doc["spec"]["template"]) continue;
      const auto spec = doc["spec"]["template"]["spec"];
      for (const auto& c : spec["containers"]) {
        ++containers;
        EXPECT_EQ(c["image"].as<std::string>(""), "horde:0.1.0") << where;
        expect_known_command(horde_argv(c), where);
      }
    }
  }
  EXPECT_EQ(containers, 3);  // controller, agents, demo target
}

TEST(Deploy, KubernetesManifestsValidateAgainstTheApiSchemas) {
  const fs::path deploy = kSource / "tests" / "deploy";
  if (!have("node")) GTEST_SKIP() << "node is not installed";
  if (!fs::exists(deploy / "node_modules" / "kubernetes-models")) {
    GTEST_SKIP() << "run `npm ci --prefix tests/deploy` first";
  }
  const std::string validate = "node " + quote((deploy / "validate_k8s.js").string());
  const auto ok = shell(validate);
  EXPECT_EQ(ok.code, 0) << ok.out;
  EXPECT_NE(ok.out.find("Job/horde-controller"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("Job/horde-agent"), std::string::npos) << ok.out;

  // The check can fail: a schema error, and manifests that disagree with each other.
  const auto dir = temp_dir("deploy-broken");
  write_file(dir / "broken.yaml",
             "apiVersion: batch/v1\nkind: Job\nmetadata: {name: broken}\nspec:\n"
             "  parallelism: three\n  template:\n    spec:\n"
             "      restartPolicy: Never\n      containers: [{image: horde:0.1.0}]\n");
  const auto broken = shell(validate + " " + quote((dir / "broken.yaml").string()));
  EXPECT_NE(broken.code, 0) << broken.out;
  EXPECT_NE(broken.out.find("parallelism must be integer"), std::string::npos) << broken.out;
  EXPECT_NE(broken.out.find("must have required property name"), std::string::npos) << broken.out;

  fs::create_directories(dir / "k8s");
  for (const auto& e : fs::directory_iterator(kDocker / "k8s")) {
    fs::copy_file(e.path(), dir / "k8s" / e.path().filename());
  }
  std::string agents = read_file(dir / "k8s" / "agents.yaml");
  agents = std::regex_replace(agents, std::regex("completions: 3"), "completions: 4");
  agents = std::regex_replace(agents, std::regex("parallelism: 3"), "parallelism: 4");
  write_file(dir / "k8s" / "agents.yaml", agents);
  const auto mismatch = shell(validate + " " + quote((dir / "k8s").string()));
  EXPECT_NE(mismatch.code, 0) << mismatch.out;
  EXPECT_NE(mismatch.out.find("controller expects 3 agent(s)"), std::string::npos) << mismatch.out;
  fs::remove_all(dir);
}

TEST(Deploy, KustomizeRendersEveryManifestIntoTheHordeNamespace) {
  if (!have("kubectl")) GTEST_SKIP() << "kubectl is not installed";
  const auto f = shell("kubectl kustomize " + quote((kDocker / "k8s").string()));
  ASSERT_EQ(f.code, 0) << f.out;
  std::set<std::string> kinds;
  for (const auto& doc : YAML::LoadAll(f.out)) {
    const std::string kind = doc["kind"].as<std::string>();
    kinds.insert(kind + "/" + doc["metadata"]["name"].as<std::string>());
    if (kind != "Namespace") {
      EXPECT_EQ(doc["metadata"]["namespace"].as<std::string>(""), "horde") << kind;
    }
  }
  for (const char* k : {"Namespace/horde", "Secret/horde-token", "ConfigMap/horde-workload",
                        "Service/horde-controller", "Job/horde-controller", "Job/horde-agent"}) {
    EXPECT_TRUE(kinds.count(k)) << k << " not rendered:\n" << f.out;
  }
}

}  // namespace deploy_test
}  // namespace horde::testing
