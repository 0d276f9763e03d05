#!/usr/bin/env python3
"""Writes the hand-made seed corpora under tests/fuzz/corpus/<target>/ (valid and invalid
inputs). Run from anywhere; existing seed files of the same name are overwritten, other files
(crash regressions, fuzzer finds) are left alone. Binary seeds are built here: protobuf messages
by hand (varints), tar layers with tarfile."""
import gzip, io, json, os, struct, tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
D = "sha256:" + "a" * 64
D2 = "sha256:" + "b" * 64


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# --- manifest_fuzz
oci_manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": D, "size": 7},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": D2, "size": 32,
                            "urls": ["https://x"], "annotations": {"a": "b"}}]}
put("manifest_fuzz", "oci_manifest.json", json.dumps(oci_manifest))
dm = dict(oci_manifest, mediaType="application/vnd.docker.distribution.manifest.v2+json")
put("manifest_fuzz", "docker_manifest.json", json.dumps(dm))
put("manifest_fuzz", "no_media_type.json", json.dumps({k: v for k, v in oci_manifest.items() if k != "mediaType"}))
index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
         "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": D, "size": 1,
                        "platform": {"os": "linux", "architecture": "arm", "variant": "v7",
                                     "os.features": ["x"], "os.version": "1"}},
                       {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": D2, "size": 2,
                        "platform": {"os": "linux", "architecture": "amd64"}}]}
put("manifest_fuzz", "oci_index.json", json.dumps(index))
put("manifest_fuzz", "docker_list.json",
    json.dumps(dict(index, mediaType="application/vnd.docker.distribution.manifest.list.v2+json")))
config = {"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
          "config": {"Env": ["PATH=/bin"], "Entrypoint": ["/bin/sh"], "Cmd": ["-c", "true"],
                     "WorkingDir": "/", "User": "1:1"},
          "rootfs": {"type": "layers", "diff_ids": [D, D2]}}
put("manifest_fuzz", "config.json", json.dumps(config))
put("manifest_fuzz", "schema1.json", json.dumps({"schemaVersion": 1, "mediaType":
                                                 "application/vnd.docker.distribution.manifest.v1+prettyjws"}))
put("manifest_fuzz", "bad_digest.json", json.dumps(dict(oci_manifest, config={"digest": "md5:x", "size": 1})))
put("manifest_fuzz", "negative_size.json", json.dumps(dict(oci_manifest, config={"digest": D, "size": -1})))
put("manifest_fuzz", "wrong_types.json", '{"config": 1, "layers": {"a": []}, "manifests": "x", "rootfs": []}')
put("manifest_fuzz", "huge_size.json", '{"config": {"digest": "%s", "size": 1e400}, "layers": []}' % D)
put("manifest_fuzz", "deep.json", "[" * 2000 + "]" * 2000)
put("manifest_fuzz", "truncated.json", json.dumps(oci_manifest)[:57])
put("manifest_fuzz", "bad_utf8.json", b'{"mediaType": "\xff\xfe", "manifests": []}')
put("manifest_fuzz", "config_nulls.json", '{"config": null, "rootfs": {"diff_ids": [null, 1]}, "os": null}')

# --- reference_fuzz (image references and platform strings)
for i, s in enumerate(["busybox", "docker.io/library/busybox:latest", "user/app:1", "127.0.0.1:5000/x/y@" + D,
                       "localhost/a:b@" + D, "Upper/Case", "a:b:c", "@" + D, "x@sha256:short", "//", ":", "",
                       "a" * 300, "host:99999/x", "linux/amd64", "linux/arm64/v8", "arm", "aarch64", "windows/amd64",
                       "linux/arm", "linux/arm/v5", "armhf", "linux/x86_64/v1", "/", "linux//", "a/b/c/d",
                       "macos/arm64", "LINUX/AMD64"]):
    put("reference_fuzz", "seed%02d" % i, s)

# --- filters_fuzz
for i, s in enumerate(["name==foo", "labels.\"containerd.io/gc.ref.content\"", "name~=|^docker.io/.*|",
                       "topic==\"/tasks/exit\",namespace==default", "labels.a.b==c\nname!=x", "", "\n",
                       "name==x ", "name~=/a\\/b/", "name==\"\\xff\\u1234\\n\"", "a.b.c", ",", "name===",
                       "labels.empty", "name~=(((((a*)*)*)*)*", "name~=[", "id!=", "\"unterminated",
                       "`raw`", "labels.\"a.b\"==c,name~=busy"]):
    put("filters_fuzz", "seed%02d" % i, s)

