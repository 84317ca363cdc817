// The CUDA backend's entry points on the library's side. With the CUDA
// backend built, they load it from its module (libstray_cuda.so) with dlopen
// on first use, as ggml loads its dynamic backends: the library itself links
// nothing of CUDA, so a program that never asks for a CUDA backend never
// maps the CUDA runtime, cuBLAS, cuSOLVER or cuSPARSE. Without it, they say
// so.
#include <cstring>
#include <memory>
#include <string>

#include "core/backend_factories.hpp"
#include "stray/core/error.hpp"

#if STRAY_HAVE_CUDA
#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#endif

namespace stray::internal {

#if STRAY_HAVE_CUDA

namespace {

// The module as loaded, once per process. It is never unloaded: backends it
// made may live until exit, and their code is in it.
struct CudaModule {
  std::string failure;  // "" when loaded and checked
  StrayCudaProbeFn probe = nullptr;
  StrayCudaMakeBackendFn make = nullptr;
};

std::string dl_error() {
  const char* e = dlerror();
  return e != nullptr ? e : "unknown error";
}

// The file of the stray library holding this code (libstray.so.N), found
// from the address of one of its functions; "" if the dynamic linker cannot
// say.
std::string this_library_file() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<const void*>(&cuda_probe), &info) == 0 || info.dli_fname == nullptr) {
    return "";
  }
  return info.dli_fname;
}

void* open_module(const std::string& file, std::string* failure) {
  dlerror();
  // RTLD_LOCAL: the module's symbols (its static CUDA runtime among them)
  // stay out of the process's global scope.
  void* handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) *failure = "the CUDA module " + file + " could not be loaded: " + dl_error();
  return handle;
}

template <typename Fn>
Fn symbol(void* handle, const char* name) {
  dlerror();
  return reinterpret_cast<Fn>(dlsym(handle, name));
}

// Finds, loads and checks the module. Search order: STRAY_CUDA_MODULE (a
// full path) alone when set; else the directory of the loaded stray library
// (the build tree's src/, an installation's lib/); else the plain file name
// through the dynamic linker's search path (LD_LIBRARY_PATH, the cache).
CudaModule load_module() {
  CudaModule m;
  std::string file;
  void* handle = nullptr;
  const char* override_path = std::getenv("STRAY_CUDA_MODULE");
  if (override_path != nullptr && *override_path != '\0') {
    file = override_path;
    handle = open_module(file, &m.failure);
    if (handle == nullptr) m.failure += " (the path comes from STRAY_CUDA_MODULE)";
  } else {
    const std::string library = this_library_file();
    const std::size_t slash = library.rfind('/');
    const std::string beside =
        slash == std::string::npos ? "" : library.substr(0, slash + 1) + kCudaModuleFile;
    // A module beside the library that exists but fails to load is reported
    // as it is, rather than passed over for another one on the search path.
    if (!beside.empty() && access(beside.c_str(), F_OK) == 0) {
      file = beside;
      handle = open_module(file, &m.failure);
    } else {
      file = kCudaModuleFile;
      handle = open_module(file, &m.failure);
      if (handle == nullptr && !beside.empty()) {
        m.failure += " (it is not beside " + library + " either)";
      }
    }
  }
  if (handle == nullptr) return m;

  const auto refuse = [&](const std::string& why) {
    m.failure = "the CUDA module " + file + " " + why;
    dlclose(handle);
    return m;
  };
  const auto abi = symbol<StrayCudaAbiVersionFn>(handle, "stray_cuda_abi_version");
  if (abi == nullptr) return refuse("is not a stray CUDA module: " + dl_error());
  const int module_abi = abi();
  if (module_abi != kCudaModuleAbi) {
    return refuse("has entry points of version " + std::to_string(module_abi) +
                  ", this stray library expects version " + std::to_string(kCudaModuleAbi) +
                  ": install the module from the same build as the library");
  }
  const auto build_id = symbol<StrayCudaBuildIdFn>(handle, "stray_cuda_build_id");
  const char* module_id = build_id != nullptr ? build_id() : nullptr;
  if (module_id == nullptr || std::strcmp(module_id, STRAY_BUILD_ID) != 0) {
    return refuse(std::string("does not match this stray library: built for ") +
                  (module_id != nullptr ? module_id : "(no build id)") + ", the library is " +
                  STRAY_BUILD_ID + ": install the module from the same build as the library");
  }
  m.probe = symbol<StrayCudaProbeFn>(handle, "stray_cuda_probe");
  m.make = symbol<StrayCudaMakeBackendFn>(handle, "stray_cuda_make_backend");
  if (m.probe == nullptr || m.make == nullptr) {
    return refuse("lacks stray_cuda_probe or stray_cuda_make_backend: " + dl_error());
  }
  return m;
}

// Loaded on first use; a function-local static is initialised once even
// when several threads ask at the same time.
const CudaModule& module() {
  static const CudaModule m = load_module();
  return m;
}

}  // namespace

bool cuda_compiled() { return true; }

std::string cuda_probe() {
  const CudaModule& m = module();
  if (!m.failure.empty()) return m.failure;
  char buffer[1024];
  const std::size_t length = m.probe(buffer, sizeof buffer);
  if (length < sizeof buffer) return std::string(buffer, length);
  std::string reason(length + 1, '\0');
  m.probe(reason.data(), reason.size());
  reason.resize(length);
  return reason;
}

std::unique_ptr<Backend> make_cuda_backend(std::size_t workspace_bytes,
                                           const CudaOptions& options) {
  const CudaModule& m = module();
  if (!m.failure.empty()) {
    throw Error(ErrorCode::backend_unavailable, "make_backend: cuda unavailable: " + m.failure);
  }
  int code = static_cast<int>(ErrorCode::device_error);
  char message[2048] = "";
  Backend* backend = m.make(workspace_bytes, &options, &code, message, sizeof message);
  if (backend == nullptr) {
    // The module is from this build (checked on loading): its codes are ours.
    throw Error(static_cast<ErrorCode>(code),
                message[0] != '\0' ? message : "make_backend: the CUDA module gave no backend");
  }
  return std::unique_ptr<Backend>(backend);
}

#else  // built without the CUDA backend

bool cuda_compiled() { return false; }

std::string cuda_probe() {
  return "stray was built without the CUDA backend (STRAY_WITH_CUDA=OFF or no nvcc)";
}

std::unique_ptr<Backend> make_cuda_backend(std::size_t, const CudaOptions&) {
  throw Error(ErrorCode::backend_unavailable, "make_backend: " + cuda_probe());
}

#endif

}  // namespace stray::internal
