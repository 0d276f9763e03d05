#!/usr/bin/env bash
# Issue 9, runtime options and user namespaces, on our shim and on containerd's runc-v2 shim (the
# control), each driven by the stock ctr as runtime io.containerd.runc.v2 (the only name for which
# ctr sends runc Options): berthd runs once with each shim behind that name (start_berthd_shim).
#   - Options.Root (--runc-root DIR): the container's runc state is under DIR/<namespace>, not under
#     the default root, and kill/delete reach it there.
#   - Options.BinaryName (--runc-binary): crun runs the container (its state under --runc-root), and
#     the lifecycle (exec, ps, pause/resume, kill, delete) works through it. Where crun cannot run
#     containers on this host (cgroup v1 with a controller left on the v2 hierarchy: "hybrid mode"),
#     both shims must report crun's own error instead. A BinaryName that does not exist fails with
#     an error naming it.
#   - User namespaces (--uidmap/--gidmap, which also set IoUid/IoGid): id, uid_map, gid_map and
#     the stdio owner inside, with a writable and with a read-only rootfs.
#   - Our shim only (the control refuses them at start): the legacy options type
#     containerd.linux.runc.CreateOptions, which ctr sends for --uidmap under any other runtime name.
source "$BERTH_SRC/tests/integration/lib/harness.sh"
source "$BERTH_SRC/tests/integration/lib/shim_matrix.sh"
require_root
require_cmd ctr runc crun
[[ -x $CONTROL_SHIM ]] || skip "needs $CONTROL_SHIM"
start_registry
push_busybox_image busybox:opts
IMG="$REGISTRY/busybox:opts"
NS=$CONTAINERD_NAMESPACE
RT=io.containerd.runc.v2
MAP=(--uidmap 0:100000:65536 --gidmap 0:100000:65536)

# crun_probe: crun's answer for a trivial container on this host ("" when it runs containers).
crun_probe() {
  local b="$T/crun-probe"
  mkdir -p "$b/rootfs/bin"
  cp "$(readlink -f /usr/bin/busybox)" "$b/rootfs/bin/busybox"
  ln -sf busybox "$b/rootfs/bin/true"
  (cd "$b" && crun spec >/dev/null && sed -i 's/"terminal": true/"terminal": false/; s/"sh"/"true"/' config.json)
  local out
  if out=$(timeout 30 crun --root "$T/crun-probe-root" run --bundle "$b" "probe$$" </dev/null 2>&1); then
    echo ""
  else
    echo "${out:-crun failed}"
  fi
  crun --root "$T/crun-probe-root" delete -f "probe$$" >/dev/null 2>&1 || true
}
CRUN_ERR=$(crun_probe)
[[ -n "$CRUN_ERR" ]] && log "crun cannot run containers here: $CRUN_ERR"

# lifecycle ID RUN_ARGS...: run -d sleep with RUN_ARGS, then exec, ps, pause/resume, metrics, kill, delete.
lifecycle() {
  local id=$1 w=$2
  shift 2
  local out rc
  out=$(bctr_t 60 run -d --runtime "$RT" "$@" "$IMG" "$id" sleep 1000 2>&1) || {
    check_bad "[$w] $id: run -d failed: $out"
    bctr containers rm "$id" >/dev/null 2>&1
    return 1
  }
  wait_status "$id" RUNNING && check_ok "[$w] $id RUNNING" || check_bad "[$w] $id never RUNNING"
  rc=0
  out=$(bctr_t 30 tasks exec --exec-id e1 "$id" sh -c 'echo from-exec; exit 5' 2>&1) || rc=$?
  check_eq "$out" "from-exec" "[$w] $id exec output"
  check_eq "$rc" 5 "[$w] $id exec exit status"
  bctr_t 30 tasks exec -d --exec-id e2 "$id" sleep 500
  out=$(bctr tasks ps "$id")
  check_eq "$(grep -c '^[0-9]' <<<"$out")" 2 "[$w] $id ps lists init and exec"
  check_has "$out" "e2" "[$w] $id ps shows the exec id"
  bctr tasks pause "$id" && wait_status "$id" PAUSED && check_ok "[$w] $id paused" || check_bad "[$w] $id pause"
  bctr tasks resume "$id" && wait_status "$id" RUNNING && check_ok "[$w] $id resumed" || check_bad "[$w] $id resume"
  check_has "$(bctr tasks metrics "$id" 2>&1)" "memory" "[$w] $id metrics"
  bctr tasks kill -s SIGKILL "$id"
  wait_status "$id" STOPPED && check_ok "[$w] $id stopped by SIGKILL" || check_bad "[$w] $id not stopped by SIGKILL"
  check_has "$(bctr tasks delete "$id" 2>&1)" "137" "[$w] $id delete reports 137"
  bctr containers rm "$id" >/dev/null 2>&1
  return 0
}

