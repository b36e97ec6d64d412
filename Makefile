# camera-service. `make run` and `make test` install what is missing first.
FUZZ_SECONDS ?= 10

.PHONY: run test build release deps test-deps unit integration fuzz bench clean

run: release
	scripts/run.sh

test: test-deps build unit integration fuzz

deps:
	scripts/install-deps.sh run

test-deps:
	scripts/install-deps.sh test

build:
	swift build

release: deps
	swift build -c release

unit: build
	swift test

integration: build
	.venv/bin/python -m pytest -q Tests/integration

fuzz: build
	Tests/Fuzz/run.sh $(FUZZ_SECONDS)

bench: release
	benchmarks/compare.sh

clean:
	rm -rf .build Examples/HelloPlugin/.build Tests/Fuzz/bin
