"""Runs jwas and every peer of ../shared/bench alternately on each corpus and prints one
table per corpus, then the targets of the throughput issue with their measured ratios.

Called by benches/compare.sh, which prepares the corpora, the build and the venv."""
import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

REFERENCE = "2023-12-31T23:59:59Z"


def timed(cmd, shell=False):
    """Runs cmd under /usr/bin/time -v; returns (seconds, peak RSS in MiB, output)."""
    full = ["/usr/bin/time", "-v"] + (["sh", "-c", cmd] if shell else cmd)
    p = subprocess.run(full, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       errors="replace")
    out = p.stdout
    if p.returncode != 0:
        sys.exit("failed (exit %d): %s\n%s" % (p.returncode, cmd, out[-4000:]))
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", out)
    secs = int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out).group(1)) / 1024
    return secs, rss, out


def ndjson_digest(jwas, corpus, threads):
    """md5 of jwas's NDJSON rows without p_parse_time (the one column that differs between
    runs), and of its rejected records; rows sorted, so that the digest does not depend on
    how rows of different tables interleave on standard output."""
    cmd = ('"$0" parse "$1" --format ndjson --out - --threads %d --reference-time %s '
           '2>/dev/null | sed -E \'s/"p_parse_time":"[^"]*",?//\' | LC_ALL=C sort -S 1G | md5sum'
           % (threads, REFERENCE))
    p = subprocess.run(["sh", "-c", cmd, jwas, corpus], stdout=subprocess.PIPE, text=True, check=True)
    return p.stdout.split()[0]


