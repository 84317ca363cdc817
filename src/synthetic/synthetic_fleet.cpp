// The synthetic fleet: role templates of real Debian packages, processes and
// connections, natural noise, injected anomalies with ground truth.
#include "stray/synthetic/synthetic_fleet.hpp"

#include <algorithm>
#include <cmath>
#include <istream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "core/check.hpp"

namespace stray {
namespace {

constexpr const char* kWhere = "generate_synthetic_fleet";

// ---------------------------------------------------------------- tables

struct Optional {
  const char* name;
  double p;
};
struct Drift {  // a host on other package versions: each `from` becomes its `to`
  double p;
  std::vector<std::pair<const char*, const char*>> replace;
};
struct Process {  // present with probability p; launches = 1 + Poisson(lambda)
  const char* name;
  double p;
  double lambda;
};
struct Listen {
  const char* port;
  double p;
};
struct Connection {  // outbound: connections = 1 + Poisson(lambda)
  const char* port;
  const char* network;
  double p;
  double lambda;
};

struct Role {
  const char* name;
  double weight;
  bool build_tools;
  std::vector<const char*> packages;
  std::vector<Optional> optional;
  std::vector<Drift> drift;
  std::vector<Process> processes;
  std::vector<Listen> listen;
  std::vector<Connection> outbound;
};

// Debian bookworm's base system, on every host.
const std::vector<const char*> kBasePackages = {
    "adduser", "apt", "base-files", "base-passwd", "bash", "bsdutils", "ca-certificates",
    "coreutils", "dash", "debconf", "debian-archive-keyring", "debianutils", "diffutils", "dpkg",
    "e2fsprogs", "findutils", "gcc-12-base", "gpgv", "grep", "gzip", "hostname",
    "init-system-helpers", "iproute2", "libacl1", "libapt-pkg6.0", "libattr1", "libaudit1",
    "libblkid1", "libbz2-1.0", "libc-bin", "libc6", "libcap-ng0", "libcap2", "libcom-err2",
    "libcrypt1", "libdb5.3", "libdebconfclient0", "libext2fs2", "libffi8", "libgcc-s1",
    "libgcrypt20", "libgmp10", "libgnutls30", "libgpg-error0", "libgssapi-krb5-2", "libhogweed6",
    "libidn2-0", "libk5crypto3", "libkeyutils1", "libkrb5-3", "libkrb5support0", "liblz4-1",
    "liblzma5", "libmd0", "libmount1", "libnettle8", "libnsl2", "libp11-kit0", "libpam-modules",
    "libpam-modules-bin", "libpam-runtime", "libpam0g", "libpcre2-8-0", "libseccomp2",
    "libselinux1", "libsemanage2", "libsepol2", "libsmartcols1", "libss2", "libssl3",
    "libstdc++6", "libsystemd0", "libtasn1-6", "libtinfo6", "libtirpc3", "libudev1",
    "libunistring2", "libuuid1", "libxxhash0", "libzstd1", "login", "logsave", "mawk", "mount",
    "ncurses-base", "ncurses-bin", "netbase", "openssl", "passwd", "perl-base", "procps", "sed",
    "sensible-utils", "sysvinit-utils", "tar", "tzdata", "usr-is-merged", "util-linux", "zlib1g"};

// Left behind by image builds on most roles.
const std::vector<const char*> kBuildTools = {
    "make", "g++", "g++-12", "gcc", "gcc-12", "cpp", "cpp-12", "binutils", "binutils-common",
    "binutils-x86-64-linux-gnu", "libc6-dev", "libc-dev-bin", "linux-libc-dev",
    "libstdc++-12-dev", "libgcc-12-dev", "dpkg-dev", "build-essential", "libbinutils", "libctf0",
    "libctf-nobfd0", "libgprofng0", "libasan8", "libubsan1", "libtsan2", "liblsan0", "libitm1",
    "libatomic1", "libquadmath0", "libisl23", "libmpc3", "libmpfr6", "libcc1-0", "patch",
    "libcrypt-dev", "libnsl-dev", "libtirpc-dev", "rpcsvc-proto", "libdpkg-perl"};
// What missing_build_tools removes (build-essential depends on the two).
const std::vector<const char*> kMissingBuildTools = {"make", "g++", "g++-12", "build-essential"};

// Admin tools some hosts have (probabilities at noise = 1).
const std::vector<Optional> kCommonOptional = {
    {"less", 0.5},          {"vim-tiny", 0.3},     {"nano", 0.2},
    {"htop", 0.15},         {"lsof", 0.15},        {"strace", 0.05},
    {"tcpdump", 0.04},      {"dnsutils", 0.1},     {"iputils-ping", 0.3},
    {"netcat-openbsd", 0.1}, {"sudo", 0.4},        {"unattended-upgrades", 0.3},
    {"rsyslog", 0.5},       {"cron", 0.6},         {"gnupg", 0.2},
    {"wget", 0.3},          {"telnet", 0.03},      {"screen", 0.05},
    {"tmux", 0.08},         {"git", 0.1},          {"curl", 0.4},
    {"file", 0.1},          {"xz-utils", 0.3},     {"bzip2", 0.2}};

const std::vector<Drift> kCommonDrift = {
    {0.01, {{"libssl3", "libssl1.1"}}},  // an old base image
    {0.02, {{"usr-is-merged", "usrmerge"}}},
};

const std::vector<Process> kBaseProcesses = {
    {"sshd", 0.95, 2.0},   {"cron", 0.9, 0.5},         {"bash", 0.8, 3.0},
    {"systemd", 0.9, 0.0}, {"systemd-journald", 0.9, 0.0}, {"rsyslogd", 0.5, 0.0},
    {"node_exporter", 0.9, 0.0}, {"sleep", 0.3, 2.0},  {"ps", 0.2, 1.0}};
const std::vector<Listen> kBaseListen = {{"22", 0.95}, {"9100", 0.9}};
const std::vector<Connection> kBaseOutbound = {
    {"53", "10.0.0.0/24", 1.0, 30.0},   // DNS
    {"123", "10.0.0.0/24", 0.9, 2.0},   // NTP
    {"80", "10.0.1.0/24", 0.3, 3.0}};   // apt mirror

const std::vector<Role>& roles() {
  static const std::vector<Role> kRoles = {
      {"web", 0.20, true,
       {"nginx", "nginx-common", "libnginx-mod-http-geoip", "libnginx-mod-http-image-filter",
        "libnginx-mod-http-xslt-filter", "libnginx-mod-mail", "libnginx-mod-stream",
        "libnginx-mod-stream-geoip", "libgeoip1", "libgd3", "libxslt1.1", "libxml2", "libicu72",
        "libpng16-16", "libjpeg62-turbo", "libwebp7", "libtiff6", "libfreetype6",
        "libfontconfig1", "fontconfig-config", "fonts-dejavu-core", "libx11-6", "libx11-data",
        "libxau6", "libxcb1", "libxdmcp6", "libxpm4", "libdeflate0", "libjbig0", "liblerc4",
        "libpcre3", "logrotate", "libcurl4", "libnghttp2-14", "libpsl5", "librtmp1",
        "libssh2-1", "libbrotli1", "libldap-2.5-0", "libsasl2-2", "libsasl2-modules-db"},
       {{"certbot", 0.3}, {"python3-certbot-nginx", 0.25}, {"ssl-cert", 0.5},
        {"geoip-database", 0.6}, {"apache2-utils", 0.1}},
       {{0.03, {{"nginx", "nginx-light"}}}},
       {{"nginx", 1.0, 4.0}},
       {{"80", 1.0}, {"443", 0.95}},
       {{"8080", "10.10.2.0/24", 1.0, 40.0}, {"8000", "10.10.3.0/24", 0.8, 20.0}}},

      {"javaapi", 0.16, true,
       {"openjdk-17-jre-headless", "java-common", "ca-certificates-java", "libasound2",
        "libasound2-data", "libavahi-client3", "libavahi-common3", "libavahi-common-data",
        "libcups2", "libdbus-1-3", "libfontconfig1", "fontconfig-config", "fonts-dejavu-core",
        "libfreetype6", "libgraphite2-3", "libharfbuzz0b", "libjpeg62-turbo", "liblcms2-2",
        "libnspr4", "libnss3", "libpcsclite1", "libpng16-16", "libglib2.0-0", "libbrotli1",
        "libexpat1", "libsqlite3-0", "libcurl4", "libnghttp2-14", "libpsl5", "librtmp1",
        "libssh2-1", "libldap-2.5-0", "libsasl2-2", "libsasl2-modules-db"},
       {{"fonts-dejavu-extra", 0.2}, {"openjdk-17-jdk-headless", 0.1}, {"maven", 0.04}},
       {{0.03, {{"openjdk-17-jre-headless", "openjdk-11-jre-headless"}}}},
       {{"java", 1.0, 0.3}, {"jcmd", 0.05, 0.0}},
       {{"8080", 1.0}, {"9090", 0.9}},
       {{"5432", "10.20.1.0/24", 1.0, 30.0}, {"6379", "10.20.2.0/24", 0.9, 20.0},
        {"443", "10.0.5.0/24", 0.8, 5.0}, {"9092", "10.20.5.0/24", 0.5, 15.0}}},

      {"pyworker", 0.14, true,
       {"python3", "python3-minimal", "python3.11", "python3.11-minimal",
        "libpython3.11-minimal", "libpython3.11-stdlib", "libpython3-stdlib", "python3-pip",
        "python3-venv", "python3.11-venv", "python3-setuptools", "python3-wheel",
        "python3-pkg-resources", "python3-distutils", "python3-lib2to3", "python3-dev",
        "python3.11-dev", "libpython3.11-dev", "libpython3.11", "libpython3-dev", "libexpat1",
        "libexpat1-dev", "libsqlite3-0", "libreadline8", "readline-common", "libncursesw6",
        "media-types", "libmpdec3", "zlib1g-dev", "libjs-jquery", "libjs-underscore",
        "libjs-sphinxdoc", "javascript-common", "python3-celery", "python3-kombu",
        "python3-billiard", "python3-vine", "python3-tz", "python3-redis", "python3-psycopg2",
        "libpq5"},
       {{"python3-numpy", 0.3}, {"python3-requests", 0.5}, {"ipython3", 0.05}},
       {{0.03, {{"python3.11", "python3.9"}}}},
       {{"python3", 1.0, 3.0}, {"celery", 0.8, 4.0}},
       {{"8000", 0.7}},
       {{"6379", "10.20.2.0/24", 1.0, 50.0}, {"5432", "10.20.1.0/24", 0.9, 20.0},
        {"11211", "10.20.3.0/24", 0.6, 10.0}, {"443", "10.0.5.0/24", 0.8, 5.0}}},

      {"redis", 0.07, true,
       {"redis-server", "redis-tools", "libjemalloc2", "liblzf1", "liblua5.1-0", "lua-bitop",
        "lua-cjson", "libhiredis0.14"},
       {{"redis-sentinel", 0.2}},
       {},
       {{"redis-server", 1.0, 0.0}, {"redis-sentinel", 0.2, 0.0}},
       {{"6379", 1.0}, {"26379", 0.2}},
       {{"6379", "10.20.2.0/24", 0.5, 5.0}}},

      {"memcached", 0.05, true,
       {"memcached", "libevent-2.1-7", "libevent-core-2.1-7", "libsasl2-2",
        "libsasl2-modules-db", "perl", "perl-modules-5.36", "libperl5.36", "libgdbm6",
        "libgdbm-compat4"},
       {{"libanyevent-perl", 0.1}, {"libcache-memcached-perl", 0.2}},
       {},
       {{"memcached", 1.0, 0.0}},
       {{"11211", 1.0}},
       {}},

      {"postgres", 0.08, false,
       {"postgresql-15", "postgresql-client-15", "postgresql-common", "postgresql-client-common",
        "libpq5", "libllvm14", "libxml2", "libicu72", "ssl-cert", "libxslt1.1", "libjson-perl",
        "libsensors5", "libsensors-config", "libz3-4", "libedit2", "libbsd0", "libpopt0",
        "logrotate", "cron", "cron-daemon-common", "perl", "perl-modules-5.36", "libperl5.36",
        "libgdbm6", "libgdbm-compat4", "sysstat", "locales", "libcommon-sense-perl",
        "libtypes-serialiser-perl", "libjson-xs-perl"},
       {{"postgresql-contrib", 0.3}, {"pgbackrest", 0.2}},
       {{0.03, {{"postgresql-15", "postgresql-13"}, {"postgresql-client-15", "postgresql-client-13"}}}},
       {{"postgres", 1.0, 10.0}},
       {{"5432", 1.0}},
       {{"5432", "10.20.1.0/24", 0.3, 5.0}}},

      {"mysql", 0.06, false,
       {"mariadb-server", "mariadb-server-core", "mariadb-client", "mariadb-client-core",
        "mariadb-common", "mysql-common", "galera-4", "libmariadb3", "libdbi-perl",
        "libdbd-mariadb-perl", "libconfig-inifiles-perl", "libaio1", "liburing2",
        "libsnappy1v5", "rsync", "socat", "psmisc", "pv", "perl", "perl-modules-5.36",
        "libperl5.36", "libgdbm6", "libgdbm-compat4", "libhtml-template-perl",
        "libterm-readkey-perl", "gawk", "libsigsegv2", "libncurses6", "libnuma1", "libwrap0"},
       {{"mariadb-backup", 0.3}},
       {},
       {{"mariadbd", 1.0, 0.0}},
       {{"3306", 1.0}, {"4567", 0.3}},
       {{"3306", "10.20.4.0/24", 0.4, 5.0}}},

      {"lb", 0.05, true,
       {"haproxy", "liblua5.3-0", "keepalived", "libnl-3-200", "libnl-genl-3-200",
        "libnl-route-3-200", "libsnmp40", "libsnmp-base", "libpci3", "libsensors5",
        "libsensors-config", "libnftnl11", "libmnl0", "libip4tc2", "libipset13", "socat"},
       {{"hatop", 0.3}},
       {},
       {{"haproxy", 1.0, 1.0}, {"keepalived", 1.0, 0.0}},
       {{"80", 1.0}, {"443", 1.0}, {"8404", 0.8}},
       {{"80", "10.10.1.0/24", 1.0, 60.0}, {"443", "10.10.1.0/24", 1.0, 30.0}}},

      {"ci", 0.09, true,
       {"git", "git-man", "liberror-perl", "openssh-client", "docker.io", "containerd", "runc",
        "tini", "iptables", "libip4tc2", "libip6tc2", "libnetfilter-conntrack3",
        "libnfnetlink0", "libnftnl11", "cgroupfs-mount", "cmake", "cmake-data", "ninja-build",
        "pkgconf", "pkg-config", "autoconf", "automake", "autotools-dev", "libtool", "m4",
        "ccache", "zip", "unzip", "rsync", "jq", "libjq1", "libonig5", "wget", "curl",
        "libcurl4", "python3", "python3-minimal", "python3.11", "python3.11-minimal", "xz-utils",
        "bzip2", "file", "libmagic1", "libmagic-mgc"},
       {{"nodejs", 0.4}, {"shellcheck", 0.2}, {"clang", 0.15}, {"golang-go", 0.1}},
       {},
       {{"git", 1.0, 20.0}, {"make", 1.0, 15.0}, {"cc1plus", 1.0, 40.0}, {"as", 1.0, 40.0},
        {"ld", 1.0, 10.0}, {"cmake", 0.8, 5.0}, {"ninja", 0.5, 5.0}, {"dockerd", 1.0, 0.0},
        {"containerd", 1.0, 0.0}, {"sh", 1.0, 30.0}, {"python3", 0.7, 5.0}},
       {},
       {{"443", "10.30.0.0/24", 1.0, 40.0}, {"22", "10.30.1.0/24", 1.0, 20.0},
        {"80", "10.0.1.0/24", 1.0, 15.0}, {"5000", "10.30.2.0/24", 1.0, 10.0}}},
  };
  return kRoles;
}

// Roles an anomaly makes sense on.
bool eligible(AnomalyKind kind, const Role& role) {
  const std::string_view r = role.name;
  switch (kind) {
    case AnomalyKind::unique_package:
    case AnomalyKind::tor:
    case AnomalyKind::crypto_miner: return true;
    case AnomalyKind::missing_build_tools: return role.build_tools && r != "ci";  // ci needs make
    case AnomalyKind::log4j_callback: return r == "javaapi";
    case AnomalyKind::unusual_destination: return r == "ci";
  }
  return false;
}

std::vector<SignatureFeature> signature_of(AnomalyKind kind) {
  switch (kind) {
    case AnomalyKind::unique_package: return {{"package:lua5.3", +1}};
    case AnomalyKind::missing_build_tools:
      // Every package the anomaly removes: the four always go together on
      // every other host, so no statistic can tell them apart.
      return {{"package:make", -1},
              {"package:g++", -1},
              {"package:g++-12", -1},
              {"package:build-essential", -1}};
    case AnomalyKind::tor:
      return {{"process:tor", +1}, {"net.port:9001", +1}, {"net.port:9050", +1}};
    case AnomalyKind::log4j_callback:
      return {{"net.remote:1389", +1}, {"net.remote_net:198.51.100.0/24", +1}};
    case AnomalyKind::unusual_destination: return {{"net.remote_net:203.0.113.0/24", +1}};
    case AnomalyKind::crypto_miner: return {{"process:xmrig", +1}, {"net.remote:3333", +1}};
  }
  return {};
}

// ---------------------------------------------------------------- randomness

uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// SplitMix64: small, fast, and its stream is fixed by the standard-free
// arithmetic above, so output is identical on every platform.
class Rng {
 public:
  Rng(uint64_t seed, uint64_t stream, uint64_t salt)
      : state_(mix64(seed ^ mix64(stream + 0x9e3779b97f4a7c15ULL * (salt + 1)))) {}
  uint64_t next() { return mix64(state_ += 0x9e3779b97f4a7c15ULL); }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  bool bernoulli(double p) { return p >= 1.0 || (p > 0.0 && uniform() < p); }
  int64_t below(int64_t n) { return static_cast<int64_t>(uniform() * static_cast<double>(n)); }
  // Knuth's product method, in chunks of λ ≤ 20 (a sum of Poissons is Poisson).
  int64_t poisson(double lambda) {
    int64_t total = 0;
    while (lambda > 0.0) {
      const double l = std::min(lambda, 20.0);
      lambda -= l;
      const double limit = std::exp(-l);
      double prod = uniform();
      while (prod > limit) {
        ++total;
        prod *= uniform();
      }
    }
    return total;
  }

