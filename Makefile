# The two commands of the README: `make run` and `make test`.
.PHONY: run test lint fuzz

run:
	go run ./cmd/vetfield

# Installs what the tests need (a pinned MinIO server), starts it on a free loopback port, runs
# every test with the race detector, and stops MinIO even when tests fail. ARGS replaces the
# package list, e.g. make test ARGS="-run TestLogin ./api/".
test:
	bash deploy/test.sh $(ARGS)

lint:
	gofmt -l . | (! grep .)
	go vet ./...

# A short fuzzing pass over the parsers.
fuzz:
	go test -run x -fuzz FuzzParseIIN -fuzztime 30s ./domain/