# --- config_fuzz
put("config_fuzz", "v2.toml", """version = 2
root = "/var/lib/berth"
state = "/run/berth"
oom_score = -999
[grpc]
  address = "/run/berth/berthd.sock"
  max_recv_message_size = 16777216
[debug]
  level = "debug"
[plugins."io.containerd.internal.v1.restart"]
  interval = "10s"
[plugins."io.containerd.grpc.v1.cri".containerd]
  default_runtime_name = "runc"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  SystemdCgroup = true
  BinaryName = "runc"
[runtimes."io.containerd.runc.v2"]
  shim = "containerd-shim-berth-v2"
""")
put("config_fuzz", "v1.toml", "root = \"/x\"\n[plugins.linux]\n  runtime = \"crun\"\n  shim = \"s\"\n[plugins.cri]\n")
put("config_fuzz", "bad_version.toml", "version = 3\n")
put("config_fuzz", "wrong_type.toml", "version = 2\nroot = 5\n[grpc]\naddress = []\n")
put("config_fuzz", "bad_duration.toml", "version = 2\n[plugins.\"io.containerd.internal.v1.restart\"]\ninterval = \"1x\"\n")
put("config_fuzz", "malformed.toml", "version = 2\n[grpc\naddress = \"x\"\n")
put("config_fuzz", "unknown.toml", "version = 2\n[foo.bar]\nbaz = 1\n[plugins.\"io.containerd.gc.v1.scheduler\"]\npause_threshold = 0.02\n")
put("config_fuzz", "quoted.toml", "version = 2\nroot = \"/a\\\"b\\n\\u00e9\"\n[runtimes.\"we\\\"ird\"]\nshim = \"/x y\"\n")
put("config_fuzz", "big_ints.toml", "version = 2\n[grpc]\nmax_recv_message_size = 99999999999999\nuid = -1\ngid = 4294967296\n")
put("config_fuzz", "durations.toml", "version = 2\n[plugins.\"io.containerd.internal.v1.restart\"]\ninterval = \"1h2m3.5s\"\n")

# --- ttrpc_frame_fuzz: split byte, then frames (length u32 BE, stream id u32 BE, type, flags)
def frame(sid, typ, payload, flags=0):
    return struct.pack(">IIBB", len(payload), sid, typ, flags) + payload
put("ttrpc_frame_fuzz", "request", b"\x05" + frame(1, 1, b"\x0a\x03svc\x12\x03Mth\x1a\x00"))
put("ttrpc_frame_fuzz", "response", b"\x00" + frame(1, 2, b"\x0a\x04\x08\x05\x12\x00"))
put("ttrpc_frame_fuzz", "oversized", b"\x03" + struct.pack(">IIBB", 0x7fffffff, 1, 1, 0) + b"x" * 20)
put("ttrpc_frame_fuzz", "two", b"\x09" + frame(1, 1, b"") + frame(3, 2, b"\x12\x01x"))

# --- protobuf by hand
def varint(n):
    n &= (1 << 64) - 1
    out = b""
    while True:
        b = n & 0x7f
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])
def fv(num, n): return varint(num << 3) + varint(n)
def fb(num, b):
    b = b if isinstance(b, bytes) else b.encode()
    return varint((num << 3) | 2) + varint(len(b)) + b

# content_write_fuzz: messages with 2-byte length prefix.
# WriteContentRequest: action=1 (0 STAT,1 WRITE,2 COMMIT) ref=2 total=3 expected=4 offset=5 data=6 labels=7
import hashlib
def msgs(*ms): return b"".join(struct.pack(">H", len(m)) + m for m in ms)
hello = b"hello world"
hd = "sha256:" + hashlib.sha256(hello).hexdigest()
put("content_write_fuzz", "commit", msgs(fb(2, "ref1") + fv(1, 0), fv(1, 2) + fv(3, len(hello)) + fb(4, hd) + fb(6, hello)
                                         + fb(7, fb(1, "containerd.io/gc.root") + fb(2, "x"))))
