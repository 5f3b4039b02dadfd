# NCCL for c10d's ProcessGroupNCCL (data-parallel training on CUDA tensors). Its header compiles
# only with <nccl.h> on the include path, which a pip wheel keeps outside torch's headers
# (site-packages/nvidia/nccl/include), beside libnccl.so.2, and it pulls in the CUDA runtime and
# cuBLAS headers (ATen/cuda). NCCL is used when all are found: torch's ProcessGroupNCCL.hpp,
# nccl.h, the library, cuda_runtime_api.h and cublas_v2.h. Says which were found.
function(dilute_find_nccl target)
  get_filename_component(_site "${TORCH_INSTALL_PREFIX}/.." ABSOLUTE)
  set(_roots "${_site}/nvidia/nccl" $ENV{NCCL_HOME} $ENV{NCCL_ROOT} $ENV{CUDA_HOME} /usr/local/cuda /usr)
  find_file(DILUTE_NCCL_PG_HEADER torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp PATHS ${TORCH_INCLUDE_DIRS} NO_DEFAULT_PATH)
  find_path(DILUTE_NCCL_INCLUDE_DIR nccl.h PATHS ${TORCH_INCLUDE_DIRS} ${_roots} PATH_SUFFIXES include NO_DEFAULT_PATH)
  set(_cuda_roots "${_site}/nvidia/cuda_runtime" "${_site}/nvidia/cublas" $ENV{CUDA_HOME} /usr/local/cuda)
  find_path(DILUTE_CUDART_INCLUDE_DIR cuda_runtime_api.h PATHS ${TORCH_INCLUDE_DIRS} ${_cuda_roots} PATH_SUFFIXES include NO_DEFAULT_PATH)
  find_path(DILUTE_CUBLAS_INCLUDE_DIR cublas_v2.h PATHS ${TORCH_INCLUDE_DIRS} ${_cuda_roots} PATH_SUFFIXES include NO_DEFAULT_PATH)
  find_library(DILUTE_NCCL_LIBRARY NAMES nccl libnccl.so.2 NAMES_PER_DIR PATHS ${_roots} PATH_SUFFIXES lib lib64 lib/x86_64-linux-gnu NO_DEFAULT_PATH)
  set(_found ON)
  foreach(_v DILUTE_NCCL_PG_HEADER DILUTE_NCCL_INCLUDE_DIR DILUTE_NCCL_LIBRARY DILUTE_CUDART_INCLUDE_DIR DILUTE_CUBLAS_INCLUDE_DIR)
    if(NOT ${_v})
      set(_found OFF)
    endif()
  endforeach()
  option(DILUTE_WITH_NCCL "Use c10d's NCCL process group for CUDA data-parallel training" ${_found})
  message(STATUS "NCCL: ProcessGroupNCCL.hpp ${DILUTE_NCCL_PG_HEADER}; nccl.h ${DILUTE_NCCL_INCLUDE_DIR}; "
                 "library ${DILUTE_NCCL_LIBRARY}; cuda_runtime_api.h ${DILUTE_CUDART_INCLUDE_DIR}; "
                 "cublas_v2.h ${DILUTE_CUBLAS_INCLUDE_DIR} -> DILUTE_WITH_NCCL ${DILUTE_WITH_NCCL}")
  if(DILUTE_WITH_NCCL AND NOT _found)
    message(FATAL_ERROR "DILUTE_WITH_NCCL is on but NCCL was not found (above): set NCCL_HOME, or -DDILUTE_WITH_NCCL=OFF")
  endif()
  if(DILUTE_WITH_NCCL)
    target_compile_definitions(${target} PRIVATE DILUTE_WITH_NCCL)
    file(GLOB _nv_inc LIST_DIRECTORIES true "${_site}/nvidia/*/include")  # cusparse.h, cusolverDn.h, ... of a wheel
    target_include_directories(${target} SYSTEM PRIVATE "${DILUTE_NCCL_INCLUDE_DIR}" "${DILUTE_CUDART_INCLUDE_DIR}"
                                                        "${DILUTE_CUBLAS_INCLUDE_DIR}" ${_nv_inc})
    target_link_libraries(${target} PRIVATE "${DILUTE_NCCL_LIBRARY}")
  endif()
endfunction()
