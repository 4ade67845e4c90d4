"""jinbao.netns: sockets opened inside a named network namespace."""

from __future__ import annotations

import os
import socket
import subprocess
import uuid

import pytest

from jinbao.netns import NetnsError, connect


def test_without_a_namespace_it_connects_from_here():
    with socket.create_server(("127.0.0.1", 0)) as srv:
        s = connect("127.0.0.1", srv.getsockname()[1], None, timeout=2)
        s.close()


def test_a_missing_namespace_is_named():
    with pytest.raises(NetnsError, match="no network namespace 'jb-no-such-ns'"):
        connect("127.0.0.1", 22, "jb-no-such-ns")
    with pytest.raises(NetnsError):
        connect("127.0.0.1", 22, "../etc")


@pytest.mark.lab
def test_the_socket_lives_in_the_namespace_not_in_the_caller():
    """A listener only inside a fresh namespace is reached; the caller's threads stay where they were."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    ns = f"jbt-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        srv = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                ns,
                "python3",
                "-c",
                "import socket; s=socket.create_server(('127.0.0.1', 47011)); print('ok', flush=True); "
                "c,_=s.accept(); c.sendall(b'hello from inside')",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert srv.stdout.readline().strip() == "ok"
            with pytest.raises(OSError):  # not reachable from the machine's own namespace
                socket.create_connection(("127.0.0.1", 47011), timeout=1).close()
            here = os.readlink("/proc/thread-self/ns/net")
            s = connect("127.0.0.1", 47011, ns, timeout=3)
            assert s.recv(100) == b"hello from inside"
            s.close()
            assert os.readlink("/proc/thread-self/ns/net") == here
        finally:
            srv.kill()
            srv.wait()
    finally:
        subprocess.run(["ip", "netns", "delete", ns], check=True)