 private:
  uint64_t state_;
};

constexpr uint64_t kSaltRole = 1;
constexpr uint64_t kSaltHost = 2;
constexpr uint64_t kSaltAnomaly = 3;
// Day two's draws come from streams of their own, so a kept host's day-one
// draws (kSaltHost) are the same on both days.
constexpr uint64_t kSaltChurn = 4;
constexpr uint64_t kSaltShift = 5;
constexpr uint64_t kSaltDrifting = 6;
constexpr uint64_t kSaltDayTwo = 7;

// ---------------------------------------------------------------- day two

// The shifted role's image moves to Debian 13 (trixie): these base
// libraries were renamed there (the 64-bit time_t transition and soname
// bumps).
const std::vector<std::pair<const char*, const char*>> kTrixieRenames = {
    {"libssl3", "libssl3t64"},         {"libgnutls30", "libgnutls30t64"},
    {"libapt-pkg6.0", "libapt-pkg7.0"}, {"libdb5.3", "libdb5.3t64"},
    {"libext2fs2", "libext2fs2t64"},   {"libtirpc3", "libtirpc3t64"},
    {"libhogweed6", "libhogweed6t64"}, {"libnettle8", "libnettle8t64"},
    {"libunistring2", "libunistring5"}, {"gcc-12-base", "gcc-14-base"}};
// ... and its hosts start exporting telemetry to an OpenTelemetry collector.
const Connection kTelemetry = {"4317", "10.40.0.0/24", 1.0, 20.0};

// What day two changes on one host. Its draws come from `rng`.
struct HostChange {
  HostChange(uint64_t seed, int64_t i) : rng(seed, static_cast<uint64_t>(i), kSaltDayTwo) {}
  Rng rng;
  bool shifted = false;           // the shifted role's image and telemetry
  const Role* adopted = nullptr;  // drifting: the role it takes on
  bool small_change = false;      // one optional package installed or removed
};

// ---------------------------------------------------------------- generation

struct Tally {  // outbound connections per port / network, summed per host
  std::vector<std::pair<const char*, int64_t>> items;
  void add(const char* key, int64_t count) {
    for (auto& [k, c] : items) {
      if (std::string_view(k) == key) {
        c += count;
        return;
      }
    }
    items.emplace_back(key, count);
  }
};

class Generator {
 public:
  Generator(const SyntheticFleetParams& p) : params_(p) {
    const auto& rs = roles();
    std::vector<double> w;
    if (p.role_weights.empty()) {
      for (const auto& r : rs) w.push_back(r.weight);
    } else {
      internal::require(p.role_weights.size() == rs.size(), ErrorCode::shape_mismatch, kWhere,
                        "role_weights has ", p.role_weights.size(), " entries for ", rs.size(),
                        " roles");
      w = p.role_weights;
    }
    double total = 0.0;
    for (std::size_t k = 0; k < w.size(); ++k) {
      internal::require(std::isfinite(w[k]) && w[k] >= 0.0, ErrorCode::invalid_argument, kWhere,
                        "role weight of '", rs[k].name, "' = ", w[k], " is not finite and ≥ 0");
      total += w[k];
    }
    internal::require(total > 0.0, ErrorCode::invalid_argument, kWhere, "role weights sum to 0");
    double acc = 0.0;
    for (double x : w) {
      acc += x / total;
      cumulative_.push_back(acc);
    }
    cumulative_.back() = 1.0;
    // Per role: the optional pool without what the role already has.
    for (const auto& r : rs) {
      std::unordered_set<std::string_view> has(kBasePackages.begin(), kBasePackages.end());
      has.insert(r.packages.begin(), r.packages.end());
      if (r.build_tools) has.insert(kBuildTools.begin(), kBuildTools.end());
      std::vector<Optional> pool;
      for (const auto& o : kCommonOptional) {
        if (!has.count(o.name)) pool.push_back(o);
      }
      for (const auto& o : r.optional) {
        if (!has.count(o.name)) pool.push_back(o);
      }
      optional_.push_back(std::move(pool));
    }
  }

