# camera-service. `make run` and `make test` install what is missing first.
FUZZ_SECONDS ?= 10
# make install: where (see scripts/install.sh; DESTDIR stages for a package).
PREFIX ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
STATEDIR ?= /var/lib/camera-service
INSTALL_VARS = PREFIX="$(PREFIX)" DESTDIR="$(DESTDIR)" SYSCONFDIR="$(SYSCONFDIR)" STATEDIR="$(STATEDIR)"

.PHONY: run test build release deps test-deps unit abi integration fake-v4l2 fuzz bench install uninstall clean

run: release
	scripts/run.sh

test: test-deps build unit abi integration fake-v4l2 fuzz

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

# PluginAPI's ABI against the committed baseline (scripts/check-abi.sh --update refreshes it).
abi: build
	scripts/check-abi.sh

# One run per directory: each has its own conftest.py.
integration: build
	.venv/bin/python -m pytest -q Tests/integration
	.venv/bin/python -m pytest -q Tests/mediamtx
	.venv/bin/python -m pytest -q Tests/browser

fake-v4l2:
	FAKE_V4L2_REQUIRE_PEERS=1 $(MAKE) -C Tests/FakeV4L2 check

fuzz: build
	Tests/Fuzz/run.sh $(FUZZ_SECONDS)

bench: release
	benchmarks/compare.sh

install: release
	$(INSTALL_VARS) scripts/install.sh install

uninstall:
	$(INSTALL_VARS) scripts/install.sh uninstall

clean:
	rm -rf .build Examples/HelloPlugin/.build Tests/Fuzz/bin
