# The two commands: "make run" and "make test". See README.md.
#
# There is no "go test ./..." from the root: go.work ties the modules together,
# but each module is built, vetted and tested from its own directory.

SYSTEMS := scs-users scs-chat scs-cards
MODULES := shared-events/contracts shared-events $(SYSTEMS) e2e
GO      ?= go

.PHONY: run build test fmt fmt-check vet generate generate-check build-alone go-test race bench screenshots chaos

## run: build the three systems and run them behind a dev front door on :8080
run: build
	@mkdir -p data
	@./bin/devrun

## build: build the three binaries and devrun into ./bin
build:
	@mkdir -p bin
	@for s in $(SYSTEMS); do (cd $$s && $(GO) build -o ../bin/ ./cmd/$$s) || exit 1; done
	@cd e2e && $(GO) build -o ../bin/ ./cmd/devrun

## test: everything CI checks, module by module
test: fmt-check vet generate-check build-alone go-test race chaos

## fmt: format every Go file
fmt:
	@gofmt -w $$(git ls-files --cached --others --exclude-standard -- '*.go')

fmt-check:
	@echo "== gofmt"
	@files=$$(gofmt -l $$(git ls-files --cached --others --exclude-standard -- '*.go')); \
	if [ -n "$$files" ]; then echo "gofmt would change these files (run make fmt):"; echo "$$files"; exit 1; fi

vet:
	@for m in $(MODULES); do echo "== go vet ($$m)"; (cd $$m && $(GO) vet ./...) || exit 1; done

## generate: regenerate the templ views and compose's broker setup script
generate:
	@for s in $(SYSTEMS); do (cd $$s && $(GO) tool templ generate) || exit 1; done
	@cd e2e && $(GO) run ./cmd/brokersetup > ../deploy/rabbitmq/setup.sh

# Generated files are committed; generating again must change nothing. A
# checksum before and after catches a change even in a working tree with
# uncommitted edits; git then catches generated files nobody added.
generate-check:
	@echo "== templ generate"
	@before=$$(find $(SYSTEMS) -name '*_templ.go' -type f | sort | xargs cat | sha256sum); \
	for s in $(SYSTEMS); do (cd $$s && $(GO) tool templ generate >/dev/null 2>&1) || { echo "templ generate failed in $$s"; exit 1; }; done; \
	after=$$(find $(SYSTEMS) -name '*_templ.go' -type f | sort | xargs cat | sha256sum); \
	if [ "$$before" != "$$after" ]; then echo "templ generate changed generated files; commit the result of make generate:"; git status --short -- $(SYSTEMS) | grep '_templ.go'; exit 1; fi; \
	git diff --exit-code --stat -- '*_templ.go' || { echo "generated files differ from the committed ones; commit the result of make generate"; exit 1; }; \
	untracked=$$(git ls-files --others --exclude-standard -- '*_templ.go'); \
	if [ -n "$$untracked" ]; then echo "generated files are not in git (git add them):"; echo "$$untracked"; exit 1; fi

# Each system builds alone, as its Dockerfile does, and so do the contracts,
# which a team may depend on alone.
build-alone:
	@for s in shared-events/contracts $(SYSTEMS); do echo "== GOWORK=off go build ($$s)"; (cd $$s && GOWORK=off $(GO) build ./...) || exit 1; done

# Every module is tested even when an earlier one fails; the failures are listed at the end.
go-test:
	@failed=""; for m in $(MODULES); do echo "== go test ($$m)"; (cd $$m && $(GO) test -count=1 -timeout 20m ./...) || failed="$$failed $$m"; done; \
	if [ -n "$$failed" ]; then echo "go test failed in:$$failed"; exit 1; fi

# The race detector over the packages whose code runs goroutines or is called
# from several at once, by the last element of their import path (so that a
# package moved to another folder stays in): the broker's runner, the consumer
# and the outbox's relay, health, serve, the rate limiter's memory and sqldb;
# chat's live hub, matcher, chat service and pages; cards' terminal (in-flight
# authorisations), ledger (no overspend), jobs and pages; users' key ring and
# password policy. The e2e platform runs the systems as processes, built
# without it. -short skips what
# go-test has just run and the detector would only slow down: 2,000 idle
# websockets, a RabbitMQ node of its own.
RACE_PACKAGES := broker consumer outbox health serve ratelimit sqldb \
	live matching chat web cards terminal ledger jobs signing password

## race: the tests of the packages with goroutines, under the race detector
race:
	@failed=""; for m in $(MODULES); do \
		pkgs=$$(cd $$m && $(GO) list ./... | grep -E '/($(subst $(eval) ,|,$(strip $(RACE_PACKAGES))))$$'); \
		[ -n "$$pkgs" ] || continue; \
		echo "== go test -race ($$m)"; \
		(cd $$m && $(GO) test -race -short -count=1 -timeout 20m $$pkgs) || failed="$$failed $$m"; \
	done; \
	if [ -n "$$failed" ]; then echo "go test -race failed in:$$failed"; exit 1; fi

## bench: the cross-system benchmark
bench:
	cd e2e && $(GO) run ./cmd/bench

## chaos: the platform under faults (broker restart, kill -9 of every system);
## it restarts RabbitMQ, so it runs alone, as the last step of test
chaos:
	@echo "== go test (e2e/chaos)"
	@cd e2e && SCS_CHAOS=1 $(GO) test -count=1 -timeout 15m ./chaos/

## screenshots: docs/screenshots/{users,chat,cards}.png, taken by the platform journey in Chromium
screenshots:
	@mkdir -p docs/screenshots
	cd e2e && SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run '^TestPlatformJourney$$' ./journeys/