  int role_of(int64_t i) const {
    Rng rng(params_.seed, static_cast<uint64_t>(i), kSaltRole);
    const double u = rng.uniform();
    return static_cast<int>(std::upper_bound(cumulative_.begin(), cumulative_.end(), u) -
                            cumulative_.begin() - (u >= 1.0 ? 1 : 0));
  }

  // Emits every event of host i; `change` (day two) is applied on top of
  // day one's draws, with draws of its own. The draws are made in a fixed
  // order (packages, processes, ports, connections) from one generator.
  void host(int64_t i, int role_index, std::string_view entity,
            const std::vector<AnomalyKind>& anomalies, const EventSink& sink, int64_t* n_events,
            HostChange* change = nullptr) {
    HostDraws h{Rng(params_.seed, static_cast<uint64_t>(i), kSaltHost),
                roles()[static_cast<std::size_t>(role_index)],
                role_index, anomalies, change, entity, sink, n_events};
    draw_packages(h);
    draw_processes(h);
    draw_listening(h);
    draw_connections(h);
  }

 private:
  // One host's draws: its generator, role, anomalies and day-two change,
  // and where its events go.
  struct HostDraws {
    Rng rng;
    const Role& role;
    int role_index;
    const std::vector<AnomalyKind>& anomalies;
    HostChange* change;
    std::string_view entity;
    const EventSink& sink;
    int64_t* n_events;

