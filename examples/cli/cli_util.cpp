#include "cli_util.hpp"

#include <unistd.h>

#include <iostream>

namespace stray::cli {

void print_json(const nlohmann::json& j) { std::cout << j.dump() << std::endl; }

std::unique_ptr<Backend> open_backend(const std::string& name) { return make_backend(name); }

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

}  // namespace stray::cli
