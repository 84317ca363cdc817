# Installs the build tree into a scratch prefix, builds the consumer against
# it and runs it. Invoked by ctest (see tests/CMakeLists.txt).
file(REMOVE_RECURSE ${STRAY_SCRATCH})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${STRAY_BINARY_DIR} --prefix ${STRAY_SCRATCH}/prefix
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(rc)
  message(FATAL_ERROR "cmake --install failed (${rc})")
endif()
set(extra)
if(CMAKE_CUDA_COMPILER)
  list(APPEND extra -DCMAKE_CUDA_COMPILER=${CMAKE_CUDA_COMPILER})
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${STRAY_CONSUMER_SOURCE} -B ${STRAY_SCRATCH}/build
                        -DCMAKE_PREFIX_PATH=${STRAY_SCRATCH}/prefix ${extra}
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