    bool has(AnomalyKind k) const {
      return std::find(anomalies.begin(), anomalies.end(), k) != anomalies.end();
    }
    void emit(std::string_view group, std::string_view feature, double value) const {
      sink(Event{entity, group, feature, value});
      ++*n_events;
    }
  };

  void draw_packages(HostDraws& h) {
    const Role& role = h.role;
    const double noise = params_.noise;
    packages_.clear();
    packages_.insert(packages_.end(), kBasePackages.begin(), kBasePackages.end());
    if (role.build_tools) packages_.insert(packages_.end(), kBuildTools.begin(), kBuildTools.end());
    packages_.insert(packages_.end(), role.packages.begin(), role.packages.end());
    auto drift = [&](const Drift& d) {
      if (!h.rng.bernoulli(d.p * noise)) return;
      for (const auto& rename : d.replace) {  // not [from, to]: clang < 16 cannot capture bindings
        const std::string_view from = rename.first;
        std::replace_if(packages_.begin(), packages_.end(),
                        [&](const char* s) { return std::string_view(s) == from; }, rename.second);
      }
    };
    for (const auto& d : kCommonDrift) drift(d);
    for (const auto& d : role.drift) drift(d);
    for (const auto& o : optional_[static_cast<std::size_t>(h.role_index)]) {
      if (h.rng.bernoulli(o.p * noise)) packages_.push_back(o.name);
    }
    if (h.has(AnomalyKind::missing_build_tools)) {
      std::erase_if(packages_, [](const char* s) {
        return std::any_of(kMissingBuildTools.begin(), kMissingBuildTools.end(),
                           [&](const char* m) { return std::string_view(s) == m; });
      });
    }
    if (h.has(AnomalyKind::unique_package)) packages_.push_back("lua5.3");
    if (h.has(AnomalyKind::tor)) {
      packages_.push_back("tor");
      packages_.push_back("tor-geoipdb");
    }
    if (h.change) change_packages(h.role_index, *h.change);
    for (const char* pkg : packages_) h.emit("package", pkg, 1.0);
  }

