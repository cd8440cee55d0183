# ambitious_layer(<name> SOURCES <files...> [DEPENDS <layers...>] [PRIVATE_LINK <libs...>])
# One library per layer (DESIGN.md: core -> runtime -> process -> behaviours -> naming), as the
# target ambitious_<name> and its alias ambitious::<name>. A layer compiles against the public
# headers (include/) and its own directory only: its private headers are included by file name
# from src/<name>/, and there is no include path into src/, so another layer's private header
# cannot be reached. DEPENDS names the layers below that it uses; `scripts/check-layers.sh`
# (the test `layers`) checks that no file includes a public header of a layer above its own.
function(ambitious_layer name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "SOURCES;DEPENDS;PRIVATE_LINK")
  set(target ambitious_${name})
  add_library(${target} ${arg_SOURCES})
  add_library(ambitious::${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name})
  target_compile_features(${target} PUBLIC cxx_std_23)
  set_property(GLOBAL APPEND PROPERTY AMBITIOUS_LAYER_TARGETS ${target})
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:include>)
  foreach(layer ${arg_DEPENDS})
    target_link_libraries(${target} PUBLIC ambitious_${layer})
  endforeach()
  if(arg_PRIVATE_LINK)
    target_link_libraries(${target} PRIVATE ${arg_PRIVATE_LINK})
  endif()
  ambitious_warnings(${target})
endfunction()
