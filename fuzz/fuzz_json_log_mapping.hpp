// The mapping the json-log fuzz target reads its inputs through (and the
// corpus replay in tests/test_hostile_corpus.cpp): short member names, so
// that mutations find them, and every kind of rule — conditions, several
// entity pointers, nested members, array elements, joined fields, parts,
// lower case, ignored values, networks and a value member.
#pragma once

#include "stray/io/json_log_mapping.hpp"

namespace stray::fuzz {

inline JsonLogMapping json_log_fuzz_mapping() {
  JsonLogMapping m;
  m.entity = {{"/e"}, {"/h/n", "/c"}, {"/l/0"}};
  m.entity_ignore = {"-"};
  JsonLogRule path;
  path.when = {{"/k", {"1", "true"}}};
  path.fields = {"/p"};
  path.group = "process";
  path.part = JsonValuePart::basename;
  path.lowercase = true;
  JsonLogRule extension = path;
  extension.when = {{"/k", {"2"}}};
  extension.group = "file.ext";
  extension.part = JsonValuePart::extension;
  extension.ignore_values = {".tmp"};
  JsonLogRule network;
  network.fields = {"/a/0/ip"};
  network.group = "net.remote_net";
  network.ipv4_prefix = 24;
  network.ipv6_prefix = 64;
  JsonLogRule joined;
  joined.fields = {"/s", "/k"};
  joined.group = "event";
  JsonLogRule counted;
  counted.when = {{"/h/o", {"x"}}, {"/k", {"3"}}};
  counted.fields = {"/t"};
  counted.group = "tag";
  counted.value = "/v";
  counted.ignore_values = {"-"};
  m.rules = {path, extension, network, joined, counted};
  return m;
}

}  // namespace stray::fuzz
