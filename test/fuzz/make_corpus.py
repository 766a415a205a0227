#!/usr/bin/env python3
"""Writes the fuzz seed corpus (test/fuzz/corpus/) from the Machnet captures.

Usage: python3 make_corpus.py [TESTDATA_DIR] [OUT_DIR]
Defaults: ../data/machnet-trace and ./corpus next to this script.

Picks, per capture, the first frames of each kind (ARP op, net_flags,
data msg_flags) and adds variants the captures lack: valid IP/UDP checksums
(Machnet writes zeros), link padding, data frames cut to a 16-byte payload
(small inputs fuzz faster), and a 60-byte padded ARP frame.
Output is deterministic, so the committed corpus can be regenerated.
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TRACES = ["handshake_and_echo", "multi_packet_message", "teardown_rst", "loss_recovery"]
PER_KIND = 2


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off, out = 24, []
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        out.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return out


def kind(frame):
    etype = struct.unpack(">H", frame[12:14])[0]
    if etype == 0x0806:
        return "arp%d" % struct.unpack(">H", frame[20:22])[0]
    nf, mf = frame[44], frame[45]
    names = {0x00: "data", 0x01: "syn", 0x02: "ack", 0x03: "synack", 0x80: "rst"}
    k = names.get(nf, "nf%02x" % nf)
    return "%s%02x" % (k, mf) if nf == 0 else k


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(">%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def with_checksums(frame):
    f = bytearray(frame)
    f[24:26] = b"\0\0"
    f[24:26] = struct.pack(">H", csum(bytes(f[14:34])))
    udp_len = struct.unpack(">H", f[38:40])[0]
    f[40:42] = b"\0\0"
    pseudo = bytes(f[26:34]) + struct.pack(">BBH", 0, 17, udp_len)
    c = csum(pseudo + bytes(f[34:34 + udp_len]))
    f[40:42] = struct.pack(">H", c or 0xFFFF)
    return bytes(f)


def shortened(frame, plen=16):
    """The same data frame with its payload cut to plen bytes (lengths fixed)."""
    f = bytearray(frame[:96 + plen])
    f[16:18] = struct.pack(">H", 82 + plen)
    f[38:40] = struct.pack(">H", 62 + plen)
    return bytes(f)


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "data", "machnet-trace")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "corpus")
    os.makedirs(out, exist_ok=True)
    written = {}
    for name in TRACES:
        seen = {}
        for idx, frame in enumerate(read_pcap(os.path.join(src, name + ".pcap")), 1):
            k = kind(frame)
            seen[k] = seen.get(k, 0) + 1
            if seen[k] > PER_KIND or frame in written.values():
                continue
            base = "%s-%03d-%s" % (name, idx, k)
            written[base] = frame
            if seen[k] == 1 and not k.startswith("arp"):
                written[base + "-csum"] = with_checksums(frame)
                if len(frame) == 96:
                    written[base + "-pad"] = frame + b"\xaa" * 32
                else:
                    written[base + "-short"] = shortened(frame)
                    written[base + "-short-csum"] = with_checksums(shortened(frame))
            if k.startswith("arp") and seen[k] == 1:
                written[base + "-pad60"] = frame + b"\0" * 18
    for fname, data in sorted(written.items()):
        with open(os.path.join(out, fname), "wb") as f:
            f.write(data)
    print("%d files in %s" % (len(written), out))


if __name__ == "__main__":
    main()
