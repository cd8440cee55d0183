# The two commands of the README, and the ones CI and developers use beside them.
#   make run    install what is missing, build Release, run the flagship example
#   make test   install what is missing, build Release, run every test
#   make bench  build the benchmarks and compare them with Erlang/OTP and CAF
#   make test-clang   build with clang 16 (-O2) and run every test
#   make asan / make tsan   the tests under the sanitizers
#   make format / make format-check
JOBS ?= $(shell nproc)
CLANG_FORMAT ?= clang-format-16
SOURCES = $(shell git ls-files '*.hpp' '*.cpp' 2>/dev/null)

.PHONY: deps release run test test-clang bench asan tsan fuzz format format-check clean

deps:
	@bash scripts/install-deps.sh

release: deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)

run: release
	./build/release/examples/flagship

test: release
	ctest --preset release -j $(JOBS)

test-clang: deps
	cmake --preset clang >/dev/null
	cmake --build --preset clang -j $(JOBS)
	ctest --preset clang -j $(JOBS)

bench: release
	bash scripts/bench.sh

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

format:
	$(CLANG_FORMAT) -i $(SOURCES)

format-check:
	$(CLANG_FORMAT) --dry-run -Werror $(SOURCES)

clean:
	rm -rf build
