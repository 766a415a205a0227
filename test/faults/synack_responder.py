#!/usr/bin/env python3
"""Answers machnet-mp SYNs on a UDP socket, for testing `mn-inject --syn`.

usage: synack_responder.py IP PORT ACKNO [--ack-wait-ms T]
Prints "ready", answers the first valid SYN (54 bytes, magic 0x4e53,
net_flags 0x01) with a SYN-ACK (seqno 0, ackno ACKNO), then waits up to T ms
for the client's ACK and prints "got ack" or "no ack". Exits after 10 s.
"""
import socket
import struct
import sys
import time

HDR = struct.Struct("!HBBII32sHQ")  # 54 bytes, big-endian


def main():
    ip, port, ackno = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    ack_wait = int(sys.argv[5]) / 1000 if len(sys.argv) > 5 else 0.0
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, port))
    print("ready", flush=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data, peer = s.recvfrom(2048)
        except socket.timeout:
            break
        if len(data) != HDR.size:
            continue
        magic, nf, mf, seq, ack, _, _, _ = HDR.unpack(data)
        if magic != 0x4E53 or nf != 0x01 or seq != 0:
            continue
        s.sendto(HDR.pack(0x4E53, 0x03, 0, 0, ackno, bytes(32), 0, 0), peer)
        print("answered syn from %s:%d" % peer, flush=True)
        if ack_wait:
            s.settimeout(ack_wait)
            try:
                data, _ = s.recvfrom(2048)
                _, nf, _, seq, ack, _, _, _ = HDR.unpack(data[:HDR.size])
                print("got ack nf=0x%02x seq=%d ack=%d" % (nf, seq, ack), flush=True)
            except (socket.timeout, struct.error):
                print("no ack", flush=True)
        return 0
    print("no syn", flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
