# Decides whether the CUDA backend is built. AUTO builds it whenever nvcc is
# found — a GPU is not needed to compile, and CI compiles it every run.
#
# The backend is a module (libstray_cuda.so) that the library loads with
# dlopen, and it needs a shared libstray (src/CMakeLists.txt says why): a
# build that asks for a static library explicitly (BUILD_SHARED_LIBS=OFF)
# gets no CUDA backend under AUTO, and an error under ON.
include(CheckLanguage)
set(STRAY_CUDA_ENABLED OFF)
if(STRAY_WITH_CUDA STREQUAL "AUTO" OR STRAY_WITH_CUDA)
  if(DEFINED BUILD_SHARED_LIBS AND NOT BUILD_SHARED_LIBS)
    if(STRAY_WITH_CUDA STREQUAL "AUTO")
      message(STATUS "stray: BUILD_SHARED_LIBS=OFF, so no CUDA backend (its module needs a shared libstray)")
    else()
      message(FATAL_ERROR "STRAY_WITH_CUDA=ON needs a shared libstray (the CUDA module links it), "
                          "but BUILD_SHARED_LIBS=OFF")
    endif()
  else()
    if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX})
      find_program(_stray_nvcc nvcc HINTS /usr/local/cuda/bin ENV CUDA_HOME PATH_SUFFIXES bin)
      if(_stray_nvcc)
        set(CMAKE_CUDA_COMPILER ${_stray_nvcc})
      endif()
    endif()
    check_language(CUDA)
    if(CMAKE_CUDA_COMPILER)
      if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
        set(CMAKE_CUDA_ARCHITECTURES 80 90)  # A100, H100/H200
      endif()
      enable_language(CUDA)
      set(CMAKE_CUDA_STANDARD 17)
      set(CMAKE_CUDA_STANDARD_REQUIRED ON)
      find_package(CUDAToolkit REQUIRED)
      set(STRAY_CUDA_ENABLED ON)
    elseif(NOT STRAY_WITH_CUDA STREQUAL "AUTO")
      message(FATAL_ERROR "STRAY_WITH_CUDA=ON but no CUDA compiler was found")
    endif()
  endif()
endif()
message(STATUS "stray: CUDA backend ${STRAY_CUDA_ENABLED}")
