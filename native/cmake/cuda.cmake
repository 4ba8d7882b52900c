# Optional CUDA backend (native/src/cuda). Included by native/CMakeLists.txt after qwen_core exists.
#
# When a working CUDA 12+ compiler is found and QWEN_CUDA is not OFF, the kernels and the GPU
# model are built into the static library qwen_cuda, linked into qwen_core, and QWEN_HAVE_CUDA is
# defined so the model loader can offer the "cuda" device. cudart is linked statically: the addon
# then loads on machines with no CUDA toolkit or driver at all, and the GPU probe reports why the
# GPU is not used instead of the dynamic loader refusing the whole addon.
#
# The build never fails because of CUDA: a missing nvcc, one older than 12.0, one that does not
# know an architecture (that architecture is dropped), or one that cannot compile
# native/cmake/cuda_probe.cu (the features and toolkit APIs the backend uses) each give a
# CPU-only addon and a warning saying which it was. The probe runs before enable_language(CUDA),
# whose own checks would stop the configure with a fatal error.
option(QWEN_CUDA "Build the CUDA backend when a CUDA compiler is available" ON)

# Real machine code for Ampere (80, 86), Ada (89) and Hopper (90), plus PTX for the newest so
# later GPUs can JIT it. Dev builds pass -DQWEN_CUDA_ARCHS=90 (or their own GPU, or native) to
# compile one architecture only, which is several times faster.
set(QWEN_CUDA_ARCHS "80-real;86-real;89-real;90" CACHE STRING
    "CUDA architectures for the qwen_cuda library (CMake CUDA_ARCHITECTURES syntax)")
set(QWEN_CUDA_ENABLED OFF CACHE INTERNAL "whether this configure built the CUDA backend")

macro(qwen_cuda_off why)
  message(WARNING "qwen: building the CPU backend only, without CUDA: ${why}")
  set(QWEN_CUDA_ENABLED OFF CACHE INTERNAL "whether this configure built the CUDA backend")
endmacro()

if(NOT QWEN_CUDA)
  message(STATUS "qwen: CUDA backend disabled (QWEN_CUDA=OFF)")
  return()
endif()

# check_language leaves a CMAKE_CUDA_COMPILER that was given (-D or CUDACXX) untested, so the
# checks below run on whatever compiler it ends up with.
include(CheckLanguage)
check_language(CUDA)
if(NOT CMAKE_CUDA_COMPILER)
  find_program(QWEN_NVCC_ON_PATH nvcc)
  if(QWEN_NVCC_ON_PATH)
    qwen_cuda_off("${QWEN_NVCC_ON_PATH} was found but cannot compile a CUDA program")
  else()
    qwen_cuda_off("no CUDA compiler found (put the CUDA toolkit's nvcc on the PATH to build the GPU backend)")
  endif()
  unset(QWEN_NVCC_ON_PATH CACHE)
  return()
endif()

execute_process(COMMAND ${CMAKE_CUDA_COMPILER} --version
  RESULT_VARIABLE _qwen_rc OUTPUT_VARIABLE _qwen_out ERROR_VARIABLE _qwen_err TIMEOUT 60)
if(NOT _qwen_rc EQUAL 0 OR NOT _qwen_out MATCHES "release ([0-9]+)\\.([0-9]+)")
  string(STRIP "${_qwen_err}" _qwen_err)
  qwen_cuda_off("${CMAKE_CUDA_COMPILER} --version failed (${_qwen_rc}) ${_qwen_err}")
  unset(CMAKE_CUDA_COMPILER CACHE)
  return()
endif()
set(_qwen_nvcc_version "${CMAKE_MATCH_1}.${CMAKE_MATCH_2}")
if(_qwen_nvcc_version VERSION_LESS 12.0)
  qwen_cuda_off("nvcc ${_qwen_nvcc_version} is older than CUDA 12.0, the oldest toolkit the backend supports")
  unset(CMAKE_CUDA_COMPILER CACHE)
  return()
endif()

