#!/usr/bin/env python3
"""Builds the overlay benchmark's workload from real data of this machine.

Disk: an ext4 image made with mke2fs -d from real directories (the "OS"), and a launch disk that
is the same image with an application installed in place by debugfs (a real directory tree
added under /opt/app, some files modified, some deleted), so unchanged blocks stay where they
were, as with a real install.

Memory: the test guest booted under QEMU with file-backed RAM and the launch disk attached; its
RAM file is copied when it is ready (base) and again after it has loaded the application's
working set (launch).
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import time

OS_SOURCES = ["/usr/share/doc", "/usr/lib/python3", "/usr/share/perl5", "/usr/share/zoneinfo", "/etc",
              "/usr/lib/jvm/java-17-openjdk-amd64/lib"]
APP_SOURCE_CANDIDATES = ["/usr/lib/python3.11", "/usr/lib/python3.12", "/usr/lib/python3"]
OS_BUDGET = 260 << 20
DISK_SIZE = "768M"
MEMORY_MIB = 512


def log(message):
    print(f"workload: {message}", flush=True)


def copy_budgeted(sources, target, budget):
    used = 0
    for source in sources:
        if not os.path.isdir(source):
            continue
        for root, dirs, files in os.walk(source):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(root, name)
                if not os.path.isfile(path) or os.path.islink(path):
                    continue
                size = os.path.getsize(path)
                if used + size > budget:
                    return used
                dest = os.path.join(target, path.lstrip("/"))
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                try:
                    shutil.copyfile(path, dest)
                except OSError:
                    continue
                used += size
    return used


def safe(path):
    return '"' not in path and "\n" not in path and " " not in path


def install_app(launch_image, base_tree, app_source, scratch):
    """Writes a debugfs script that installs the app, modifies and deletes files, and runs it."""
    commands = ["mkdir /opt", "mkdir /opt/app"]
    added = 0
    for root, dirs, files in os.walk(app_source):
        dirs.sort()
        rel = os.path.relpath(root, app_source)
        target_dir = "/opt/app" if rel == "." else "/opt/app/" + rel
        if rel != "." and safe(target_dir):
            commands.append(f"mkdir {target_dir}")
        for name in sorted(files):
            path = os.path.join(root, name)
            if os.path.islink(path) or not os.path.isfile(path) or not safe(path) or not safe(name):
                continue
            commands.append(f"write {path} {target_dir}/{name}")
            added += os.path.getsize(path)
    existing = []
    for root, dirs, files in os.walk(base_tree):
        dirs.sort()
        for name in sorted(files):
            rel = "/" + os.path.relpath(os.path.join(root, name), base_tree)
            if safe(rel):
                existing.append(rel)
    modified = deleted = 0
    os.makedirs(scratch, exist_ok=True)
    for index, rel in enumerate(existing):
        if index % 40 == 7:
            # a configuration or data file the installer rewrote: same file, a line appended
            changed = os.path.join(scratch, f"modified-{index}")
            with open(os.path.join(base_tree, rel.lstrip("/")), "rb") as original, open(changed, "wb") as out:
                out.write(original.read())
                out.write(b"\n# changed by the application installer\n")
            commands.append(f"rm {rel}")
            commands.append(f"write {changed} {rel}")
            modified += 1
        elif index % 40 == 23:
            commands.append(f"rm {rel}")
            deleted += 1
    script = os.path.join(scratch, "install.debugfs")
    with open(script, "w") as out:
        out.write("\n".join(commands) + "\n")
    subprocess.run(["debugfs", "-w", "-f", script, launch_image], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return added, modified, deleted


class Qmp:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX)
        for _ in range(100):
            try:
                self.sock.connect(path)
                break
            except OSError:
                time.sleep(0.1)
        self.reader = self.sock.makefile("r")
        json.loads(self.reader.readline())
        self.execute("qmp_capabilities")

    def execute(self, command):
        self.sock.sendall(json.dumps({"execute": command}).encode() + b"\n")
        while True:
            reply = json.loads(self.reader.readline())
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise RuntimeError(f"QMP {command}: {reply['error']}")


def wait_for(serial, marker, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(serial) and marker in open(serial, errors="replace").read():
            return
        time.sleep(0.05)
    raise RuntimeError(f"guest did not print '{marker}' within {timeout}s; see {serial}")


def capture_memory(workdir, guest, launch_image):
    ram = os.path.join(workdir, "guest-ram.raw")
    serial = os.path.join(workdir, "serial.log")
    qmp_path = os.path.join(workdir, "qmp.sock")
    for path in (ram, serial, qmp_path):
        if os.path.exists(path):
            os.remove(path)
    with open(ram, "wb") as f:
        f.truncate(MEMORY_MIB << 20)
    qemu = subprocess.Popen([
        "qemu-system-x86_64", "-accel", "tcg", "-m", str(MEMORY_MIB), "-cpu", "core2duo",
        "-object", f"memory-backend-file,id=ram,size={MEMORY_MIB}M,mem-path={ram},share=on",
        "-machine", "pc,memory-backend=ram",
        "-kernel", os.path.join(guest, "vmlinuz"), "-initrd", os.path.join(guest, "initrd.gz"),
        "-append", "console=ttyS0 quiet cloudlet.load=/opt/app cloudlet.load_delay=3",
        "-drive", f"file={launch_image},format=raw,if=virtio,readonly=on",
        "-serial", f"file:{serial}", "-qmp", f"unix:{qmp_path},server=on,wait=off",
        "-display", "none", "-nodefaults", "-no-reboot"])
    try:
        qmp = Qmp(qmp_path)
        wait_for(serial, "cloudlet-guest: ready", 120)
        qmp.execute("stop")
        subprocess.run(["cp", "--sparse=always", ram, os.path.join(workdir, "base-memory.raw")], check=True)
        qmp.execute("cont")
        wait_for(serial, "cloudlet-guest: loaded", 600)
        qmp.execute("stop")
        subprocess.run(["cp", "--sparse=always", ram, os.path.join(workdir, "launch-memory.raw")], check=True)
        qmp.execute("quit")
        qemu.wait(30)
    finally:
        if qemu.poll() is None:
            qemu.kill()
        os.remove(ram)


def main():
    workdir, guest = sys.argv[1], sys.argv[2]
    done = os.path.join(workdir, "workload.json")
    if os.path.exists(done):
        log(f"reusing {workdir}")
        return
    os.makedirs(workdir, exist_ok=True)
    app_source = next(p for p in APP_SOURCE_CANDIDATES if os.path.isdir(p))
    tree = os.path.join(workdir, "os-tree")
    shutil.rmtree(tree, ignore_errors=True)
    os_bytes = copy_budgeted(OS_SOURCES, tree, OS_BUDGET)
    log(f"OS tree: {os_bytes >> 20} MiB of real files")
    base = os.path.join(workdir, "base-disk.raw")
    launch = os.path.join(workdir, "launch-disk.raw")
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-d", tree, base, DISK_SIZE], check=True)
    subprocess.run(["cp", "--sparse=always", base, launch], check=True)
    added, modified, deleted = install_app(launch, tree, app_source, os.path.join(workdir, "scratch"))
    log(f"application {app_source}: {added >> 20} MiB added under /opt/app, {modified} files modified, "
        f"{deleted} deleted")
    capture_memory(workdir, guest, launch)
    log(f"memory: {MEMORY_MIB} MiB guest RAM captured before and after loading the application")
    shutil.rmtree(tree, ignore_errors=True)
    shutil.rmtree(os.path.join(workdir, "scratch"), ignore_errors=True)
    with open(done, "w") as out:
        json.dump({"os_bytes": os_bytes, "app_source": app_source, "app_bytes": added, "modified": modified,
                   "deleted": deleted, "disk_size": DISK_SIZE, "memory_mib": MEMORY_MIB}, out)


if __name__ == "__main__":
    main()
