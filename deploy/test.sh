#!/usr/bin/env bash
# deploy/test.sh — the engine behind `make test`: runs vetfield's tests with the race detector
# against a real, throw-away MinIO server on loopback.
#
# Usage:
#   bash deploy/test.sh [go test flags and packages]
#
# Every argument goes to `go test -race -count=1`. Packages are relative patterns (./..., ./media/...):
# if no argument starts with "./", ./... is appended, so flags alone test everything.
#   bash deploy/test.sh                                  # all packages       (make test)
#   bash deploy/test.sh -v                               # all, verbose       (make test ARGS=-v)
#   bash deploy/test.sh -run TestS3 ./media/...          # one test, one package
#   bash deploy/test.sh -run x -bench . -benchtime 20x ./media/
#
# Needs only Go, gcc (for -race), git, curl and bash. The first run builds the pinned MinIO from
# source into a cache outside the repository — a few minutes — and later runs reuse the binary.
# Chromium (browser tests) and poppler-utils (pdftotext, pdftoppm, pdfinfo: the PDF tests) are
# installed from Debian's packages with apt-get when missing.
# The MinIO server gets a fresh data directory and random keys, listens on free loopback ports, and
# is stopped (its directory removed) when the script exits for any reason, Ctrl-C included.
#
# Environment:
#   VETFIELD_CACHE   where MinIO is installed; default ${XDG_CACHE_HOME:-$HOME/.cache}/vetfield
# Exported to the tests (read by media/miniotest):
#   VETFIELD_TEST_S3_ENDPOINT, VETFIELD_TEST_S3_ACCESS_KEY, VETFIELD_TEST_S3_SECRET_KEY
#
# The exit status is go test's.
set -euo pipefail

# MinIO is AGPL: we run it as a separate process and never import it. Bumping the version installs
# the new one next to the old, since the install directory is named by version.
readonly MINIO_MODULE=github.com/minio/minio
readonly MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${VETFIELD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vetfield}
minio_dir=$cache/minio-$MINIO_VERSION/bin
minio_bin=$minio_dir/minio

tmp=""         # throw-away directory: MinIO's data and log
install_tmp="" # GOBIN of an install in progress
minio_pid=""

log() { printf 'test.sh: %s\n' "$*" >&2; }
die() {
	log "$*"
	exit 1
}

