#!/usr/bin/env python3
"""bench/oci/corpus.py DIR [MIB]: writes the synthetic benchmark tree, deterministically (fixed seed).

About MIB MiB in three parts, as the benchmarks issue asks:
  text/   many small text files (1-16 KiB, mean ~8 KiB): 5/16 of the size, drawn from a 64 MiB pool of
          pseudo-English (words of a 6000-word vocabulary), so they compress like source and docs do;
  bin/    mid-sized binaries (128 KiB-2 MiB): 5/16, 4 KiB blocks that are random (40%), low-entropy
          (16 symbols, 40%) or zeros (20%): partly compressible, like object code and data files;
  large/  large incompressible files (random, 64 MiB each): the rest, like compressed archives and weights.
Files and directories get mode 0644/0755 and mtime 2026-01-01; nothing else (no links), so the same tree
can also be a recipe's `files` source.
"""
import os
import random
import sys

MIB = 1 << 20
MTIME = 1767225600  # 2026-01-01T00:00:00Z


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    os.utime(path, (MTIME, MTIME))


def text_pool(rng, size):
    letters = "etaoinshrdlucmfwypvbgkjqxz"
    weights = [12.7, 9.1, 8.2, 7.5, 7.0, 6.7, 6.3, 6.1, 6.0, 4.3, 4.0, 2.8, 2.8, 2.4, 2.4, 2.0, 2.0, 1.9, 1.5, 1.0,
               0.8, 0.8, 0.2, 0.2, 0.1, 0.1]
    vocabulary = ["".join(rng.choices(letters, weights, k=rng.randint(1, 11))) for _ in range(6000)]
    zipf = [1.0 / (rank + 1) for rank in range(len(vocabulary))]
    out = bytearray()
    while len(out) < size:
        words = rng.choices(vocabulary, zipf, k=200_000)
        for i in range(0, len(words), 12):
            out += (" ".join(words[i:i + 12]) + ".\n").encode()
    return bytes(out[:size])


def main():
    root = sys.argv[1]
    total = int(sys.argv[2]) * MIB if len(sys.argv) > 2 else 1024 * MIB
    rng = random.Random(20261121)
    text_total = total * 5 // 16
    bin_total = total * 5 // 16
    large_total = total - text_total - bin_total

    pool = text_pool(rng, 64 * MIB)
    written, n = 0, 0
    while written < text_total:
        d = os.path.join(root, "text", "d%03d" % (n // 400))
        if n % 400 == 0:
            os.makedirs(d, exist_ok=True)
        size = min(rng.randint(1024, 16 * 1024), text_total - written)
        start = rng.randrange(0, len(pool) - size)
        header = b"# file %d\n" % n
        write(os.path.join(d, "f%05d.txt" % n), header + pool[start:start + size - len(header)])
        written += size
        n += 1
    text_files = n

    low = bytes(b"\x00\x01\x02\x03\x10\x20\x40\x80\xff\xfe\x48\x89\xe8\xc3\x0f\x8b" * 16)
    table = bytes(low[i] for i in range(256))
    os.makedirs(os.path.join(root, "bin"), exist_ok=True)
    written, n = 0, 0
    while written < bin_total:
        size = min(rng.randint(128 * 1024, 2 * MIB) // 4096 * 4096, bin_total - written)
        blocks = []
        for _ in range(max(1, size // 4096)):
            kind = rng.random()
            if kind < 0.4:
                blocks.append(rng.randbytes(4096))
            elif kind < 0.8:
                blocks.append(rng.randbytes(4096).translate(table))
            else:
                blocks.append(bytes(4096))
        write(os.path.join(root, "bin", "lib%04d.so" % n), b"".join(blocks)[:size])
        written += size
        n += 1
    bin_files = n

    os.makedirs(os.path.join(root, "large"), exist_ok=True)
    written, n = 0, 0
    while written < large_total:
        size = min(64 * MIB, large_total - written)
        write(os.path.join(root, "large", "blob%02d.bin" % n), rng.randbytes(size))
        written += size
        n += 1
    for directory, subdirs, _ in os.walk(root, topdown=False):
        for name in subdirs:
            os.utime(os.path.join(directory, name), (MTIME, MTIME))
    os.utime(root, (MTIME, MTIME))
    print("%d text files, %d binaries, %d large files, %d bytes" % (text_files, bin_files, n, total))


if __name__ == "__main__":
    main()
