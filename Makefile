# The two commands of the README, and the ones CI and developers use beside them.
#   make run    install what is missing, build Release, run the flagship example
#   make test   install what is missing, build Release, run every test
#   make package-check   consumer projects against the installed package, g++ and clang 16 (CI)
#   make bench  build the benchmarks and compare them with Erlang/OTP and CAF
#   make bench-interop   an Erlang node's echo round trips to interop_node and to an Erlang node
#   make test-clang   build with clang 16 (-O2) and run every test
#   make asan / make tsan   the tests under the sanitizers
#   make docs   check the docs' snippets and report kinds, build the API reference (Doxygen)
#   make format / make format-check
JOBS ?= $(shell nproc)
CLANG_FORMAT ?= clang-format-16
SOURCES = $(shell git ls-files '*.hpp' '*.cpp' 2>/dev/null)

.PHONY: deps configure release run test test-clang package-check bench bench-interop asan tsan fuzz docs format format-check clean

deps:
	@bash scripts/install-deps.sh

configure: deps
	cmake --preset release >/dev/null

release: configure
	cmake --build --preset release -j $(JOBS)

# Builds only the libraries and the example it runs.
run: configure
	cmake --build --preset release -j $(JOBS) --target flagship
	./build/release/examples/flagship

test: release
	ctest --preset release -j $(JOBS)

test-clang: deps
	cmake --preset clang >/dev/null
	cmake --build --preset clang -j $(JOBS)
	ctest --preset clang -j $(JOBS)

# The installed package used by a consumer project, ambitious as a subdirectory, the options.
package-check: release
	bash scripts/check-package.sh

bench: release
	bash scripts/bench.sh

# Builds only interop_node; RUNS=5 make bench-interop for more runs (bench/interop_echo/README.md).
bench-interop: configure
	cmake --build --preset release -j $(JOBS) --target interop_node
	bash bench/interop_echo/run.sh -n $${RUNS:-3}

asan: deps
	cmake --preset asan >/dev/null
	cmake --build --preset asan -j $(JOBS)
	ctest --preset asan -j $(JOBS)

tsan: deps
	cmake --preset tsan >/dev/null
	cmake --build --preset tsan -j $(JOBS)
	ctest --preset tsan -j $(JOBS)

fuzz: deps
	bash scripts/fuzz.sh

# The API reference from the headers' /// comments: build/docs/html/index.html. A public name
# without its comment is a Doxygen warning, and a warning fails (Doxyfile: WARN_AS_ERROR).
docs:
	@bash scripts/install-deps.sh docs
	bash scripts/check-snippets.sh
	bash scripts/check-log-kinds.sh
	mkdir -p build/docs
	doxygen Doxyfile
	@echo "API reference: build/docs/html/index.html"

format:
	$(CLANG_FORMAT) -i $(SOURCES)

format-check:
	$(CLANG_FORMAT) --dry-run -Werror $(SOURCES)

clean:
	rm -rf build
