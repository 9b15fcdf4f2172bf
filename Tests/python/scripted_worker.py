#!/usr/bin/env python3
"""A worker for the supervisor's tests that ends its work in a scripted way. It serves the PyDemo type with the
encoders and jobs of examples/python-worker/worker.py; only the end differs.

    scripted_worker.py exit-after-result [--version N]
        Answers one RUN, then exits 0 at once without reading anything more (protocol 1 unless --version): the
        bare end of work of a simple worker, with the supervisor's next RUN left unread.
    scripted_worker.py cross-retire
        Protocol 3. Answers the first RUN; reads the second and answers it with RETIRE instead, then exits 0. To
        the supervisor this is a RUN that crossed RETIRE on the wire, every time.
    scripted_worker.py retire-v2
        Protocol 2. Answers the first RUN, then sends RETIRE, which version 2 does not have.
    scripted_worker.py no-started
        Protocol 4, but answers each RUN without saying STARTED first, which version 4 requires.
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "python-worker"))
import worker  # noqa: E402

KEEPALIVE = 8
RETIRE = 9
VERSIONS = {"exit-after-result": 1, "cross-retire": 3, "retire-v2": 2, "no-started": 4}

_decode = worker.decode


def decode(body):
    """worker.py speaks version 1; versions 2 and 3 also receive KEEPALIVE (ignored here: no watchdog)."""
    if body and body[0] == KEEPALIVE:
        return KEEPALIVE, {}
    return _decode(body)


worker.decode = decode


def answer(fields):
    try:
        result = worker.run_job(fields)
        return worker.result_ok(fields["jobId"], None if result is None else json.dumps(result, separators=(",", ":")))
    except worker.JobError as error:
        return worker.result_error(fields["jobId"], error.retryable, str(error))


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in VERSIONS:
        sys.stderr.write("scripted_worker.py: the first argument must be one of %s\n" % ", ".join(sorted(VERSIONS)))
        return 2
    mode = sys.argv[1]
    worker.PROTOCOL_VERSION = VERSIONS[mode]
    if "--version" in sys.argv:
        worker.PROTOCOL_VERSION = int(sys.argv[sys.argv.index("--version") + 1])
    worker.die_with_parent()
    os.set_inheritable(worker.WORKER_FD, False)
    worker.write_all(worker.WORKER_FD, worker.hello(sorted(worker.REGISTRY)))
    answered = 0
    for kind, fields in worker.read_messages(worker.WORKER_FD):
        if kind == worker.SHUTDOWN:
            return 0
        if kind != worker.RUN:
            continue
        if mode == "cross-retire" and answered == 1:
            worker.write_all(worker.WORKER_FD, worker.frame(bytes([RETIRE])))
            return 0
        worker.write_all(worker.WORKER_FD, answer(fields))
        answered += 1
        if mode == "exit-after-result":
            return 0
        if mode == "retire-v2":
            worker.write_all(worker.WORKER_FD, worker.frame(bytes([RETIRE])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