  static void draw_processes(HostDraws& h) {
    auto process = [&](const Process& pr) {
      if (h.rng.bernoulli(pr.p)) {
        h.emit("process", pr.name, static_cast<double>(1 + h.rng.poisson(pr.lambda)));
      }
    };
    for (const auto& pr : kBaseProcesses) process(pr);
    for (const auto& pr : h.role.processes) process(pr);
    if (h.has(AnomalyKind::tor)) process({"tor", 1.0, 0.0});
    if (h.has(AnomalyKind::crypto_miner)) process({"xmrig", 1.0, 0.0});
    HostChange* change = h.change;
    if (change && change->adopted) {  // the adopted role's processes it does not run yet
      for (const auto& pr : change->adopted->processes) {
        if (!runs(h.role, pr.name) && change->rng.bernoulli(pr.p)) {
          h.emit("process", pr.name, static_cast<double>(1 + change->rng.poisson(pr.lambda)));
        }
      }
    }
  }

  static void draw_listening(HostDraws& h) {
    for (const auto& l : kBaseListen) {
      if (h.rng.bernoulli(l.p)) h.emit("net.port", l.port, 1.0);
    }
    for (const auto& l : h.role.listen) {
      if (h.rng.bernoulli(l.p)) h.emit("net.port", l.port, 1.0);
    }
    if (h.has(AnomalyKind::tor)) {
      h.emit("net.port", "9001", 1.0);
      h.emit("net.port", "9050", 1.0);
    }
    HostChange* change = h.change;
    if (change && change->adopted) {  // the adopted role's ports it does not listen on yet
      for (const auto& l : change->adopted->listen) {
        if (!listens(h.role, l.port) && change->rng.bernoulli(l.p)) h.emit("net.port", l.port, 1.0);
      }
    }
  }

  void draw_connections(HostDraws& h) {
    ports_.items.clear();
    nets_.items.clear();
    auto connect_with = [&](Rng& r, const Connection& c) {
      if (!r.bernoulli(c.p)) return;
      const int64_t n = 1 + r.poisson(c.lambda);
      ports_.add(c.port, n);
      nets_.add(c.network, n);
    };
    auto connect = [&](const Connection& c) { connect_with(h.rng, c); };
    for (const auto& c : kBaseOutbound) connect(c);
    for (const auto& c : h.role.outbound) connect(c);
    if (h.has(AnomalyKind::tor)) connect({"9001", "100.66.3.0/24", 1.0, 12.0});
    if (h.has(AnomalyKind::log4j_callback)) connect({"1389", "198.51.100.0/24", 1.0, 1.0});
    if (h.has(AnomalyKind::unusual_destination)) connect({"443", "203.0.113.0/24", 1.0, 5.0});
    if (h.has(AnomalyKind::crypto_miner)) connect({"3333", "192.0.2.0/24", 1.0, 50.0});
    HostChange* change = h.change;
    if (change && change->adopted) {
      for (const auto& c : change->adopted->outbound) connect_with(change->rng, c);
    }
    if (change && change->shifted) connect_with(change->rng, kTelemetry);
    for (const auto& [port, n] : ports_.items) h.emit("net.remote", port, static_cast<double>(n));
    for (const auto& [net, n] : nets_.items) h.emit("net.remote_net", net, static_cast<double>(n));
  }

  // Whether day one's templates may give a host of `role` this process or
  // listening port (a drifting host does not get a second copy).
  static bool runs(const Role& role, std::string_view name) {
    const auto named = [&](const Process& p) { return name == p.name; };
    return std::any_of(kBaseProcesses.begin(), kBaseProcesses.end(), named) ||
           std::any_of(role.processes.begin(), role.processes.end(), named);
  }
  static bool listens(const Role& role, std::string_view port) {
    const auto named = [&](const Listen& l) { return port == l.port; };
    return std::any_of(kBaseListen.begin(), kBaseListen.end(), named) ||
           std::any_of(role.listen.begin(), role.listen.end(), named);
  }
  bool has_package(std::string_view name) const {
    return std::any_of(packages_.begin(), packages_.end(),
                       [&](const char* p) { return name == p; });
  }