put("content_write_fuzz", "chunks", msgs(fb(2, "r") + fv(1, 1) + fb(6, hello[:5]), fv(1, 1) + fv(5, 5) + fb(6, hello[5:]),
                                         fv(1, 0), fv(1, 2) + fv(5, 11)))
put("content_write_fuzz", "wrong_digest", msgs(fb(2, "r") + fv(1, 2) + fb(4, D) + fb(6, hello)))
put("content_write_fuzz", "wrong_total", msgs(fb(2, "r") + fv(1, 2) + fv(3, 3) + fb(6, hello)))
put("content_write_fuzz", "traversal_ref", msgs(fb(2, "../../../../tmp/pwned") + fv(1, 2) + fb(6, hello)))
put("content_write_fuzz", "slash_ref", msgs(fb(2, "/") + fv(1, 1) + fb(6, hello), fb(2, "..") + fv(1, 2)))
put("content_write_fuzz", "restart", msgs(fb(2, "r") + fv(1, 1) + fb(6, hello), fv(1, 2) + fv(5, 0) + fb(6, b"x")))
put("content_write_fuzz", "bad_offset", msgs(fb(2, "r") + fv(1, 1) + fv(5, 99) + fb(6, hello)))
put("content_write_fuzz", "negative", msgs(fb(2, "r") + fv(1, 2) + fv(3, -1) + fv(5, -5) + fb(6, hello)))
put("content_write_fuzz", "bad_action", msgs(fb(2, "r") + fv(1, 7)))
put("content_write_fuzz", "bad_expected", msgs(fb(2, "r") + fv(1, 2) + fb(4, "sha256:zz")))

# tasks_create_fuzz: CreateTaskRequest container_id=1 rootfs=3 (Mount type=1 source=2 target=3 options=4)
# stdin=4.. terminal=7 options=9 (Any type_url=1 value=2)
# containerd.runc.v1.Options: no_pivot_root=1 no_new_keyring=2 shim_cgroup=3 io_uid=4 io_gid=5 binary_name=6 root=7
#   criu_path=8 systemd_cgroup=9 criu_image_path=10 criu_work_path=11
runc_opts = fv(1, 1) + fb(3, "/shim") + fv(4, 1000) + fb(6, "crun") + fb(7, "/run/x") + fv(9, 1)
overlay = fb(1, "overlay") + fb(2, "overlay") + fb(4, "ro") + fb(4, "nodev") + fb(4, "lowerdir=/a:/b") + fb(4, "upperdir=/u")
put("tasks_create_fuzz", "runc_v1_options", fb(1, "c1") + fb(3, overlay) + fb(9, fb(1, "containerd.runc.v1.Options") + fb(2, runc_opts)))
put("tasks_create_fuzz", "typeurl_full", fb(1, "c1") + fb(9, fb(1, "type.googleapis.com/containerd.runc.v1.Options") + fb(2, runc_opts)))
put("tasks_create_fuzz", "legacy_create", fb(1, "c") + fb(9, fb(1, "containerd.linux.runc.CreateOptions") + fb(2, fv(1, 1) + fb(3, "/cg"))))
put("tasks_create_fuzz", "legacy_runc", fb(1, "c") + fb(9, fb(1, "containerd.linux.runc.RuncOptions") + fb(2, fb(1, "runc") + fb(2, "/root"))))
put("tasks_create_fuzz", "bad_any", fb(1, "c") + fb(9, fb(1, "containerd.runc.v1.Options") + fb(2, b"\xff\xff\xff")))
put("tasks_create_fuzz", "bind", fb(1, "../../x") + fb(3, fb(1, "bind") + fb(2, "/") + fb(4, "rbind") + fb(4, "rprivate") + fb(4, "remount,ro")))
put("tasks_create_fuzz", "empty", b"")
put("tasks_create_fuzz", "stdio", fb(1, "c") + fb(4, "/fifo/in") + fb(5, "binary:///x?a=b") + fv(7, 1))

# --- layer_fuzz: raw mode (first byte with low bits 0) then a tar stream
def tar_bytes(entries, gz=False):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, arg in entries:
            ti = tarfile.TarInfo(name)
            if kind == "file":
                ti.size = len(arg)
                t.addfile(ti, io.BytesIO(arg))
                continue
            if kind == "dir":
                ti.type = tarfile.DIRTYPE
            elif kind == "sym":
                ti.type, ti.linkname = tarfile.SYMTYPE, arg
            elif kind == "hard":
                ti.type, ti.linkname = tarfile.LNKTYPE, arg
            elif kind == "chr":
                ti.type, ti.devmajor, ti.devminor = tarfile.CHRTYPE, 1, 3
            elif kind == "fifo":
                ti.type = tarfile.FIFOTYPE
            t.addfile(ti)
    b = buf.getvalue()
    return gzip.compress(b, mtime=0) if gz else b

