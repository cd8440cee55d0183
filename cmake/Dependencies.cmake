# What the libraries need (the package's ambitiousConfig.cmake finds the same for its users).
set(Boost_NO_WARN_NEW_VERSIONS ON)
find_package(Boost 1.81 REQUIRED)
find_package(Threads REQUIRED)
find_package(ZLIB REQUIRED)
if(AMBITIOUS_MIMALLOC)
  find_package(mimalloc 2.0 CONFIG REQUIRED)
  message(STATUS "ambitious: mimalloc replaces malloc and operator new in programs that link "
                 "ambitious (AMBITIOUS_MIMALLOC=ON; OFF keeps the program's allocator)")
endif()