def parquet_files(root):
    out = []
    for d, _, fs in os.walk(root):
        out += [os.path.relpath(os.path.join(d, f), root) for f in fs if f.endswith(".parquet")]
    return sorted(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", action="append", required=True,
                    help="NAME=PATH; repeat for several corpora")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", required=True, help="where outputs go (removed at the end)")
    ap.add_argument("--jwas", required=True)
    ap.add_argument("--peers", required=True, help="the directory of peer_*.py")
    ap.add_argument("--python", default=sys.executable, help="the Python with duckdb and polars")
    ap.add_argument("--baseline", help="a previous jwas build: run as one more contender, and its "
                    "NDJSON rows must equal these")
    ap.add_argument("--no-hive", action="store_true", help="skip the DuckDB peer writing the Hive layout")
    ap.add_argument("--scale", type=int, default=4,
                    help="also run jwas on the corpus N times over from stdin (memory; 0 skips)")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    one_core = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    counter = [0]

    # Named after this process: another compare.py on the same --dir (a run still removing
    # its outputs) cannot remove ours, nor we its.
    mine = "out-%d-" % os.getpid()
    # Each run writes to a new directory; all are removed at the end. Creating files right
    # after deleting tens of thousands costs ext4 several times more, which no real run sees.
    def fresh(name):
        counter[0] += 1
        return os.path.join(a.dir, "%s%s-%d" % (mine, name, counter[0]))

    def peer(script, *extra):
        def make(corpus):
            out = fresh(script)
            return [a.python, os.path.join(a.peers, script), corpus, out, "--threads", "2",
                    "--year", "2023", *extra], out
        return make

    def jwas(threads, pin=False, binary=None, extra=()):
        def make(corpus):
            out = fresh("jwas-t%d" % threads)
            return (one_core if pin else []) + [binary or a.jwas, "parse", corpus, "--out", out,
                                                "--threads", str(threads), "--reference-time",
                                                REFERENCE, *extra], out
        return make

    def zstd(corpus):
        return ["sh", "-c", 'zstd -1 -T2 -q -c "$0" > /dev/null', corpus], None

    contenders = [
        ("jwas --threads 2", jwas(2)),
        ("jwas --threads 1, 1 core", jwas(1, pin=True)),
        # The same rows in daily files: what a quiet appliance's log should use (docs/guide.md,
        # "Choosing a partition level"); the targets are measured on the default above.
        ("jwas --threads 2 --partition day", jwas(2, extra=("--partition", "day"))),
        ("DuckDB peer", peer("peer_duckdb.py")),
        ("Polars peer", peer("peer_polars.py")),
    ]
    if a.baseline:
        contenders.insert(1, ("jwas --threads 2, baseline build", jwas(2, binary=a.baseline)))
    if not a.no_hive:
        contenders.append(("DuckDB peer, jwas's Hive layout", peer("peer_duckdb_hive.py", "--partition")))
    contenders.append(("zstd -1 -T2 (ceiling)", zstd))
    peers = [n for n, _ in contenders if "peer" in n and "Hive" not in n]

    print("machine: %s, %d cores, %s" % (platform.machine(), os.cpu_count(), platform.platform()))
    print("jwas: %s; %d runs each, alternating; median time, largest peak RSS\n" % (a.jwas, a.runs))
    verdicts = []
    for spec in a.corpus:
        name, corpus = spec.split("=", 1)
        size = os.path.getsize(corpus)
        mb = size / 1e6
        with open(corpus, "rb") as f:  # into the page cache, for every contender alike
            while f.read(1 << 24):
                pass
        results = {n: [] for n, _ in contenders}
        last_out = {}
        for run in range(a.runs):
            for n, make in contenders:
                cmd, out = make(corpus)
                secs, rss, text = timed(cmd)
                results[n].append((secs, rss))
                if out and n.startswith("jwas") and "baseline" not in n:
                    last_out[n] = out
                print("%s run %d  %-34s %7.2f s %7.1f MB/s %6.0f MiB" % (name, run + 1, n, secs, mb / secs, rss),
                      file=sys.stderr, flush=True)
        med = {n: (statistics.median(s for s, _ in r), max(m for _, m in r)) for n, r in results.items()}
        j2 = med["jwas --threads 2"][0]
        print("### %s: %s (%.0f MB)\n" % (name, os.path.basename(corpus), mb))
        print("| contender | median s | MB/s | peak RSS MiB | jwas --threads 2 is |")
        print("|---|---:|---:|---:|---:|")
        for n, _ in contenders:
            s, rss = med[n]
            rel = "-" if n == "jwas --threads 2" else "%.2fx" % (s / j2)
            print("| %s | %.2f | %.1f | %.0f | %s |" % (n, s, mb / s, rss, rel))
        print()

        fastest = min(peers, key=lambda n: med[n][0])
        notes = {
            "fastest peer": "%s, jwas %.2fx as fast" % (fastest, med[fastest][0] / j2),
            "vs zstd -1 -T2": "jwas at %.2fx its MB/s" % (med["zstd -1 -T2 (ceiling)"][0] / j2),
            "vs DuckDB flat": "%.2fx" % (med["DuckDB peer"][0] / j2),
            "vs DuckDB flat, jwas --partition day": "%.2fx" % (
                med["DuckDB peer"][0] / med["jwas --threads 2 --partition day"][0]),
            "2 threads vs 1 thread on 1 core": "%.2fx" % (med["jwas --threads 1, 1 core"][0] / j2),
            "peak RSS, jwas --threads 2": "%.0f MiB" % med["jwas --threads 2"][1],
        }
        if a.scale > 1:
            out = fresh("jwas-scaled")
            cmd = ['sh', '-c', 'for i in $(seq %d); do cat "$0"; done | "$1" parse - --out "$2" '
                   '--threads 2 --reference-time %s' % (a.scale, REFERENCE), corpus, a.jwas, out]
            secs, rss, _ = timed(cmd)
            notes["corpus %d times from stdin" % a.scale] = "%.1f s, %.1f MB/s, peak RSS %.0f MiB" % (
                secs, mb * a.scale / secs, rss)
            shutil.rmtree(out, ignore_errors=True)
        f1 = parquet_files(last_out["jwas --threads 1, 1 core"])
        f2 = parquet_files(last_out["jwas --threads 2"])
        d1, d2 = ndjson_digest(a.jwas, corpus, 1), ndjson_digest(a.jwas, corpus, 2)
        notes["1 vs 2 threads"] = "Parquet file names %s (%d files); NDJSON rows %s" % (
            "equal" if f1 == f2 else "DIFFER", len(f2), "equal" if d1 == d2 else "DIFFER")
        same = f1 == f2 and d1 == d2
        if a.baseline:
            notes["vs the baseline build"] = "%.2fx as fast, peak RSS %.0f vs %.0f MiB" % (
                med["jwas --threads 2, baseline build"][0] / j2, med["jwas --threads 2"][1],
                med["jwas --threads 2, baseline build"][1])
            db = ndjson_digest(a.baseline, corpus, 2)
            notes["rows vs %s" % a.baseline] = "NDJSON rows without p_parse_time %s (md5 %s)" % (
                "equal" if db == d2 else "DIFFER", d2)
            same = same and db == d2
        for k, v in notes.items():
            print("- %s: %s" % (k, v))
        print()
        verdicts.append(same)
    for d in os.listdir(a.dir):
        if d.startswith(mine):
            shutil.rmtree(os.path.join(a.dir, d), ignore_errors=True)
    sys.exit(0 if all(verdicts) else 1)


if __name__ == "__main__":
    main()