put("layer_fuzz", "raw_ok", b"\x00" + tar_bytes([("a", "dir", None), ("a/f", "file", b"hi"), ("l", "sym", "a/f"),
                                                 ("h", "hard", "a/f"), ("n", "chr", None), ("p", "fifo", None)]))
put("layer_fuzz", "raw_traversal", b"\x00" + tar_bytes([("../outside/pwned", "file", b"x")]))
put("layer_fuzz", "raw_abs", b"\x00" + tar_bytes([("/outside/pwned", "file", b"x")]))
put("layer_fuzz", "raw_symlink_write", b"\x00" + tar_bytes([("lnk", "sym", "../outside"), ("lnk/pwned", "file", b"x")]))
put("layer_fuzz", "raw_abs_symlink_write", b"\x00" + tar_bytes([("lnk", "sym", "/"), ("lnk/tmp/pwned", "file", b"x")]))
put("layer_fuzz", "raw_hardlink_out", b"\x00" + tar_bytes([("h", "hard", "../outside/canary")]))
put("layer_fuzz", "raw_whiteout_dotdot", b"\x04" + tar_bytes([(".wh..", "file", b""), ("a/.wh...", "file", b"")]))
put("layer_fuzz", "raw_gzip", b"\x00" + tar_bytes([("a", "file", b"z" * 1000), (".wh.a", "file", b"")], gz=True))
put("layer_fuzz", "raw_bomb", b"\x00" + gzip.compress(b"\0" * (9 << 20), mtime=0))
put("layer_fuzz", "raw_garbage", b"\x00" + b"\x1f\x8bnot really gzip")
put("layer_fuzz", "raw_zstd_magic", b"\x00" + b"\x28\xb5\x2f\xfd" + b"\x00" * 16)
# generated mode: mode byte, then entry recipes (type, name byte, perm, uid, gid, mtime, ...)
put("layer_fuzz", "gen_pax", bytes([0x01, 2, 5, 0, 0, 0, 0, 3, 0, 6, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 16]) + b"payload-bytes-16")
put("layer_fuzz", "gen_gnu_gzip_overlay", bytes([0x2d, 1, 1, 0, 0, 0, 0, 0, 20, 0, 0, 0, 0, 4, 4, 0, 0, 0, 0, 1, 9,
                                                 7, 36, 0, 0, 0, 0, 10, 1, 4, 8, 37, 0, 0, 0, 0, 3]))
put("layer_fuzz", "gen_zstd_truncated", bytes([0xc1, 0, 3, 0, 0, 0, 0, 40, 8, 38, 0, 0, 0, 0, 8, 9, 39, 0, 0, 0, 0, 1, 5]))
put("layer_fuzz", "gen_symlinks_out", bytes([0x09, 2, 5, 0, 0, 0, 0, 17, 0, 6, 0, 0, 0, 0, 4, 2, 5, 0, 0, 0, 0, 3,
                                             0, 7, 0, 0, 0, 0, 2, 2, 29, 0, 0, 0, 0, 17]))
put("layer_fuzz", "gen_hardlinks_out", bytes([0x01, 3, 33, 0, 0, 0, 0, 4, 3, 32, 0, 0, 0, 0, 18, 3, 0, 0, 0, 0, 0, 19]))
put("layer_fuzz", "gen_devices", bytes([0x05, 4, 0, 0, 0, 0, 0, 1, 3, 5, 1, 0, 0, 0, 0, 2, 9, 6, 32, 0, 0, 0, 0]))
put("layer_fuzz", "gen_whiteouts", bytes([0x05, 0, 15, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 30, 0, 0, 0, 0, 0,
                                          0, 20, 0, 0, 0, 0, 0, 0, 31, 0, 0, 0, 0, 0]))
put("layer_fuzz", "gen_ustar_long", bytes([0x11, 0, 36, 0, 0, 0, 0, 0, 0, 37, 0, 0, 0, 0, 0]))