  // Day two's package changes on top of day one's list.
  void change_packages(int role_index, HostChange& change) {
    if (change.shifted) {
      for (const auto& rename : kTrixieRenames) {  // not [from, to]: see above
        const std::string_view from = rename.first;
        std::replace_if(packages_.begin(), packages_.end(),
                        [&](const char* s) { return std::string_view(s) == from; }, rename.second);
      }
    }
    if (change.adopted) {
      const Role& a = *change.adopted;
      const auto add = [&](const char* p) {
        if (!has_package(p)) packages_.push_back(p);
      };
      if (a.build_tools) std::for_each(kBuildTools.begin(), kBuildTools.end(), add);
      std::for_each(a.packages.begin(), a.packages.end(), add);
    }
    if (change.small_change) {
      const auto& pool = optional_[static_cast<std::size_t>(role_index)];
      if (pool.empty()) return;
      const char* p = pool[static_cast<std::size_t>(change.rng.below(static_cast<int64_t>(pool.size())))].name;
      if (has_package(p)) {
        std::erase_if(packages_, [&](const char* s) { return std::string_view(s) == p; });
      } else {
        packages_.push_back(p);
      }
    }
  }

  const SyntheticFleetParams& params_;
  std::vector<double> cumulative_;
  std::vector<std::vector<Optional>> optional_;
  std::vector<const char*> packages_;
  Tally ports_;
  Tally nets_;
};

}  // namespace

const char* to_string(AnomalyKind kind) {
  switch (kind) {
    case AnomalyKind::unique_package: return "unique_package";
    case AnomalyKind::missing_build_tools: return "missing_build_tools";
    case AnomalyKind::tor: return "tor";
    case AnomalyKind::log4j_callback: return "log4j_callback";
    case AnomalyKind::unusual_destination: return "unusual_destination";
    case AnomalyKind::crypto_miner: return "crypto_miner";
  }
  return "?";
}

std::vector<AnomalyKind> all_anomaly_kinds() {
  return {AnomalyKind::unique_package, AnomalyKind::missing_build_tools, AnomalyKind::tor,
          AnomalyKind::log4j_callback,  AnomalyKind::unusual_destination, AnomalyKind::crypto_miner};
}

AnomalyKind parse_anomaly_kind(const std::string& name) {
  for (const AnomalyKind k : all_anomaly_kinds()) {
    if (name == to_string(k)) return k;
  }
  internal::fail(ErrorCode::invalid_argument, "parse_anomaly_kind", "unknown anomaly kind '", name,
                 "' (expected unique_package, missing_build_tools, tor, log4j_callback, "
                 "unusual_destination or crypto_miner)");
}

std::vector<std::string> synthetic_fleet_roles() {
  std::vector<std::string> names;
  for (const auto& r : roles()) names.emplace_back(r.name);
  return names;
}

std::string_view synthetic_entity_role(std::string_view entity) {
  const std::size_t dash = entity.rfind('-');
  return dash == std::string_view::npos ? entity : entity.substr(0, dash);
}

bool GroundTruth::is_anomalous(std::string_view entity) const {
  return std::any_of(anomalies.begin(), anomalies.end(),
                     [&](const InjectedAnomaly& a) { return a.entity == entity; });
}

namespace {

void check_params(const SyntheticFleetParams& params) {
  internal::require(params.n_entities >= 0, ErrorCode::invalid_argument, kWhere, "n_entities=",
                    params.n_entities, " < 0");
  internal::require(params.hosts_per_anomaly >= 0, ErrorCode::invalid_argument, kWhere,
                    "hosts_per_anomaly=", params.hosts_per_anomaly, " < 0");
  internal::require(std::isfinite(params.noise) && params.noise >= 0.0,
                    ErrorCode::invalid_argument, kWhere, "noise=", params.noise,
                    " is not finite and ≥ 0");
}

// Anomalous hosts: from a random start, the next eligible host not yet
// taken (one anomaly per host). Kinds without a host go to `not_injected`.
std::unordered_map<int64_t, std::vector<AnomalyKind>> plan_anomalies(
    const SyntheticFleetParams& params, const Generator& gen,
    std::vector<AnomalyKind>& not_injected) {
  const auto& rs = roles();
  const int64_t n = params.n_entities;
  std::unordered_map<int64_t, std::vector<AnomalyKind>> planned;
  Rng rng(params.seed, 0, kSaltAnomaly);
  for (const AnomalyKind kind : params.anomalies) {
    for (int64_t h = 0; h < params.hosts_per_anomaly; ++h) {
      bool placed = false;
      const int64_t start = n > 0 ? rng.below(n) : 0;
      for (int64_t k = 0; k < n && !placed; ++k) {
        const int64_t i = (start + k) % n;
        if (planned.count(i) || !eligible(kind, rs[static_cast<std::size_t>(gen.role_of(i))])) {
          continue;
        }
        planned[i].push_back(kind);
        placed = true;
      }
      if (!placed) not_injected.push_back(kind);
    }
  }
  return planned;
}

// Hosts are named `<role>-<index>`, the index zero-padded to at least four
// digits, more for fleets of 10,000 and beyond.
int name_digits(int64_t n) {
  int digits = 4;
  for (int64_t m = n; m >= 10000; m /= 10) ++digits;
  return digits;
}

std::string host_name(const Role& role, int64_t index, int digits) {
  std::string entity = role.name;
  entity += '-';
  const std::string num = std::to_string(index);
  if (static_cast<int>(num.size()) < digits) entity.append(digits - num.size(), '0');
  entity += num;
  return entity;
}

void check_day_two(const SyntheticDayTwoParams& p) {
  const auto share = [](double x) { return std::isfinite(x) && x >= 0.0 && x <= 1.0; };
  internal::require(share(p.churn), ErrorCode::invalid_argument, kWhere, "day_two.churn=", p.churn,
                    " is outside [0, 1]");
  internal::require(share(p.small_changes), ErrorCode::invalid_argument, kWhere,
                    "day_two.small_changes=", p.small_changes, " is outside [0, 1]");
  internal::require(p.drifting_hosts >= 0, ErrorCode::invalid_argument, kWhere,
                    "day_two.drifting_hosts=", p.drifting_hosts, " < 0");
}

// The shifted role's index, or -1: the one named, or one drawn from the
// seed among the roles with hosts on day one.
int shifted_role(const SyntheticFleetParams& params, const std::vector<int64_t>& counts) {
  const std::string& name = params.day_two.shifted_role;
  const auto& rs = roles();
  if (name == "none") return -1;
  if (!name.empty()) {
    for (std::size_t r = 0; r < rs.size(); ++r) {
      if (name == rs[r].name) return static_cast<int>(r);
    }
    internal::fail(ErrorCode::invalid_argument, kWhere, "day_two.shifted_role '",
                   internal::printable(name), "' is not a role (or \"none\")");
  }
  std::vector<int> present;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    if (counts[r] > 0) present.push_back(static_cast<int>(r));
  }
  if (present.empty()) return -1;
  Rng rng(params.seed, 0, kSaltShift);
  return present[static_cast<std::size_t>(rng.below(static_cast<int64_t>(present.size())))];
}

bool removed_on_day_two(const SyntheticFleetParams& params, int64_t i) {
  return Rng(params.seed, static_cast<uint64_t>(i), kSaltChurn).bernoulli(params.day_two.churn);
}

// Drifting hosts and the role each takes on: from a random start, the next
// kept host outside the shifted role, without an anomaly, not yet taken.
std::unordered_map<int64_t, int> plan_drifting(
    const SyntheticFleetParams& params, const Generator& gen, int shifted,
    const std::unordered_map<int64_t, std::vector<AnomalyKind>>& anomalous) {
  const int64_t n = params.n_entities;
  const auto n_roles = static_cast<int64_t>(roles().size());
  std::unordered_map<int64_t, int> drifting;
  Rng rng(params.seed, 0, kSaltDrifting);
  for (int64_t h = 0; h < params.day_two.drifting_hosts && n > 0; ++h) {
    const int64_t start = rng.below(n);
    for (int64_t k = 0; k < n; ++k) {
      const int64_t i = (start + k) % n;
      const int r = gen.role_of(i);
      if (r == shifted || drifting.count(i) || anomalous.count(i) ||
          removed_on_day_two(params, i)) {
        continue;
      }
      drifting[i] = static_cast<int>((r + 1 + rng.below(n_roles - 1)) % n_roles);
      break;
    }
  }
  return drifting;
}

std::vector<SignatureFeature> shift_signature() {
  std::vector<SignatureFeature> out;
  for (const auto& [from, to] : kTrixieRenames) {
    out.push_back({std::string("package:") + to, +1});
    out.push_back({std::string("package:") + from, -1});
  }
  out.push_back({std::string("net.remote:") + kTelemetry.port, +1});
  out.push_back({std::string("net.remote_net:") + kTelemetry.network, +1});
  return out;
}

}  // namespace

