"""Runs jwas and the DuckDB peer alternately and prints the comparison table.

Called by benches/compare.sh (which prepares the corpus, the build and the venv)."""
import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys


def timed(cmd):
    """Runs cmd under /usr/bin/time -v; returns (seconds, peak RSS in MiB, stdout+stderr)."""
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, errors="replace")
    out = p.stdout
    if p.returncode != 0:
        sys.exit("failed (exit %d): %s\n%s" % (p.returncode, " ".join(cmd), out[-4000:]))
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", out)
    secs = int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out).group(1)) / 1024
    return secs, rss, out


def ndjson_digest(jwas, corpus, threads):
    """md5 of jwas's NDJSON rows (in input order) without p_parse_time, the one column
    that differs between runs."""
    cmd = ('"$0" parse "$1" --format ndjson --out - --threads %d '
           '--reference-time 2023-12-31T23:59:59Z 2>/dev/null '
           '| sed -E \'s/"p_parse_time":"[^"]*",?//\' | md5sum' % threads)
    p = subprocess.run(["sh", "-c", cmd, jwas, corpus], stdout=subprocess.PIPE, text=True, check=True)
    return p.stdout.split()[0]


def files(root):
    out = []
    for d, _, fs in os.walk(root):
        out += [os.path.relpath(os.path.join(d, f), root) for f in fs if f.endswith(".parquet")]
    return sorted(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--jwas", required=True)
    ap.add_argument("--peer", required=True)
    ap.add_argument("--out-root", help="where outputs go (default: --dir)")
    ap.add_argument("--scale", type=int, default=4,
                    help="also run jwas on the corpus repeated N times from stdin, to show "
                         "that peak memory does not grow with the input (0: skip)")
    a = ap.parse_args()
    root = a.out_root or a.dir
    for d in os.listdir(root) if os.path.isdir(root) else []:
        if d.startswith("out-"):
            shutil.rmtree(os.path.join(root, d), ignore_errors=True)
    size = os.path.getsize(a.corpus)
    mb = size / 1e6
    with open(a.corpus, "rb") as f:  # into the page cache, for every contender alike
        while f.read(1 << 24):
            pass

    # Every run writes to a new directory, and all are deleted at the end: on ext4 without
    # a journal, creating files right after deleting tens of thousands costs several
    # times more (inode allocation skips recently deleted inodes), which no real run sees.
    counter = [0]

    def fresh(name):
        counter[0] += 1
        return os.path.join(root, "out-%s-%d" % (name, counter[0]))

    # One thread, pinned to one core: jwas --threads 1 still overlaps reading, parsing and
    # writing in separate threads, so without the pin it would use two cores.
    one_core = ["taskset", "-c", "0"] if shutil.which("taskset") else []

    def jwas(threads):
        out = fresh("jwas-t%d" % threads)
        last[threads] = out
        return (one_core if threads == 1 else []) + [a.jwas, "parse", a.corpus, "--out", out, "--threads", str(threads),
                "--reference-time", "2023-12-31T23:59:59Z"], out

    last = {}

    def peer():
        out = fresh("duckdb")
        return [sys.executable, a.peer, a.corpus, out, "--threads", "2", "--year", "2023"], out

    contenders = [("jwas --threads 2", lambda: jwas(2)),
                  ("jwas --threads 1, 1 core", lambda: jwas(1)),
                  ("duckdb peer --threads 2", peer)]
    results = {name: [] for name, _ in contenders}
    summary_lines = {}
    for run in range(a.runs):
        for name, make in contenders:
            cmd, out = make()
            secs, rss, text = timed(cmd)
            results[name].append((secs, rss))
            print("run %d  %-24s %7.2f s  %7.1f MB/s  %6.0f MiB" % (run + 1, name, secs, mb / secs, rss),
                  file=sys.stderr, flush=True)
            if name.startswith("jwas"):
                summary_lines[name] = [l for l in text.splitlines()
                                       if l.startswith(("lines ", "rows:", "wrote "))]
    med = {n: (statistics.median(s for s, _ in r), max(m for _, m in r)) for n, r in results.items()}
    duck = med["duckdb peer --threads 2"][0]
    one = med["jwas --threads 1, 1 core"][0]
    print()
    print("corpus: %s (%.0f MB), %d runs each, alternating; median time, max peak RSS" % (
        os.path.basename(a.corpus), mb, a.runs))
    print("machine: %s, %d cores, %s" % (platform.machine(), os.cpu_count(), platform.platform()))
    print()
    print("| contender | median s | MB/s | peak RSS MiB | vs DuckDB | vs jwas 1 core |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, _ in contenders:
        s, rss = med[name]
        print("| %s | %.2f | %.1f | %.0f | %.2fx | %.2fx |" % (name, s, mb / s, rss, duck / s, one / s))
    print()
    for name, lines in summary_lines.items():
        for l in lines:
            print("%s: %s" % (name, l))
    if a.scale > 1:
        out = fresh("jwas-scaled")
        cmd = ["sh", "-c", 'for i in $(seq %d); do cat "$0"; done | "$1" parse - --out "$2" '
               '--threads 2 --reference-time 2023-12-31T23:59:59Z' % a.scale, a.corpus, a.jwas, out]
        secs, rss, _ = timed(cmd)
        print("memory: jwas --threads 2 on the corpus %d times (%.0f MB, from stdin): "
              "%.1f s, %.1f MB/s, peak RSS %.0f MiB (1x: %.0f MiB)" % (
                  a.scale, mb * a.scale, secs, mb * a.scale / secs, rss, med["jwas --threads 2"][1]))
        shutil.rmtree(out, ignore_errors=True)
    f2, f1 = files(last[2]), files(last[1])
    rows = {n: [l for l in lines if l.startswith("rows:")] for n, lines in summary_lines.items()}
    same_rows = len(set(map(tuple, rows.values()))) == 1
    n1 = ndjson_digest(a.jwas, a.corpus, 1)
    n2 = ndjson_digest(a.jwas, a.corpus, 2)
    same = same_rows and f1 == f2 and n1 == n2
    print("1 vs 2 threads: rows per table %s; Parquet file names %s (%d files); "
          "NDJSON rows without p_parse_time %s (md5 %s)" % (
              "equal" if same_rows else "DIFFER", "equal" if f1 == f2 else "DIFFER", len(f2),
              "equal" if n1 == n2 else "DIFFER", n2))
    for d in os.listdir(root):
        if d.startswith("out-"):
            shutil.rmtree(os.path.join(root, d), ignore_errors=True)
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
