# Finds stray's dependencies. Debian packages are the normal source
# (scripts/install-deps installs them); STRAY_DEPS_DIR points at a bundle of
# the same headers and sources for machines without them (scripts/gpu-check).
set(STRAY_DEPS_DIR "" CACHE PATH "Optional prefix with include/{eigen3,CLI,nlohmann,zlib.h,zstd.h}, lib/{libz.so,libzstd.so} and src/googletest")
set(_stray_hints ${STRAY_DEPS_DIR}/include /usr/include /usr/local/include)
# zlib (found in src/): the bundle's copy (include/zlib.h, lib/libz.so) when it
# has one. The bundle holds the shared library: a shared libstray (built with
# the CUDA backend) cannot take Debian's libz.a, which is not
# position-independent.
if(STRAY_DEPS_DIR AND EXISTS "${STRAY_DEPS_DIR}/include/zlib.h" AND NOT DEFINED ZLIB_ROOT)
  set(ZLIB_ROOT "${STRAY_DEPS_DIR}")
endif()

# zstd (found in src/): .zst event files. Debian's libzstd-dev has a CMake
# package (zstd::libzstd_shared); a bundle has the header and the shared
# library (include/zstd.h, lib/libzstd.so), and wins when it has them, as
# for zlib.
if(STRAY_DEPS_DIR AND EXISTS "${STRAY_DEPS_DIR}/include/zstd.h")
  set(_stray_zstd_hints HINTS ${STRAY_DEPS_DIR}/include ${STRAY_DEPS_DIR}/lib NO_DEFAULT_PATH)
else()
  find_package(zstd CONFIG QUIET)
endif()
if(NOT TARGET zstd::libzstd_shared)
  find_path(STRAY_ZSTD_INCLUDE zstd.h ${_stray_zstd_hints})
  find_library(STRAY_ZSTD_LIBRARY NAMES zstd ${_stray_zstd_hints})
  if(NOT STRAY_ZSTD_INCLUDE OR NOT STRAY_ZSTD_LIBRARY)
    message(FATAL_ERROR "zstd not found: install Debian's libzstd-dev (scripts/install-deps) or set STRAY_DEPS_DIR")
  endif()
  add_library(zstd::libzstd_shared SHARED IMPORTED)
  set_target_properties(zstd::libzstd_shared PROPERTIES
    IMPORTED_LOCATION ${STRAY_ZSTD_LIBRARY} INTERFACE_INCLUDE_DIRECTORIES ${STRAY_ZSTD_INCLUDE})
endif()

find_package(OpenMP REQUIRED COMPONENTS CXX)

# Eigen 3.4 (header-only): the package config when installed, else the bundle.
find_package(Eigen3 3.4 QUIET NO_MODULE)
if(NOT TARGET Eigen3::Eigen)
  find_path(STRAY_EIGEN_INCLUDE Eigen/Core HINTS ${STRAY_DEPS_DIR}/include/eigen3 /usr/include/eigen3)
  if(NOT STRAY_EIGEN_INCLUDE)
    message(FATAL_ERROR "Eigen 3.4 not found: install Debian's libeigen3-dev (scripts/install-deps) or set STRAY_DEPS_DIR")
  endif()
  add_library(Eigen3::Eigen INTERFACE IMPORTED)
  target_include_directories(Eigen3::Eigen INTERFACE ${STRAY_EIGEN_INCLUDE})
endif()

# nlohmann-json (header-only): JSON output, model files, JSONL events.
find_path(STRAY_JSON_INCLUDE nlohmann/json.hpp HINTS ${_stray_hints})
if(NOT STRAY_JSON_INCLUDE)
  message(FATAL_ERROR "nlohmann/json.hpp not found: install Debian's nlohmann-json3-dev (scripts/install-deps)")
endif()
add_library(stray_json INTERFACE)
target_include_directories(stray_json SYSTEM INTERFACE ${STRAY_JSON_INCLUDE})
