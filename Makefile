# Tessera — the two commands the README promises, plus helpers.
#   make demo   installs deps, builds release, synthesises a shoot, runs the farm on it
#   make test   installs deps, checks the debug build is warning-free, runs the whole suite (release)
SWIFT ?= swift
DEMO  ?= demo

.PHONY: deps build demo test clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build -c release --product tessera

demo: build
	rm -rf $(DEMO)
	.build/release/tessera synth $(DEMO)/shoot --frames 12 --size 2048x1536 --truth $(DEMO)/truth
	.build/release/tessera run $(DEMO)/shoot --out $(DEMO)/out --workers 2 --format jpeg
	@echo "outputs: $$(pwd)/$(DEMO)/out   ground truth: $$(pwd)/$(DEMO)/truth"

test: deps
	$(SWIFT) build -Xswiftc -warnings-as-errors
	$(SWIFT) build -c release -Xswiftc -warnings-as-errors --build-tests
	$(SWIFT) test -c release -Xswiftc -warnings-as-errors --skip-build

clean:
	rm -rf .build $(DEMO)
