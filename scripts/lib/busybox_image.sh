# build_busybox_layout DIR TAG: an OCI image layout at DIR whose TAG is a one-layer busybox-static
# image (applet symlinks in /bin, /etc/passwd and /etc/group, Cmd ["sh"]). Needs umoci and
# busybox (busybox-static); uses $T as scratch space when set, else a private temporary directory.
build_busybox_layout() {
  local dir=$1 tag=$2 work
  work=$(mktemp -d "${T:-/tmp}/bb.XXXXXX")
  [[ -d "$dir" ]] || umoci init --layout "$dir"
  umoci new --image "$dir:$tag"
  umoci unpack --image "$dir:$tag" "$work/bundle" >/dev/null
  local rootfs="$work/bundle/rootfs"
  mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev" "$rootfs/root"
  cp "$(command -v busybox)" "$rootfs/bin/busybox"
  local applet
  for applet in $("$rootfs/bin/busybox" --list); do
    [[ -e "$rootfs/bin/$applet" ]] || ln -s busybox "$rootfs/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
  chmod 1777 "$rootfs/tmp"
  umoci repack --image "$dir:$tag" "$work/bundle" >/dev/null
  umoci config --image "$dir:$tag" --config.cmd sh --config.env PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    --config.workingdir / >/dev/null
  rm -rf "$work"
}

