# Two commands from a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
export XDG_RUNTIME_DIR ?= /tmp

APT_PACKAGES := libvulkan-dev mesa-vulkan-drivers vulkan-validationlayers vulkan-tools zlib1g-dev
## Only the memory map's browser test needs it; where it cannot be installed that test says it was skipped.
OPTIONAL_APT_PACKAGES := chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SWIFT_FLAGS ?=

.PHONY: deps build demo docs test test-docs test-unit test-info test-tsan test-asan test-lsan test-long bench vma-side-by-side clean shaders

## deps: installs the Vulkan loader, headers, lavapipe, the validation layer and vulkaninfo when missing;
## zlib's headers and Chromium too, for the memory map's tests (a PNG screenshot in a headless browser).
deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@for p in $(OPTIONAL_APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 && continue; \
	  echo "Installing: $$p"; \
	  { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$p >/dev/null; } \
	    || echo "$$p could not be installed: the tests that need it will say they were skipped"; \
	done

build: deps
	swift build $(SWIFT_FLAGS) --product vkmem

demo: build
	swift run $(SWIFT_FLAGS) vkmem demo

## test: every test with the Khronos validation layer on (a validation message fails the test
## that caused it), then the thread-safety tests again under the thread sanitizer and the
## allocator's own tests under the address sanitizer.
test: deps test-unit test-docs test-info test-tsan test-asan

## docs: the DocC catalogs of VulkanMemory and Suballocation, with every documentation warning
## (a broken symbol link, an undocumented parameter) an error.
DOCC := swift package $(SWIFT_FLAGS) --disable-sandbox generate-documentation --warnings-as-errors
docs:
	$(DOCC) --target VulkanMemory
	$(DOCC) --target Suballocation

## test-docs: every Swift block of the README and the articles is a compiled sample of
## Tests/DocumentationSampleTests (which test-unit runs), and the catalogs build without a warning.
test-docs:
	python3 scripts/doc_samples.py --check
	@$(MAKE) --no-print-directory docs

test-unit:
	VKMEM_VALIDATION=require swift test $(SWIFT_FLAGS)

## test-info: `vkmem info --json` must agree with vulkaninfo on heaps, types and limits;
## the demo, `vkmem check` and `vkmem replay` of the shared recordings must pass under the
## validation layer.
test-info:
	swift build $(SWIFT_FLAGS) --product vkmem
	python3 scripts/compare_vulkaninfo.py "$$(swift build $(SWIFT_FLAGS) --show-bin-path)/vkmem"
	"$$(swift build $(SWIFT_FLAGS) --show-bin-path)/vkmem" demo --validation > /dev/null
	"$$(swift build $(SWIFT_FLAGS) --show-bin-path)/vkmem" check --validation
	@# The memory map drawn by headless Chromium, alone: beside the parallel suite it starved.
	VKMEM_BROWSER_TEST=1 VKMEM_VALIDATION=require swift test $(SWIFT_FLAGS) --skip-build --filter 'MemoryMapBrowser'
	@# Every statistics format of the stats scene, and the demo's memory map, with no validation message.
	for format in vma-json svg html; do \
	  "$$(swift build $(SWIFT_FLAGS) --show-bin-path)/vkmem" stats --validation --format $$format > /dev/null || exit 1; done
	"$$(swift build $(SWIFT_FLAGS) --show-bin-path)/vkmem" demo --validation --map "$$(mktemp -d)/map.html" > /dev/null
	@# The example: mesh, texture and compute round trip, checked value by value, with no
	@# validation message, copying directly where the host can map memory and through staging.
	swift build $(SWIFT_FLAGS) --product vkmem-example
	"$$(swift build $(SWIFT_FLAGS) --show-bin-path)/vkmem-example" --validation
	"$$(swift build $(SWIFT_FLAGS) --show-bin-path)/vkmem-example" --validation --always-stage
	python3 scripts/spirv_to_swift.py --check $(SHADER_DIR)/Shaders/square.comp.spv squareShaderSPIRV $(SHADER_DIR)/SquareShader+SPIRV.swift
	python3 scripts/spirv_to_swift.py --check Tests/VulkanMemoryTests/Shaders/slices.comp.spv slicesShaderSPIRV Tests/VulkanMemoryTests/SlicesShader+SPIRV.swift
	@# W3's harness (allocator, raw and placed-raw calls, defragmentation) is valid Vulkan usage.
	"$$(swift build $(SWIFT_FLAGS) --show-bin-path)/vkmem" bench resources --validation --steps 2000 --runs 1 > /dev/null
	@# Incremental moves on W3 in 1 MiB pages: every live buffer read back as written (it
	@# exits non-zero on a mismatch), no validation message.
	"$$(swift build $(SWIFT_FLAGS) --show-bin-path)/vkmem" bench resources --defragment incremental --validation \
	  --steps 5000 --warm-up 1000 --page-mib 1 --runs 1 > /dev/null
	@# Both VMA recordings beside the project replay with no failed call and no validation message.
	@if ls ../shared/traces/*.csv > /dev/null 2>&1; then \
	  for trace in ../shared/traces/*.csv; do \
	    echo "vkmem replay --validation $$trace"; \
	    "$$(swift build $(SWIFT_FLAGS) --show-bin-path)/vkmem" replay --validation "$$trace" > /dev/null || exit 1; \
	  done; \
	else echo "skipped: vkmem replay of the VMA recordings (../shared/traces is not beside the project)"; fi
	@# Progress on a terminal (a pseudo-terminal), none piped or with --json, stdout unchanged.
	python3 scripts/check_progress.py "$$(swift build $(SWIFT_FLAGS) --show-bin-path)/vkmem"
	python3 scripts/check_types_json.py "$$(swift build $(SWIFT_FLAGS) --show-bin-path)/vkmem" Tests/VulkanMemoryTests/Fixtures/gpu-profiles.json
	@# An unknown device is a clear error with a non-zero exit, not a crash.
	@out=$$("$$(swift build $(SWIFT_FLAGS) --show-bin-path)/vkmem" info --device no-such-gpu 2>&1); rc=$$?; \
	  if [ $$rc -ne 1 ] || ! echo "$$out" | grep -q "No Vulkan device matches 'no-such-gpu'"; then \
	    echo "vkmem info --device no-such-gpu: exit $$rc, output: $$out"; exit 1; fi; \
	  echo "vkmem info --device no-such-gpu: exit 1 with \"$$out\""
	@# VKMEM_VULKAN_LIBRARY names the one loader tried: a wrong path is a clear error, the real one works.
	@out=$$(VKMEM_VULKAN_LIBRARY=/nonexistent/libvulkan.so.1 "$$(swift build $(SWIFT_FLAGS) --show-bin-path)/vkmem" info 2>&1); rc=$$?; \
	  if [ $$rc -ne 1 ] || ! echo "$$out" | grep -q "/nonexistent/libvulkan.so.1 could not be loaded"; then \
	    echo "VKMEM_VULKAN_LIBRARY=/nonexistent/libvulkan.so.1 vkmem info: exit $$rc, output: $$out"; exit 1; fi; \
	  echo "VKMEM_VULKAN_LIBRARY=/nonexistent/libvulkan.so.1 vkmem info: exit 1 naming the library"
	VKMEM_VULKAN_LIBRARY=libvulkan.so.1 "$$(swift build $(SWIFT_FLAGS) --show-bin-path)/vkmem" info > /dev/null

## The sanitizer builds keep line tables only (-gline-tables-only): their reports still name
## file and line, and each build takes about 15% less time (136 s against 160 s for the
## thread sanitizer's on the 2-core CI-kind VM) than with full debug information.
SANITIZER_FLAGS := -Xswiftc -gline-tables-only

test-tsan:
	VKMEM_VALIDATION=require swift test $(SWIFT_FLAGS) $(SANITIZER_FLAGS) --sanitize=thread --scratch-path .build-tsan --filter 'Thread|DefragmentationRace|MovingDefragmentationLifetime'

## test-asan: the request pipeline, binds, pools, defragmentation, observers and one seed of
## the random allocator model under the address sanitizer (a subset: the whole suite twice
## would pass the 15-minute budget on 2 cores), for memory errors; leaks are test-lsan's.
ASAN_FILTER := RequestPipeline|BufferArena|Observer|BindToAllocation|PoolTests|Defragmentation|Reserve|ProfiledDeviceTests|oneSeed|ViewLifetime|MisuseRegression
## Serially (28 s against 18 s): in parallel, one run in about seven crashed inside the
## Khronos validation layer (1.3.239, uninstrumented) in vkCreateBuffer while other tests
## made and destroyed devices, with no error reported in this package's code; the thread
## sanitizer's run is the one that looks for races.
test-asan:
	ASAN_OPTIONS=detect_leaks=0 VKMEM_RANDOM_SEED=7 VKMEM_VALIDATION=require swift test $(SWIFT_FLAGS) $(SANITIZER_FLAGS) --sanitize=address --scratch-path .build-asan --no-parallel --filter '$(ASAN_FILTER)'
	@$(MAKE) --no-print-directory test-lsan

## test-lsan: LeakSanitizer over the paths that make and free Vulkan objects, with
## scripts/lsan.supp naming the loader's, driver's and layer's own leaks, so any leak of
## ours fails the run; then the canary test leaks on purpose and the run must fail.
## Full unwinding (fast_unwind_on_malloc=0): the loader has no frame pointers, and with the
## fast unwinder its leaks carry no frame a suppression could match.
LSAN_FILTER := RequestPipeline|BindToAllocation|ViewLifetime|MisuseRegression|Observer
LSAN_ENV := ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0 LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan.supp
test-lsan:
	$(LSAN_ENV) VKMEM_VALIDATION=require swift test $(SWIFT_FLAGS) $(SANITIZER_FLAGS) --sanitize=address --scratch-path .build-asan --filter '$(LSAN_FILTER)'
	@out=$$($(LSAN_ENV) VKMEM_LEAK_CANARY=1 swift test $(SWIFT_FLAGS) $(SANITIZER_FLAGS) --sanitize=address --scratch-path .build-asan --filter 'LeakCanary' 2>&1); rc=$$?; \
	  if [ $$rc -eq 0 ] || ! echo "$$out" | grep -q "LeakSanitizer: detected memory leaks"; then \
	    echo "test-lsan: the deliberate leak was not caught (exit $$rc)"; echo "$$out" | tail -20; exit 1; fi; \
	  echo "test-lsan: the deliberate leak was caught (exit $$rc, LeakSanitizer: detected memory leaks)"

## test-long: the load test, the fuzzers and the seeded random suites at length (not part
## of `make test`): 200,000 operations a thread, 100,000 mutated profiles, 20,000 mutated
## recordings (each one read, every 16th replayed under the validation layer), and every
## seed of the random suites, of which `make test` runs the first half (RandomCoverage.swift).
test-long: deps
	VKMEM_LOAD_OPERATIONS=200000 VKMEM_FUZZ_ITERATIONS=100000 VKMEM_REPLAY_FUZZ_ITERATIONS=20000 VKMEM_RANDOM_CASES=all VKMEM_VALIDATION=require swift test $(SWIFT_FLAGS) --filter 'eightThreadsOfMixedOperations|Fuzz|AllocatorRandomTests|RandomOperationTests|DeferredFreeDifferentialTests'

## shaders: compiles the example's GLSL to SPIR-V with glslangValidator (installing Debian's
## glslang-tools when missing) and regenerates the Swift words the example embeds. Both are
## committed, so building never needs the tool.
SHADER_DIR := Examples/ComputeRoundTrip
shaders:
	@dpkg -s glslang-tools >/dev/null 2>&1 || { echo "Installing: glslang-tools"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends glslang-tools >/dev/null; }
	glslangValidator -V $(SHADER_DIR)/Shaders/square.comp -o $(SHADER_DIR)/Shaders/square.comp.spv
	python3 scripts/spirv_to_swift.py $(SHADER_DIR)/Shaders/square.comp.spv squareShaderSPIRV $(SHADER_DIR)/SquareShader+SPIRV.swift
	glslangValidator -V Tests/VulkanMemoryTests/Shaders/slices.comp -o Tests/VulkanMemoryTests/Shaders/slices.comp.spv
	python3 scripts/spirv_to_swift.py Tests/VulkanMemoryTests/Shaders/slices.comp.spv slicesShaderSPIRV Tests/VulkanMemoryTests/SlicesShader+SPIRV.swift

bench: build
	swift run -c release vkmem bench virtual
	swift run -c release vkmem bench resources

## vma-side-by-side: VMA on the same workloads as `vkmem bench` (W1, W2, W4, W5, W3), for rounds that
## alternate the two programs (Tools/VMASideBySide/README.md). VMA's header is fetched into .build/vma,
## never committed; the program is built statically enough to carry to the GPU machine.
vma-side-by-side: deps
	bash Tools/VMASideBySide/fetch-vma.sh
	g++ -std=c++17 -O2 -DNDEBUG -I.build/vma Tools/VMASideBySide/vma_side_by_side.cpp \
	  -o .build/vma/vma-side-by-side -ldl -static-libstdc++ -static-libgcc

clean:
	rm -rf .build .build-tsan .build-asan
