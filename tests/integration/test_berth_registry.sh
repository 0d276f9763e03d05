#!/usr/bin/env bash
# Issue 13: berth login/logout, push and pull against a registry with htpasswd (bcrypt) auth and
# TLS signed by a CA made here: credentials in $DOCKER_CONFIG/config.json as docker keeps them,
# the CA from --tlscacert or a certs.d directory; push, rmi, pull gives back the same digest;
# without login (or after logout) pull and push are refused with a clear error.
source "$BERTH_SRC/tests/integration/lib/harness.sh"
require_root
require_cmd ctr runc python3 openssl htpasswd docker-registry curl
start_registry
push_busybox_image busybox:reg
PLAIN="$REGISTRY/busybox:reg"

log "a second registry: TLS from our own CA, htpasswd auth"
mkdir -p "$T/tls" "$T/sreg"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=berth test CA" \
  -keyout "$T/tls/ca.key" -out "$T/tls/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$T/tls/server.key" -out "$T/tls/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >"$T/tls/ext.cnf"
openssl x509 -req -in "$T/tls/server.csr" -CA "$T/tls/ca.crt" -CAkey "$T/tls/ca.key" -CAcreateserial -days 2 \
  -extfile "$T/tls/ext.cnf" -out "$T/tls/server.crt" 2>/dev/null
htpasswd -Bbc "$T/htpasswd" alice s3cret 2>/dev/null
sport=$(free_port)
cat >"$T/sreg.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $T/sreg
auth:
  htpasswd:
    realm: berth-test
    path: $T/htpasswd
http:
  addr: 127.0.0.1:$sport
  tls:
    certificate: $T/tls/server.crt
    key: $T/tls/server.key
YML
docker-registry serve "$T/sreg.yml" >>"$T/sreg.log" 2>&1 &
HARNESS_PIDS+=($!)
SREG="127.0.0.1:$sport"
wait_for 30 curl -sS --cacert "$T/tls/ca.crt" -o /dev/null "https://$SREG/v2/" || fail "TLS registry did not start"
assert_eq "$(curl -sS --cacert "$T/tls/ca.crt" -o /dev/null -w '%{http_code}' "https://$SREG/v2/")" "401" "registry requires auth"

start_berthd
export BERTH_ADDRESS="$SOCK" BERTH_NAMESPACE="$CONTAINERD_NAMESPACE"
export BERTH_FIFO_DIR="$T/fifo" BERTH_LOG_DIR="$T/logs"
export DOCKER_CONFIG="$T/docker-config"
# No certs.d of the host: only what this test points at.
export BERTH_CERTS_DIR="$T/no-certs.d"
unset BERTH_REGISTRY_USER BERTH_REGISTRY_PASSWORD
berth() { "$BERTH_BIN/berth" "$@"; }

berth pull --plain-http "$PLAIN" >/dev/null
IMG="$SREG/test/busybox:v1"
berth tag "$PLAIN" "$IMG"
want=$(bctr images ls | awk -v n="$IMG" '$1==n {print $3}')
[[ $want == sha256:* ]] || fail "tagged image has no digest: [$want]"

log "push before login: refused, says to log in"
rc=0; out=$(berth push --tlscacert "$T/tls/ca.crt" "$IMG" 2>&1) || rc=$?
[[ $rc -ne 0 ]] || fail "push without login succeeded: $out"
assert_contains "$out" "berth login $SREG" "push error names the next step"

log "login: a wrong password is refused and nothing is stored"
rc=0; out=$(echo wrong | berth login -u alice --password-stdin --tlscacert "$T/tls/ca.crt" "$SREG" 2>&1) || rc=$?
[[ $rc -ne 0 ]] || fail "login with a wrong password succeeded"
assert_contains "$out" "unauthorized" "wrong password error"
[[ ! -e "$DOCKER_CONFIG/config.json" ]] || assert_not_contains "$(cat "$DOCKER_CONFIG/config.json")" "$SREG" "no entry after a failed login"

log "login without the CA: a TLS error that says where the CA goes"
rc=0; out=$(echo s3cret | berth login -u alice --password-stdin "$SREG" 2>&1) || rc=$?
[[ $rc -ne 0 ]] || fail "login trusted an unknown CA"
assert_contains "$out" "certs.d/$SREG/ca.crt" "TLS error hint"

log "login with --tlscacert"
echo '{"auths":{},"detachKeys":"ctrl-e,e"}' >"$T/pre.json"
mkdir -p "$DOCKER_CONFIG" && cp "$T/pre.json" "$DOCKER_CONFIG/config.json"
out=$(echo s3cret | berth login -u alice --password-stdin --tlscacert "$T/tls/ca.crt" "$SREG" 2>/dev/null)
assert_eq "$out" "Login Succeeded" "login output"
auth=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["auths"][sys.argv[2]]["auth"])' "$DOCKER_CONFIG/config.json" "$SREG")
assert_eq "$(echo "$auth" | base64 -d)" "alice:s3cret" "config.json auth is base64(user:password)"
assert_contains "$(cat "$DOCKER_CONFIG/config.json")" '"detachKeys"' "other keys of config.json are kept"
assert_eq "$(stat -c %a "$DOCKER_CONFIG/config.json")" "600" "config.json mode"

log "push with the CA from a certs.d directory"
mkdir -p "$T/certs.d/$SREG" && cp "$T/tls/ca.crt" "$T/certs.d/$SREG/ca.crt"
export BERTH_CERTS_DIR="$T/certs.d"
out=$(berth push "$IMG")
echo "$out" >&2
assert_contains "$out" "The push refers to repository [$SREG/test/busybox]" "push header"
assert_contains "$out" "Pushed" "layers pushed"
assert_contains "$out" "v1: digest: $want size:" "push digest line"
out=$(berth push "$IMG")
assert_contains "$out" "Layer already exists" "second push finds the blobs"
# The registry serves the manifest under the tag with that digest.
got=$(curl -sS --cacert "$T/tls/ca.crt" -u alice:s3cret -o /dev/null -D - \
  -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json' \
  "https://$SREG/v2/test/busybox/manifests/v1" | tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest" {print $2}')
assert_eq "$got" "$want" "registry's digest for the tag"

log "rmi, then pull back: same digest, and it runs"
berth rmi "$IMG" >/dev/null
berth rmi "$PLAIN" >/dev/null
[[ -z $(bctr images ls -q | grep -F "$IMG" || true) ]] || fail "rmi left the image"
out=$(berth pull "$IMG")
assert_contains "$out" "done $IMG $want" "pulled back the same digest"
assert_eq "$(berth run --rm "$IMG" echo pulled-back)" "pulled-back" "the pulled image runs"

log "logout: the entry goes, and a pull is refused with the next step"
assert_eq "$(berth logout "$SREG")" "Removing login credentials for $SREG" "logout output"
assert_not_contains "$(cat "$DOCKER_CONFIG/config.json")" "$SREG" "entry removed"
assert_eq "$(berth logout "$SREG")" "Not logged in to $SREG" "second logout"
berth rmi "$IMG" >/dev/null
rc=0; out=$(berth pull "$IMG" 2>&1) || rc=$?
[[ $rc -ne 0 ]] || fail "pull without credentials succeeded"
assert_contains "$out" "denied" "pull refused"
assert_contains "$out" "berth login $SREG" "pull error names the next step"

log "credentials from the environment win over config.json"
out=$(BERTH_REGISTRY_USER=alice BERTH_REGISTRY_PASSWORD=s3cret berth pull "$IMG")
assert_contains "$out" "done $IMG $want" "pull with env credentials"
log "ok"