GroundTruth generate_synthetic_fleet(const SyntheticFleetParams& params, const EventSink& sink) {
  check_params(params);
  Generator gen(params);
  const auto& rs = roles();
  const int64_t n = params.n_entities;

  GroundTruth truth;
  truth.n_entities = n;
  truth.seed = params.seed;
  truth.roles = synthetic_fleet_roles();
  truth.role_counts.assign(rs.size(), 0);
  const auto planned = plan_anomalies(params, gen, truth.not_injected);

  const int digits = name_digits(n);
  const std::vector<AnomalyKind> none;
  for (int64_t i = 0; i < n; ++i) {
    const int r = gen.role_of(i);
    const std::string entity = host_name(rs[static_cast<std::size_t>(r)],
                                         truth.role_counts[static_cast<std::size_t>(r)]++, digits);
    const auto it = planned.find(i);
    const std::vector<AnomalyKind>& kinds = it == planned.end() ? none : it->second;
    for (const AnomalyKind k : kinds) {
      truth.anomalies.push_back({i, entity, rs[static_cast<std::size_t>(r)].name, k, signature_of(k)});
    }
    gen.host(i, r, entity, kinds, sink, &truth.n_events);
  }
  return truth;
}

DayTwoTruth generate_synthetic_fleet_day_two(const SyntheticFleetParams& params,
                                             const EventSink& sink) {
  check_params(params);
  check_day_two(params.day_two);
  Generator gen(params);
  const auto& rs = roles();
  const int64_t n = params.n_entities;

  DayTwoTruth t;
  GroundTruth& truth = t.fleet;
  truth.seed = params.seed;
  truth.roles = synthetic_fleet_roles();
  truth.role_counts.assign(rs.size(), 0);
  const auto planned = plan_anomalies(params, gen, truth.not_injected);  // day one's
  std::vector<int64_t> day_one_counts(rs.size(), 0);
  for (int64_t i = 0; i < n; ++i) ++day_one_counts[static_cast<std::size_t>(gen.role_of(i))];
  const int shifted = shifted_role(params, day_one_counts);
  if (shifted >= 0) {
    t.shifted_role = rs[static_cast<std::size_t>(shifted)].name;
    t.shift_signature = shift_signature();
  }
  const auto drifting = plan_drifting(params, gen, shifted, planned);
  const double small = params.day_two.small_changes * params.noise;

  // Day one's hosts, less the removed ones.
  const int digits = name_digits(n);
  std::vector<int64_t> index(rs.size(), 0);  // per role: the next host number
  const std::vector<AnomalyKind> none;
  for (int64_t i = 0; i < n; ++i) {
    const int r = gen.role_of(i);
    const Role& role = rs[static_cast<std::size_t>(r)];
    const std::string entity = host_name(role, index[static_cast<std::size_t>(r)]++, digits);
    if (removed_on_day_two(params, i)) {
      t.removed.push_back(entity);
      continue;
    }
    HostChange change(params.seed, i);
    change.shifted = r == shifted;
    const auto d = drifting.find(i);
    if (d != drifting.end()) {
      change.adopted = &rs[static_cast<std::size_t>(d->second)];
      t.drifted.push_back({entity, role.name, change.adopted->name});
    } else if (!change.shifted && change.rng.bernoulli(small)) {
      change.small_change = true;
      t.small_changes.push_back(entity);
    }
    const auto a = planned.find(i);
    const std::vector<AnomalyKind>& kinds = a == planned.end() ? none : a->second;
    for (const AnomalyKind k : kinds) {
      truth.anomalies.push_back({truth.n_entities, entity, role.name, k, signature_of(k)});
    }
    ++truth.role_counts[static_cast<std::size_t>(r)];
    ++truth.n_entities;
    gen.host(i, r, entity, kinds, sink, &truth.n_events, &change);
  }
  // As many new hosts, numbered after their role's last host of day one.
  const auto n_added = static_cast<int64_t>(t.removed.size());
  for (int64_t i = n; i < n + n_added; ++i) {
    const int r = gen.role_of(i);
    const Role& role = rs[static_cast<std::size_t>(r)];
    const std::string entity = host_name(role, index[static_cast<std::size_t>(r)]++, digits);
    HostChange change(params.seed, i);
    change.shifted = r == shifted;  // a new host of the shifted role runs the new image too
    t.added.push_back(entity);
    ++truth.role_counts[static_cast<std::size_t>(r)];
    ++truth.n_entities;
    gen.host(i, r, entity, none, sink, &truth.n_events, &change);
  }
  return t;
}

