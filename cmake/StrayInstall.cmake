# `cmake --install` puts headers, the library and a CMake package in place so
# that consumers write find_package(stray) and link stray::stray.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(DIRECTORY include/stray DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS stray EXPORT strayTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# The CUDA module goes beside the library, where the library looks for it
# first. It is no part of the exported targets: consumers link stray::stray
# and never CUDA; the library loads the module when asked for a CUDA backend.
if(TARGET stray_cuda)
  install(TARGETS stray_cuda LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()
if(TARGET stray_cli)
  install(TARGETS stray_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  # The JSON log mappings of common collectors, for `stray fleet --json-map`.
  install(DIRECTORY examples/mappings/ DESTINATION ${CMAKE_INSTALL_DATADIR}/stray/mappings
          FILES_MATCHING PATTERN "*.json")
endif()
install(EXPORT strayTargets NAMESPACE stray:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/stray)

# What the package config needs to know: a static library brings its
# private dependencies (zlib, zstd) to the consumer's link, a shared one does not.
get_target_property(_stray_type stray TYPE)
if(_stray_type STREQUAL "STATIC_LIBRARY")
  set(STRAY_STATIC_LIBRARY ON)
else()
  set(STRAY_STATIC_LIBRARY OFF)
endif()
configure_package_config_file(cmake/strayConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/strayConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/stray)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/strayConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/strayConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/strayConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/stray)
