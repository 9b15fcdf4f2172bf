#!/usr/bin/env python3
"""A smrt-jobs worker in plain Python (standard library only).

It speaks the worker protocol (docs/worker-protocol.md) on file descriptor 3 and serves the type
`PyDemo` with two methods:

    echo            returns its args (reserved keys such as _agentConfig removed)
    fail {message}  fails with that message (retryable)

Unknown types and methods fail with a final (non-retryable) error. Jobs run one at a time on the
reading thread, so a CANCEL cannot interrupt a running job here; the supervisor kills the process
when a job overstays its deadline.

Run it under smrt-supervisor, e.g. `python3 examples/python-worker/worker.py` as the worker command.
"""

import ctypes
import json
import os
import signal
import struct
import sys

PROTOCOL_VERSION = 1
WORKER_FD = 3
MAX_FRAME_BYTES = 4 * 1024 * 1024

HELLO, RUN, CANCEL, SHUTDOWN, RESULT_OK, RESULT_ERROR, PROGRESS = range(1, 8)
RESERVED_ARGS = {"_agentConfig", "_scheduleId"}


class ProtocolError(Exception):
    pass


class JobError(Exception):
    """A job failure; retryable=False makes it final."""

    def __init__(self, message, retryable=True):
        super().__init__(message)
        self.retryable = retryable


# --- encoding ---------------------------------------------------------------------------------

def _str(text):
    data = text.encode("utf-8")
    return struct.pack(">I", len(data)) + data


def _optstr(text):
    return b"\x00" if text is None else b"\x01" + _str(text)


def frame(body):
    return struct.pack(">I", len(body)) + body


def hello(types):
    body = struct.pack(">BHII", HELLO, PROTOCOL_VERSION, os.getpid(), len(types))
    return frame(body + b"".join(_str(t) for t in types))


def result_ok(job_id, result_json):
    return frame(struct.pack(">BQ", RESULT_OK, job_id) + _optstr(result_json))


def result_error(job_id, retryable, message):
    return frame(struct.pack(">BQB", RESULT_ERROR, job_id, 1 if retryable else 0) + _str(message))


# --- decoding ---------------------------------------------------------------------------------

class Reader:
    """Reads the fields of one frame body."""

    def __init__(self, body):
        self.body = body
        self.offset = 1

    def take(self, n, field):
        if self.offset + n > len(self.body):
            raise ProtocolError("truncated field '%s'" % field)
        chunk = self.body[self.offset:self.offset + n]
        self.offset += n
        return chunk

    def u8(self, field):
        return self.take(1, field)[0]

    def u32(self, field):
        return struct.unpack(">I", self.take(4, field))[0]

    def u64(self, field):
        return struct.unpack(">Q", self.take(8, field))[0]

    def str(self, field):
        data = self.take(self.u32(field), field)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("invalid UTF-8 in field '%s'" % field)

    def optstr(self, field):
        flag = self.u8(field)
        if flag > 1:
            raise ProtocolError("invalid flag %d in field '%s'" % (flag, field))
        return self.str(field) if flag else None

    def finish(self):
        if self.offset != len(self.body):
            raise ProtocolError("%d trailing bytes" % (len(self.body) - self.offset))


def decode(body):
    """Returns (type, fields) for a message the supervisor sends."""
    kind = body[0]
    r = Reader(body)
    if kind == RUN:
        fields = {
            "jobId": r.u64("jobId"),
            "attempt": r.u32("attempt"),
            "deadline": r.u64("deadline"),
            "objectType": r.str("objectType"),
            "objectId": r.optstr("objectId"),
            "method": r.str("method"),
            "args": r.str("args"),
        }
    elif kind == CANCEL:
        fields = {"jobId": r.u64("jobId")}
    elif kind == SHUTDOWN:
        fields = {}
    else:
        raise ProtocolError("unexpected message type 0x%02X from the supervisor" % kind)
    r.finish()
    return kind, fields


def read_messages(fd):
    """Yields decoded messages until EOF on fd."""
    buffer = bytearray()
    while True:
        try:
            chunk = os.read(fd, 65536)
        except ConnectionResetError:
            return
        if not chunk:
            return
        buffer += chunk
        while len(buffer) >= 4:
            (length,) = struct.unpack_from(">I", buffer, 0)
            if length == 0:
                raise ProtocolError("zero-length frame")
            if length > MAX_FRAME_BYTES:
                raise ProtocolError("frame of %d bytes exceeds the limit of %d bytes" % (length, MAX_FRAME_BYTES))
            if len(buffer) < 4 + length:
                break
            body = bytes(buffer[4:4 + length])
            del buffer[:4 + length]
            yield decode(body)


# --- jobs -------------------------------------------------------------------------------------

class PyDemo:
    def echo(self, args):
        return args

    def fail(self, args):
        raise JobError(str(args.get("message", "failed")))


REGISTRY = {"PyDemo": PyDemo}


def run_job(job):
    cls = REGISTRY.get(job["objectType"])
    if cls is None:
        raise JobError("Unknown object type: %s" % job["objectType"], retryable=False)
    method = getattr(cls, job["method"], None) if not job["method"].startswith("_") else None
    if method is None:
        raise JobError("Method not found: %s.%s" % (job["objectType"], job["method"]), retryable=False)
    try:
        args = json.loads(job["args"]) if job["args"] else {}
    except ValueError as error:
        raise JobError("invalid JSON in args: %s" % error, retryable=False)
    if not isinstance(args, dict):
        raise JobError("invalid JSON in args: expected a JSON object", retryable=False)
    args = {k: v for k, v in args.items() if k not in RESERVED_ARGS}
    return method(cls(), args)


# --- main loop --------------------------------------------------------------------------------

def write_all(fd, data):
    view = memoryview(data)
    while view:
        written = os.write(fd, view)  # retries EINTR itself (PEP 475)
        view = view[written:]


def die_with_parent():
    """Ask Linux for SIGKILL when the supervisor dies (best effort; EOF on fd 3 is the backstop)."""
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        sys.exit(0)


def main():
    die_with_parent()
    try:
        os.set_inheritable(WORKER_FD, False)  # keep fd 3 out of processes that jobs spawn
    except OSError:
        sys.stderr.write("worker.py: fd 3 is not open; start this program from smrt-supervisor\n")
        return 2
    try:
        write_all(WORKER_FD, hello(sorted(REGISTRY)))
        for kind, fields in read_messages(WORKER_FD):
            if kind == SHUTDOWN:
                return 0
            if kind == CANCEL:
                continue  # jobs run synchronously: nothing is running while we read
            job_id = fields["jobId"]
            try:
                result = run_job(fields)
                reply = result_ok(job_id, None if result is None else json.dumps(result, separators=(",", ":")))
            except JobError as error:
                reply = result_error(job_id, error.retryable, str(error))
            except Exception as error:  # a bug in job code: retryable
                reply = result_error(job_id, True, "%s: %s" % (type(error).__name__, error))
            write_all(WORKER_FD, reply)
    except ProtocolError as error:
        sys.stderr.write("worker.py: protocol error: %s\n" % error)
        return 2
    except BrokenPipeError:
        return 0  # the supervisor is gone
    return 0  # EOF on fd 3: the supervisor is gone


if __name__ == "__main__":
    sys.exit(main())
