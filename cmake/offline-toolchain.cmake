# Used through CMAKE_TOOLCHAIN_FILE (see .cargo/config.toml) when the QuickJS engine behind
# deno_core builds. It points CMake's FetchContent at Debian's libsimde-dev headers so the
# build never reaches for the network.
set(FETCHCONTENT_SOURCE_DIR_SIMDE "/usr/include" CACHE PATH "simde headers from libsimde-dev" FORCE)
set(FETCHCONTENT_FULLY_DISCONNECTED ON CACHE BOOL "never download during the build" FORCE)