cleanup() {
	local status=$?
	stop_minio
	if [[ -n $tmp ]]; then rm -rf "$tmp"; fi
	if [[ -n $install_tmp ]]; then rm -rf "$install_tmp"; fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

stop_minio() {
	[[ -n $minio_pid ]] || return 0
	kill "$minio_pid" 2>/dev/null || true
	local i
	for ((i = 0; i < 100; i++)); do # up to 10 s for a clean shutdown
		kill -0 "$minio_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$minio_pid" 2>/dev/null || true
	wait "$minio_pid" 2>/dev/null || true
	minio_pid=""
}

check_tools() {
	local tool
	for tool in go gcc curl; do
		command -v "$tool" >/dev/null || die "$tool is required (see the README)"
	done
}

ensure_minio() {
	[[ -x $minio_bin ]] && return 0
	log "installing MinIO $MINIO_VERSION into $minio_dir"
	log "a cold build takes a few minutes; later runs reuse the binary"
	mkdir -p "$minio_dir"
	# Build into a temporary GOBIN and move the binary into place, so that an interrupted build
	# never leaves a file the next run would trust. GOFLAGS is cleared because flags meant for
	# vetfield (e.g. -mod) do not apply to installing another module.
	install_tmp=$(mktemp -d "$minio_dir/.install.XXXXXX")
	GOBIN=$install_tmp GOFLAGS='' go install "$MINIO_MODULE@$MINIO_VERSION" ||
		die "installing MinIO failed (needs network access to the Go module proxy)"
	mv "$install_tmp/minio" "$minio_bin"
	rm -rf "$install_tmp"
	install_tmp=""
	log "installed $minio_bin"
}

random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

# wait_live PORT: 0 when MinIO answers, 1 when it exited, 2 after 60 s without an answer.
wait_live() {
	local deadline=$((SECONDS + 60))
	while ((SECONDS < deadline)); do
		kill -0 "$minio_pid" 2>/dev/null || return 1
		if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$1/minio/health/live" 2>/dev/null; then
			return 0
		fi
		sleep 0.2
	done
	return 2
}

show_minio_log() {
	log "MinIO's log:"
	sed 's/^/    /' "$tmp/minio.log" >&2 || true
}

# start_minio sets endpoint. The ports come free from the kernel, but another process may take one
# before MinIO binds it; MinIO then exits at once and we try new ports.
start_minio() {
	local attempt ports status
	for attempt in 1 2 3; do
		mapfile -t ports < <(go run ./deploy/freeport 2)
		[[ ${#ports[@]} -eq 2 ]] || die "could not find free ports"
		mkdir -p "$tmp/data"
		MINIO_ROOT_USER=$access_key MINIO_ROOT_PASSWORD=$secret_key MINIO_UPDATE=off \
			"$minio_bin" server "$tmp/data" \
			--address "127.0.0.1:${ports[0]}" --console-address "127.0.0.1:${ports[1]}" --quiet \
			>"$tmp/minio.log" 2>&1 &
		minio_pid=$!
		status=0
		wait_live "${ports[0]}" || status=$?
		if ((status == 0)); then
			endpoint=127.0.0.1:${ports[0]}
			return 0
		fi
		show_minio_log
		stop_minio
		if ((status == 2)); then
			die "MinIO did not answer on 127.0.0.1:${ports[0]} within 60 s"
		fi
		log "MinIO exited at start (attempt $attempt of 3)"
	done
	die "MinIO failed to start"
}

# ensure_chromium installs Chromium from Debian's packages for the browser tests (the public
# verification page is loaded in real headless Chromium).
ensure_chromium() {
	[[ -x /usr/bin/chromium ]] && return 0
	local sudo=()
	if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
	log "installing chromium from Debian's packages"
	"${sudo[@]}" apt-get update -qq
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}

# ensure_poppler installs poppler-utils and zbar-tools from Debian's packages for the paper tests:
# the PDFs are read back with pdftotext and pdfinfo and rasterised with pdftoppm to scan their QR
# codes, and zbarimg reads a code the Go decoder misses.
ensure_poppler() {
	command -v pdftotext >/dev/null && command -v pdftoppm >/dev/null && command -v pdfinfo >/dev/null &&
		command -v zbarimg >/dev/null && return 0
	local sudo=()
	if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
	log "installing poppler-utils and zbar-tools from Debian's packages"
	"${sudo[@]}" apt-get update -qq
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils zbar-tools >/dev/null
}

main() {
	cd "$repo"
	check_tools
	ensure_chromium
	ensure_poppler
	ensure_minio

	tmp=$(mktemp -d "${TMPDIR:-/tmp}/vetfield-test.XXXXXX")
	access_key=vetfield$(random_hex 6)
	secret_key=$(random_hex 20)
	start_minio
	log "MinIO on $endpoint"

	export VETFIELD_TEST_S3_ENDPOINT=$endpoint
	export VETFIELD_TEST_S3_ACCESS_KEY=$access_key
	export VETFIELD_TEST_S3_SECRET_KEY=$secret_key

	local args=("$@") arg have_pkgs=false
	for arg in "$@"; do
		[[ $arg == ./* ]] && have_pkgs=true
	done
	$have_pkgs || args+=(./...)

	# The api package runs a few minutes under the race detector on two idle cores; the timeout
	# leaves room for a busy machine rather than killing a slow but passing run at go's 10 minutes.
	log "go test -race -count=1 -timeout 30m ${args[*]}"
	local status=0
	go test -race -count=1 -timeout 30m "${args[@]}" || status=$?
	exit "$status"
}

main "$@"
