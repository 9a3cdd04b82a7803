#!/usr/bin/python3
"""QMP tests of device_pause in esfm's patched QEMU (qemu/patches), printing TAP.

    tests/qemu/qmp-pause.py QEMU_BINARY

Starts the binary (q35, TCG, no default devices, no display, vCPUs stopped) with a
pcie-root-port and a virtio device, and checks what can be checked without VFIO
(this kernel has none, so no vfio-pci device can exist here): the command and its
arguments in the QMP schema, DeviceNotFound for an unknown id, the error for devices
that are not vfio-pci, argument checking, and the x-paused property (on vfio-pci's
type, absent elsewhere). Pausing a real vfio-pci device is tested in the nested bed.
Exit status 0 when every test passed.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

TIMEOUT = 20


class QMP:
    def __init__(self, path):
        deadline = time.monotonic() + TIMEOUT
        while True:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.sock.settimeout(TIMEOUT)
        self.buf = b""
        greeting = self._read()
        if "QMP" not in greeting:
            raise RuntimeError("no QMP greeting: %r" % greeting)
        self.execute("qmp_capabilities")

    def _read(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("QMP connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def execute(self, command, **arguments):
        """Return the whole reply: {"return": ...} or {"error": {...}}."""
        msg = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self._read()
            if "event" not in reply:
                return reply

    def close(self):
        self.sock.close()


class TAP:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def check(self, ok, name, detail=None):
        self.n += 1
        print("%s %d - %s" % ("ok" if ok else "not ok", self.n, name))
        if not ok:
            self.failed += 1
            if detail is not None:
                for line in json.dumps(detail, indent=2).splitlines():
                    print("# " + line)
        sys.stdout.flush()


def error_of(reply):
    return reply.get("error", {})


def schema_command(schema, name):
    """The command's arguments as {member name: type name}, or None."""
    by_name = {e["name"]: e for e in schema}
    cmd = by_name.get(name)
    if cmd is None or cmd.get("meta-type") != "command":
        return None
    args = by_name[cmd["arg-type"]]
    # builtin types keep their names (str, bool) in the introspection schema
    return {m["name"]: m["type"] for m in args["members"]}


def main():
    if len(sys.argv) != 2:
        print("usage: qmp-pause.py QEMU_BINARY", file=sys.stderr)
        return 2
    qemu = sys.argv[1]
    work = tempfile.mkdtemp(prefix="esfm-qmp-pause.")
    sock = os.path.join(work, "qmp.sock")
    log = open(os.path.join(work, "qemu.log"), "w+")
    proc = subprocess.Popen(
        [qemu, "-machine", "q35", "-accel", "tcg", "-nodefaults",
         "-display", "none", "-S", "-qmp", "unix:%s,server=on,wait=off" % sock,
         "-device", "pcie-root-port,id=rp0,chassis=1,slot=1",
         "-device", "pcie-root-port,id=rp1,chassis=2,slot=2",
         "-device", "virtio-balloon-pci,id=vb0,bus=rp1"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    tap = TAP()
    print("1..12")
    try:
        try:
            qmp = QMP(sock)
        except Exception as e:
            log.seek(0)
            print("# QEMU did not answer on QMP: %s" % e)
            for line in log.read().splitlines()[-20:]:
                print("# | " + line)
            tap.check(False, "QEMU starts and answers QMP")
            return 1

        cmds = [c["name"] for c in qmp.execute("query-commands")["return"]]
        tap.check("device_pause" in cmds, "query-commands lists device_pause")

        schema = qmp.execute("query-qmp-schema")["return"]
        args = schema_command(schema, "device_pause")
        tap.check(args == {"id": "str", "pause": "bool"},
                  "the schema gives device_pause exactly id (str) and pause (bool)",
                  args)

        r = qmp.execute("device_pause", id="nosuchdev", pause=True)
        e = error_of(r)
        tap.check(e.get("class") == "DeviceNotFound"
                  and "nosuchdev" in e.get("desc", ""),
                  "an unknown id is DeviceNotFound, naming the id", r)

        r = qmp.execute("device_pause", id="nosuchdev", pause=False)
        tap.check(error_of(r).get("class") == "DeviceNotFound",
                  "resuming an unknown id is DeviceNotFound too", r)

        for dev, typ in (("rp0", "pcie-root-port"), ("vb0", "virtio-balloon-pci")):
            r = qmp.execute("device_pause", id=dev, pause=True)
            e = error_of(r)
            desc = e.get("desc", "")
            tap.check(e.get("class") == "GenericError"
                      and "'%s' is not a vfio-pci device" % dev in desc
                      and typ in desc,
                      "pausing %s (%s) says it is not a vfio-pci device" % (dev, typ),
                      r)

        r = qmp.execute("device_pause", id="/machine/peripheral/vb0", pause=False)
        tap.check("is not a vfio-pci device" in error_of(r).get("desc", ""),
                  "a QOM path finds the device as well", r)

        r = qmp.execute("device_pause", id="vb0")
        tap.check(error_of(r).get("class") == "GenericError"
                  and "pause" in error_of(r).get("desc", ""),
                  "a missing 'pause' argument is refused", r)

        r = qmp.execute("device_pause", id="vb0", pause="yes")
        tap.check(error_of(r).get("class") == "GenericError",
                  "a non-boolean 'pause' is refused", r)

        props = qmp.execute("device-list-properties", typename="vfio-pci")
        names = {p["name"]: p for p in props.get("return", [])}
        tap.check("x-paused" in names and names["x-paused"]["type"] == "bool",
                  "vfio-pci has a bool property x-paused", props)

        types = [t["name"] for t in qmp.execute(
            "qom-list-types", implements="pausable-device")["return"]]
        tap.check("vfio-pci" in types and "vfio-pci-nohotplug" in types,
                  "vfio-pci implements the pausable-device interface", types)

        r = qmp.execute("qom-get", path="/machine/peripheral/vb0", property="x-paused")
        listed = [p["name"] for p in
                  qmp.execute("qom-list", path="/machine/peripheral/vb0")["return"]]
        tap.check("error" in r and "x-paused" not in listed,
                  "a virtio device has no x-paused property", [r, listed])

        qmp.execute("quit")
        qmp.close()
        return 0 if tap.failed == 0 else 1
    finally:
        try:
            proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