# Drop architectures this nvcc does not know (an older toolkit and a newer GPU), with a warning.
set(_qwen_archs ${QWEN_CUDA_ARCHS})
if(NOT QWEN_CUDA_ARCHS MATCHES "^(native|all|all-major)$")
  execute_process(COMMAND ${CMAKE_CUDA_COMPILER} --list-gpu-arch
    RESULT_VARIABLE _qwen_rc OUTPUT_VARIABLE _qwen_known ERROR_QUIET TIMEOUT 60)
  if(_qwen_rc EQUAL 0)
    set(_qwen_archs "")
    set(_qwen_dropped "")
    foreach(_a IN LISTS QWEN_CUDA_ARCHS)
      string(REGEX MATCH "^[0-9]+" _n "${_a}")
      if(_qwen_known MATCHES "compute_${_n}([^0-9]|$)")
        list(APPEND _qwen_archs "${_a}")
      else()
        list(APPEND _qwen_dropped "${_a}")
      endif()
    endforeach()
    if(_qwen_dropped)
      message(WARNING "qwen: nvcc ${_qwen_nvcc_version} does not know CUDA architecture(s) ${_qwen_dropped}; building without them")
    endif()
    if(NOT _qwen_archs)
      qwen_cuda_off("nvcc ${_qwen_nvcc_version} knows none of the architectures ${QWEN_CUDA_ARCHS}")
      unset(CMAKE_CUDA_COMPILER CACHE)
      return()
    endif()
  endif()
endif()

# Compile the probe for exactly those architectures (once per compiler, version and list).
set(_qwen_gencode "")
foreach(_a IN LISTS _qwen_archs)
  string(REGEX MATCH "^[0-9]+" _n "${_a}")
  if(_a MATCHES "^(native|all|all-major)$")
    list(APPEND _qwen_gencode "-arch=${_a}")
  elseif(_a MATCHES "-real$")
    list(APPEND _qwen_gencode "-gencode=arch=compute_${_n},code=sm_${_n}")
  elseif(_a MATCHES "-virtual$")
    list(APPEND _qwen_gencode "-gencode=arch=compute_${_n},code=compute_${_n}")
  else()
    list(APPEND _qwen_gencode "-gencode=arch=compute_${_n},code=[compute_${_n},sm_${_n}]")
  endif()
endforeach()
set(_qwen_probe_src ${CMAKE_CURRENT_LIST_DIR}/cuda_probe.cu)
file(MD5 ${_qwen_probe_src} _qwen_probe_md5)
set(_qwen_probe_key "${CMAKE_CUDA_COMPILER}|${_qwen_nvcc_version}|${_qwen_archs}|${_qwen_probe_md5}")
if(NOT QWEN_CUDA_PROBE_PASSED STREQUAL _qwen_probe_key)
  message(STATUS "qwen: checking that nvcc ${_qwen_nvcc_version} builds the CUDA backend's features for ${_qwen_archs}")
  execute_process(COMMAND ${CMAKE_CUDA_COMPILER} -std=c++17 --expt-relaxed-constexpr -O1 ${_qwen_gencode}
                          -c ${_qwen_probe_src} -o ${CMAKE_CURRENT_BINARY_DIR}/qwen_cuda_probe.o
    RESULT_VARIABLE _qwen_rc OUTPUT_VARIABLE _qwen_out ERROR_VARIABLE _qwen_err TIMEOUT 600)
  if(NOT _qwen_rc EQUAL 0)
    string(SUBSTRING "${_qwen_out}${_qwen_err}" 0 1500 _qwen_err)
    qwen_cuda_off("nvcc ${_qwen_nvcc_version} failed to compile native/cmake/cuda_probe.cu for ${_qwen_archs} (exit ${_qwen_rc}):\n${_qwen_err}")
    unset(CMAKE_CUDA_COMPILER CACHE)
    return()
  endif()
  set(QWEN_CUDA_PROBE_PASSED "${_qwen_probe_key}" CACHE INTERNAL "the nvcc/architectures the probe compiled with")
endif()

if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES ${_qwen_archs})
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
  CUDA_ARCHITECTURES "${_qwen_archs}"
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
set(QWEN_CUDA_ENABLED ON CACHE INTERNAL "whether this configure built the CUDA backend")
message(STATUS "qwen: CUDA backend enabled (nvcc ${_qwen_nvcc_version}) for architectures ${_qwen_archs}")
