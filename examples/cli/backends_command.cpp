// `stray backends`: which backends this build has and which can run here.
#include <cstdio>

#include "cli_util.hpp"
#include "commands.hpp"

namespace stray::cli {

void register_backends_command(CLI::App& app) {
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("backends", "List compiled and usable backends");
  cmd->add_flag("--json", *json, "Print one JSON object");
  cmd->callback([json] {
    const auto compiled = compiled_backends();
    const auto usable = available_backends();
    const std::string cuda_reason = cuda_unavailable_reason();
    if (*json) {
      print_json({{"compiled", compiled}, {"available", usable}, {"cuda_unavailable_reason", cuda_reason}});
      return;
    }
    for (const auto& name : compiled) {
      const bool ok = name == "cpu" || cuda_reason.empty();
      std::printf("%-5s %s\n", name.c_str(),
                  ok ? make_backend(name)->device_description().c_str()
                     : ("unavailable: " + cuda_reason).c_str());
    }
  });
}

}  // namespace stray::cli