namespace {

nlohmann::ordered_json ground_truth_object(const GroundTruth& truth) {
  nlohmann::ordered_json j;
  j["n_entities"] = truth.n_entities;
  j["seed"] = truth.seed;
  nlohmann::ordered_json roles_j = nlohmann::ordered_json::object();
  for (std::size_t k = 0; k < truth.roles.size(); ++k) {
    roles_j[truth.roles[k]] = k < truth.role_counts.size() ? truth.role_counts[k] : 0;
  }
  j["roles"] = roles_j;
  nlohmann::ordered_json anomalies = nlohmann::ordered_json::array();
  for (const auto& a : truth.anomalies) {
    nlohmann::ordered_json aj;
    aj["entity"] = a.entity;
    aj["entity_index"] = a.entity_index;
    aj["role"] = a.role;
    aj["kind"] = to_string(a.kind);
    nlohmann::ordered_json sig = nlohmann::ordered_json::array();
    for (const auto& s : a.signature) sig.push_back({{"feature", s.name}, {"sign", s.sign}});
    aj["signature"] = sig;
    anomalies.push_back(aj);
  }
  j["anomalies"] = anomalies;
  nlohmann::ordered_json missing = nlohmann::ordered_json::array();
  for (const auto k : truth.not_injected) missing.push_back(to_string(k));
  j["not_injected"] = missing;
  j["n_events"] = truth.n_events;
  return j;
}

}  // namespace

void write_ground_truth_json(std::ostream& out, const GroundTruth& truth) {
  out << ground_truth_object(truth).dump(2) << '\n';
  internal::require(static_cast<bool>(out), ErrorCode::io_error, "write_ground_truth_json",
                    "write failed");
}

void write_day_two_truth_json(std::ostream& out, const DayTwoTruth& truth) {
  nlohmann::ordered_json j = ground_truth_object(truth.fleet);
  j["day"] = 2;
  j["removed"] = truth.removed;
  j["added"] = truth.added;
  j["shifted_role"] =
      truth.shifted_role.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(truth.shifted_role);
  nlohmann::ordered_json sig = nlohmann::ordered_json::array();
  for (const auto& f : truth.shift_signature) sig.push_back({{"feature", f.name}, {"sign", f.sign}});
  j["shift_signature"] = sig;
  nlohmann::ordered_json drifted = nlohmann::ordered_json::array();
  for (const auto& d : truth.drifted) {
    drifted.push_back({{"entity", d.entity}, {"role", d.role}, {"adopted_role", d.adopted_role}});
  }
  j["drifted"] = drifted;
  j["small_changes"] = truth.small_changes;
  out << j.dump(2) << '\n';
  internal::require(static_cast<bool>(out), ErrorCode::io_error, "write_day_two_truth_json",
                    "write failed");
}

GroundTruth read_ground_truth_json(std::istream& in) {
  constexpr const char* where = "read_ground_truth_json";
  GroundTruth t;
  try {
    const nlohmann::ordered_json j = nlohmann::ordered_json::parse(in);
    t.n_entities = j.at("n_entities").get<int64_t>();
    t.seed = j.at("seed").get<uint64_t>();
    for (const auto& [name, count] : j.at("roles").items()) {
      t.roles.push_back(name);
      t.role_counts.push_back(count.get<int64_t>());
    }
    for (const auto& aj : j.at("anomalies")) {
      InjectedAnomaly a;
      a.entity = aj.at("entity").get<std::string>();
      a.entity_index = aj.at("entity_index").get<int64_t>();
      a.role = aj.at("role").get<std::string>();
      a.kind = parse_anomaly_kind(aj.at("kind").get<std::string>());
      for (const auto& s : aj.at("signature")) {
        a.signature.push_back({s.at("feature").get<std::string>(), s.at("sign").get<int>()});
      }
      t.anomalies.push_back(std::move(a));
    }
    for (const auto& k : j.at("not_injected")) t.not_injected.push_back(parse_anomaly_kind(k.get<std::string>()));
    t.n_events = j.value("n_events", int64_t{0});
  } catch (const nlohmann::json::exception& ex) {
    internal::fail(ErrorCode::parse_error, where, ex.what());
  } catch (const Error& ex) {
    internal::fail(ErrorCode::parse_error, where, ex.what());
  }
  return t;
}

}  // namespace stray