for which in berth runc; do
  start_berthd_shim "$which"
  [[ $which == berth ]] && bctr_pull "$IMG"
  want_exe=$(shim_binary_of "$which")

  log "[$which] premise: runtime $RT runs $want_exe"
  bctr_t 60 run -d --runtime "$RT" "$IMG" "pre-$which" sleep 1000
  exe=$(shim_exe_of "pre-$which") || exe="(no shim found)"
  [[ "$exe" == "$want_exe" ]] || fail "berthd ran [$exe] for $RT, expected [$want_exe]: the test's PATH premise broke"
  bctr tasks kill -s SIGKILL "pre-$which"
  wait_status "pre-$which" STOPPED
  bctr tasks delete "pre-$which" >/dev/null
  bctr containers rm "pre-$which"

  log "[$which] Options.Root: --runc-root"
  rr="$T/runc-root-$which"
  id="root-$which"
  bctr_t 60 run -d --runtime "$RT" --runc-root "$rr" "$IMG" "$id" sleep 1000 ||
    check_bad "[$which] run -d --runc-root failed"
  check_has "$(runc --root "$rr/$NS" list -q 2>&1)" "$id" \
    "[$which] runc state under --runc-root/<ns> (state.json files: $(cd "$rr" 2>/dev/null && find . -name state.json | tr '\n' ' '))"
  check_hasnt "$(runc --root "/run/containerd/runc/$NS" list -q 2>&1)" "$id" "[$which] no runc state under the default root"
  bctr tasks kill -s SIGKILL "$id" 2>&1
  wait_status "$id" STOPPED && check_ok "[$which] kill reaches the container under --runc-root" ||
    check_bad "[$which] kill under --runc-root: task not STOPPED"
  check_has "$(bctr tasks delete "$id" 2>&1)" "137" "[$which] delete under --runc-root reports 137"
  check_hasnt "$(runc --root "$rr/$NS" list -q 2>&1)" "$id" "[$which] delete removed the state under --runc-root"
  bctr containers rm "$id" >/dev/null 2>&1

  log "[$which] Options.BinaryName: --runc-binary /usr/bin/crun"
  cr="$T/crun-root-$which"
  if [[ -z "$CRUN_ERR" ]]; then
    id="crun-$which"
    if lifecycle "$id" "$which" --runc-binary /usr/bin/crun --runc-root "$cr"; then
      # lifecycle deleted it; run another to look at crun's state while it runs.
      bctr_t 60 run -d --runtime "$RT" --runc-binary /usr/bin/crun --runc-root "$cr" "$IMG" "$id-2" sleep 1000
      check_has "$(crun --root "$cr/$NS" list 2>&1)" "$id-2" "[$which] crun's state under --runc-root"
      check_hasnt "$(runc --root "$cr/$NS" list -q 2>&1)" "$id-2" "[$which] runc does not know it"
      bctr tasks kill -s SIGKILL "$id-2"
      wait_status "$id-2" STOPPED
      bctr tasks delete "$id-2" >/dev/null 2>&1
      bctr containers rm "$id-2" >/dev/null 2>&1
    fi
  else
    # crun's own error reaches the client, as containerd's shim passes it on.
    want=$(grep -o 'cgroups in hybrid mode not supported' <<<"$CRUN_ERR" || true)
    want=${want:-${CRUN_ERR:0:40}}
    rc=0
    out=$(bctr_t 60 run --rm --runtime "$RT" --runc-binary /usr/bin/crun --runc-root "$cr" "$IMG" "crun-$which" true 2>&1) || rc=$?
    check_true "[$which] crun unusable here: run fails" test "$rc" -ne 0
    check_has "$out" "$want" "[$which] crun unusable here: its error reaches ctr"
    bctr containers rm "crun-$which" >/dev/null 2>&1
    log "SKIP: [$which] lifecycle under crun (crun: $CRUN_ERR)"
  fi

  log "[$which] Options.BinaryName that does not exist"
  rc=0
  out=$(bctr_t 60 run --rm --runtime "$RT" --runc-binary "$T/no-such-runc" "$IMG" "nobin-$which" true 2>&1) || rc=$?
  check_true "[$which] missing BinaryName: run fails" test "$rc" -ne 0
  check_has "$out" "$T/no-such-runc" "[$which] missing BinaryName: the error names it"
  bctr containers rm "nobin-$which" >/dev/null 2>&1

  for ro in rw ro; do
    log "[$which] user namespace, $ro rootfs"
    extra=()
    [[ $ro == ro ]] && extra=(--read-only)
    id="userns-$ro-$which"
    rc=0
    out=$(bctr_t 60 run --rm --runtime "$RT" "${MAP[@]}" "${extra[@]}" "$IMG" "$id" sh -c \
      'echo uid=$(id -u) gid=$(id -g); echo umap $(cat /proc/self/uid_map); echo gmap $(cat /proc/self/gid_map);
       echo stdout-owner=$(stat -L -c %u:%g /proc/self/fd/1);
       if echo x >/tmp/w 2>/dev/null; then echo writable; else echo read-only; fi' 2>&1) || rc=$?
    if [[ $rc -ne 0 ]]; then
      check_bad "[$which] userns $ro: run failed ($rc): $out"
    else
      check_has "$out" "uid=0 gid=0" "[$which] userns $ro: root inside"
      check_has "$out" "umap 0 100000 65536" "[$which] userns $ro: uid_map"
      check_has "$out" "gmap 0 100000 65536" "[$which] userns $ro: gid_map"
      check_has "$out" "stdout-owner=0:0" "[$which] userns $ro: stdio owned by the remapped root (IoUid/IoGid)"
      if [[ $ro == ro ]]; then
        check_has "$out" "read-only" "[$which] userns ro: rootfs read-only"
      else
        check_has "$out" "writable" "[$which] userns rw: rootfs writable"
      fi
    fi
    bctr containers rm "$id" >/dev/null 2>&1
  done

  if [[ $which == berth ]]; then
    log "[berth] legacy options type containerd.linux.runc.CreateOptions (the control refuses it)"
    rc=0
    out=$(bctr_t 60 run --rm --runtime io.containerd.berth.v2 "${MAP[@]}" "$IMG" legacy-berth sh -c 'id -u' 2>&1) || rc=$?
    if [[ $rc -eq 0 ]]; then
      check_eq "$out" "0" "[berth] CreateOptions: uid 0 inside the user namespace"
    else
      check_bad "[berth] CreateOptions refused ($rc): $out"
    fi
    bctr containers rm legacy-berth >/dev/null 2>&1
  fi
done

assert_eq "$(bctr tasks ls -q)" "" "no task left"
shim_matrix_finish
