# Installs the build tree into a scratch prefix, builds the consumer against
# it and runs it. Invoked by ctest (see tests/CMakeLists.txt).
file(REMOVE_RECURSE ${STRAY_SCRATCH})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${STRAY_BINARY_DIR} --prefix ${STRAY_SCRATCH}/prefix
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(rc)
  message(FATAL_ERROR "cmake --install failed (${rc})")
endif()
# The package exports nothing of CUDA: the CUDA backend is a module the
# library loads itself, never a dependency of the consumer.
file(GLOB_RECURSE targets ${STRAY_SCRATCH}/prefix/*/strayTargets*.cmake)
foreach(file ${targets})
  file(READ ${file} text)
  if(text MATCHES "CUDA")
    message(FATAL_ERROR "${file} mentions CUDA: consumers would need the CUDA toolkit")
  endif()
endforeach()
# The installed tool finds the installed library (and, through it, the
# module): its run path is relative to its own directory.
file(GLOB installed_cli ${STRAY_SCRATCH}/prefix/bin/stray)
if(installed_cli)
  execute_process(COMMAND ${installed_cli} backends RESULT_VARIABLE rc OUTPUT_VARIABLE out)
  message(STATUS "installed stray backends:\n${out}")
  if(rc OR out MATCHES "CUDA module")
    message(FATAL_ERROR "the installed stray tool failed (${rc}) or did not load the CUDA module")
  endif()
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${STRAY_CONSUMER_SOURCE} -B ${STRAY_SCRATCH}/build
                        -DCMAKE_PREFIX_PATH=${STRAY_SCRATCH}/prefix
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "configuring the consumer against the installed package failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${STRAY_SCRATCH}/build RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "building the consumer failed (${rc})")
endif()
execute_process(COMMAND ${STRAY_SCRATCH}/build/consumer RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "the consumer ran but failed (${rc})")
endif()
