# Optional CUDA backend (native/src/cuda). Included by native/CMakeLists.txt after qwen_core exists.
#
# When a CUDA compiler is found and QWEN_CUDA is not OFF, the kernels and the GPU model are built
# into the static library qwen_cuda, linked into qwen_core, and QWEN_HAVE_CUDA is defined so the
# model loader can offer the "cuda" device. cudart is linked statically: the addon then loads on
# machines with no CUDA toolkit or driver at all, and cuda_available() reports why the GPU path is
# off instead of the dynamic loader refusing the whole addon. Without nvcc nothing here happens
# and the build is CPU-only.
option(QWEN_CUDA "Build the CUDA backend when a CUDA compiler is available" ON)

# Real machine code for Ampere (80, 86), Ada (89) and Hopper (90), plus PTX for the newest so
# later GPUs can JIT it. Dev builds pass -DQWEN_CUDA_ARCHS=90 (or their own GPU) to compile one
# architecture only, which is several times faster.
set(QWEN_CUDA_ARCHS "80-real;86-real;89-real;90" CACHE STRING
    "CUDA architectures for the qwen_cuda library (CMake CUDA_ARCHITECTURES syntax)")

if(NOT QWEN_CUDA)
  message(STATUS "qwen: CUDA backend disabled (QWEN_CUDA=OFF)")
  return()
endif()

include(CheckLanguage)
check_language(CUDA)
if(NOT CMAKE_CUDA_COMPILER)
  message(STATUS "qwen: no CUDA compiler found; building the CPU backend only")
  return()
endif()

if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES ${QWEN_CUDA_ARCHS})
endif()
enable_language(CUDA)
set(CMAKE_CUDA_STANDARD 17)
set(CMAKE_CUDA_STANDARD_REQUIRED ON)

file(GLOB QWEN_CUDA_SOURCES CONFIGURE_DEPENDS
  ${CMAKE_CURRENT_SOURCE_DIR}/src/cuda/*.cu
  ${CMAKE_CURRENT_SOURCE_DIR}/src/cuda/*.cpp)
if(NOT QWEN_CUDA_SOURCES)
  message(STATUS "qwen: CUDA compiler found but native/src/cuda has no sources; CPU only")
  return()
endif()

add_library(qwen_cuda STATIC ${QWEN_CUDA_SOURCES})
set_target_properties(qwen_cuda PROPERTIES
  CUDA_ARCHITECTURES "${QWEN_CUDA_ARCHS}"
  CUDA_RUNTIME_LIBRARY Static
  CUDA_SEPARABLE_COMPILATION OFF
  POSITION_INDEPENDENT_CODE ON)
target_include_directories(qwen_cuda PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/src)
# The host side of qwen_cuda includes CUDA runtime headers from plain .cpp files too.
target_include_directories(qwen_cuda PRIVATE ${CMAKE_CUDA_TOOLKIT_INCLUDE_DIRECTORIES})
target_compile_options(qwen_cuda PRIVATE
  $<$<COMPILE_LANGUAGE:CUDA>:-O3 --use_fast_math -Xcompiler=-fPIC --expt-relaxed-constexpr>
  $<$<COMPILE_LANGUAGE:CXX>:-O3 -Wall -Wextra -Wno-unused-parameter>)

# The static cudart needs libdl/librt/pthread on Linux; CMake adds them for CUDA-linked targets,
# but qwen_core's consumers link with the C++ linker, so name them explicitly.
find_package(CUDAToolkit QUIET)
if(CUDAToolkit_FOUND AND TARGET CUDA::cudart_static)
  target_link_libraries(qwen_cuda PUBLIC CUDA::cudart_static)
else()
  target_link_libraries(qwen_cuda PUBLIC cudart_static ${CMAKE_DL_LIBS} rt)
endif()

# qwen_core calls into qwen_cuda (the device choice) and qwen_cuda into qwen_core (GGUF reader,
# CPU dequantizers): a cycle of static libraries, which CMake resolves by repeating them on the
# link line.
target_link_libraries(qwen_cuda PRIVATE qwen_core)
target_link_libraries(qwen_core PUBLIC qwen_cuda)
target_compile_definitions(qwen_core PUBLIC QWEN_HAVE_CUDA=1)
message(STATUS "qwen: CUDA backend enabled for architectures ${QWEN_CUDA_ARCHS}")
