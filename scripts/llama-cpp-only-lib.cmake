# Read by CMake right after llama.cpp's own project() call (CMAKE_PROJECT_llama.cpp_INCLUDE,
# set by scripts/setup.sh). llama-cpp-python forces llama.cpp's common library on, but its
# Python bindings load only libllama and ggml; common (argument parsing and chat parsers for
# llama.cpp's own tools) is about two thirds of the build on 2 cores.
set(LLAMA_BUILD_COMMON OFF)
