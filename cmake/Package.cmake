# `cmake --install`: the headers, the layer libraries and the CMake package, so that a project
# writes `find_package(ambitious CONFIG REQUIRED)` and links `ambitious::ambitious` (or one
# layer, `ambitious::core` ... `ambitious::naming`).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

get_property(layers GLOBAL PROPERTY AMBITIOUS_LAYER_TARGETS)
install(TARGETS ambitious ${layers} EXPORT ambitiousTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(package_dir ${CMAKE_INSTALL_LIBDIR}/cmake/ambitious)
install(EXPORT ambitiousTargets NAMESPACE ambitious:: DESTINATION ${package_dir})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/ambitiousConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/ambitiousConfig.cmake
                              INSTALL_DESTINATION ${package_dir})
# Before 1.0 a minor version may change the API: only the same minor version is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/ambitiousConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/ambitiousConfig.cmake
              ${PROJECT_BINARY_DIR}/ambitiousConfigVersion.cmake
        DESTINATION ${package_dir})
