"""The bare relay's worker (see relay/main.go): score.py's init() once, then
run() for every frame (big-endian u32 length and the body) on fd 3, the
answer JSON-encoded back in the same framing. Nothing else."""
import json
import os
import socket
import struct
import sys

LEN = struct.Struct(">I")


def main():
    sys.path.insert(0, os.environ["AML_APP_ROOT"])
    import score

    score.init()
    sock = socket.socket(fileno=3)
    f = sock.makefile("rb", buffering=1 << 16)
    sock.sendall(LEN.pack(0))
    while True:
        head = f.read(4)
        if len(head) < 4:
            return
        raw = f.read(LEN.unpack(head)[0])
        out = json.dumps(score.run(raw.decode("utf-8"))).encode()
        sock.sendall(LEN.pack(len(out)) + out)


if __name__ == "__main__":
    main()
