"""Runs one agent CLI against the capture server (or TokenHub in front of it), inside a loopback-only namespace.

Started by `netns.run_driver` as `unshare --net ... python -m tests.agents.driver ...`. It refuses to run unless
the only network interface it can see is `lo` (so a CLI can never reach a vendor's host), brings `lo` up, serves
the capture server on 127.0.0.1, runs the CLI's turns one after another, each with a deadline, and writes a JSON
result: per turn the argv, env, exit code, stdout, stderr, whether the deadline struck, and the requests it made.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import os
import pathlib
import signal
import socket
import struct
import sys
from typing import Any

import orjson

from tests.agents import capture, clis, gateway_stage, script

_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1
_IFREQ = "16sH22x"  # struct ifreq: the name, then ifr_flags, padded to its 40 bytes


class NotIsolated(RuntimeError):
    """The driver sees a network interface besides loopback: it is not in a private network namespace."""


def bring_loopback_up() -> None:
    names = sorted(name for _, name in socket.if_nameindex())
    if names != ["lo"]:
        raise NotIsolated(f"refusing to run an agent CLI with network interfaces {names}: only 'lo' is allowed")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        flags = struct.unpack(_IFREQ, fcntl.ioctl(sock, _SIOCGIFFLAGS, struct.pack(_IFREQ, b"lo", 0)))[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack(_IFREQ, b"lo", flags | _IFF_UP))


async def _run(invocation: clis.Invocation, deadline_seconds: float) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        *invocation.argv,
        cwd=invocation.cwd,
        env=invocation.env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,  # its own process group, so a CLI past its deadline is killed with its children
    )
    timed_out = False
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), deadline_seconds)
    except TimeoutError:
        timed_out = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = await proc.communicate()
    return {
        "argv": invocation.argv,
        "env": invocation.env,
        "returncode": proc.returncode,
        "timed_out": timed_out,
        "stdout": stdout.decode(errors="replace"),
        "stderr": stderr.decode(errors="replace"),
    }


async def _turns(
    args: argparse.Namespace, server: capture.CaptureServer, url: str, key: str | None
) -> list[dict[str, Any]]:
    """Run the CLI's turns against ``url`` (the capture server, or a gateway in front of it)."""
    if args.cli == "codex":
        invocations = clis.codex(args.binary, url, args.root, args.model or clis.CODEX_MODEL, args.follow_up)
    else:
        invocations = clis.claude(args.binary, url, args.root, args.model, args.follow_up)
    extra = dict(item.split("=", 1) for item in args.env)
    if key is not None:
        extra |= {"CAPTURE_API_KEY": key, "ANTHROPIC_API_KEY": key}
    invocations = [clis.Invocation([*args.wrap.split(), *i.argv], {**i.env, **extra}, i.cwd) for i in invocations]
    (invocations[0].cwd / script.NOTE_FILE).write_text(args.note + "\n")
    turns: list[dict[str, Any]] = []
    for invocation in invocations:
        seen = len(server.requests)
        turn = await _run(invocation, args.timeout)
        turns.append({**turn, "requests": server.requests[seen:]})
        if turn["returncode"] != 0:
            break
    return turns


async def drive(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"cli": args.cli}
    with (args.root / "requests.jsonl").open("wb") as sink:
        server = capture.CaptureServer(sink)
        await server.start()
        try:
            if args.gateway is None:
                result["turns"] = await _turns(args, server, server.url, None)
            else:
                async with gateway_stage.running(args.gateway, server.url, args.database_url, args.root) as stage:
                    result["turns"] = await _turns(args, server, stage.url, stage.key)
                    result["request_log"] = await stage.log_rows()
        finally:
            await server.close()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cli", choices=["codex", "claude"], required=True)
    parser.add_argument("--binary", type=pathlib.Path, required=True)
    parser.add_argument("--root", type=pathlib.Path, required=True, help="a directory for the CLI's home and work")
    parser.add_argument("--note", required=True, help="the token written to note.txt")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds each turn may take")
    parser.add_argument("--model", default=None, help="the model name the CLI is configured with")
    parser.add_argument("--follow-up", action="store_true", help="continue the session with a second turn")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="extra environment")
    parser.add_argument("--wrap", default="", help="a command prefix for the CLI, split on spaces (e.g. strace)")
    parser.add_argument("--gateway", choices=gateway_stage.PROVIDER_TYPES, default=None, help="put TokenHub in front")
    parser.add_argument("--database-url", default=None, help="the gateway's Postgres (a Unix socket), with --gateway")
    parser.add_argument("--out", type=pathlib.Path, required=True)
    args = parser.parse_args(argv)
    try:
        bring_loopback_up()
    except NotIsolated as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    args.out.write_bytes(orjson.dumps(asyncio.run(drive(args)), option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
