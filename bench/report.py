#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Turns the "VV-BENCH {json}" lines of one guest run (bench/blk.sh, bench/net.sh) into a
table, a JSON file and a chart of ratios.

Every ratio is taken within a round: a contender's figure over the baseline's figure in the
same round, so two figures from different moments of the run never meet. The baseline of a
disk workload is the best kernel configuration (the one with the best median); of a net
workload (txonly, rxonly, rtt), DPDK's testpmd. The table gives the median of those
per-round ratios and their range (min-max). Units: IOPS, frames/s (pps); MB/s is 10^6 bytes
per second (net: frame bytes without FCS).

Usage: bench/report.py CONSOLE_LOG OUT_DIR      (writes OUT_DIR/bench.json, ratios.svg)
"""
import json
import os
import shutil
import statistics
import subprocess
import sys

KERNEL = ("kernel libaio", "kernel io_uring", "kernel polled", "kernel psync")
# The FUSE file at QD1 is also held to the kernel's one-request-per-system-call path.
PSYNC = "kernel psync"
DPDK = ("DPDK testpmd",)
NET = ("txonly", "rxonly", "rtt")


def is_net(workload):
    return workload.split(" ")[0] in NET


def baselines(workload):
    """Who a workload's ratios are taken against, best median first among them."""
    return DPDK if is_net(workload) else KERNEL


def load(path):
    rows, meta = [], {}
    with open(path, errors="replace") as f:
        for line in f:
            line = line.strip().replace("\r", "")
            # A progress line on the guest's console may run into the front of ours.
            at = line.find("VV-BENCH {")
            if at >= 0:
                rows.append(json.loads(line[at + len("VV-BENCH "):]))
            elif line.startswith("VV-BENCH-DONE"):
                meta = dict(kv.split("=", 1) for kv in line.split()[1:])
    return rows, meta


def metric(workload):
    """What a workload is judged by: IOPS for small requests, bytes/s for large ones, frames/s
    for net (so that 64-byte and 1500-byte figures read alike)."""
    if is_net(workload):
        return "pps"
    return "iops" if workload.startswith("4K") else "bytes_per_s"


def summarize(rows):
    by = {}
    for r in rows:
        by.setdefault(r["workload"], {}).setdefault(r["who"], {})[r["round"]] = r
    out = []
    for workload, whos in by.items():
        m = metric(workload)
        med = {w: statistics.median(x[m] for x in rs.values()) for w, rs in whos.items()}
        kernels = [w for w in baselines(workload) if w in whos]
        best = max(kernels, key=lambda w: med[w]) if kernels else None
        # The FUSE file is bounded by the guest's copy rate: compare large I/O to it too.
        ceil = by.get("copy 1M", {}).get("guest copy, 1 thread(s)")
        entries = []
        for who, rs in whos.items():
            e = {"who": who, "rounds": len(rs),
                 "median": med[who], "min": min(x[m] for x in rs.values()),
                 "max": max(x[m] for x in rs.values()),
                 "lat_us_median": statistics.median(x.get("lat_us", 0) for x in rs.values())}
            if is_net(workload):
                e["gbps_median"] = statistics.median(
                    x["bytes_per_s"] * 8 / 1e9 for x in rs.values())
            if best:
                ratios = [rs[k][m] / whos[best][k][m] for k in rs
                          if k in whos[best] and whos[best][k][m]]
                lats = [rs[k].get("lat_us", 0) / whos[best][k]["lat_us"] for k in rs
                        if k in whos[best] and whos[best][k].get("lat_us")]
                if ratios:
                    e["ratio"] = {"median": statistics.median(ratios),
                                  "min": min(ratios), "max": max(ratios)}
                if lats:
                    e["lat_ratio"] = {"median": statistics.median(lats),
                                      "min": min(lats), "max": max(lats)}
            if who.startswith("FUSE") and PSYNC in whos:
                pr = [rs[k][m] / whos[PSYNC][k][m] for k in rs
                      if k in whos[PSYNC] and whos[PSYNC][k][m]]
                if pr:
                    e["to_psync"] = {"median": statistics.median(pr),
                                     "min": min(pr), "max": max(pr)}
            if ceil and m == "bytes_per_s" and who.startswith("FUSE"):
                cr = [rs[k][m] / ceil[k]["bytes_per_s"] for k in rs if k in ceil]
                if cr:
                    e["of_copy_ceiling"] = {"median": statistics.median(cr),
                                            "min": min(cr), "max": max(cr)}
            entries.append(e)
        out.append({"workload": workload, "metric": m, "best_kernel": best,
                    "contenders": entries})
    return out


def fmt_val(m, v):
    return f"{v:,.0f}" if m in ("iops", "pps") else f"{v / 1e6:,.1f}"


def fmt_range(r):
    return f"{r['median']:.2f}x ({r['min']:.2f}-{r['max']:.2f})"


def table(summary):
    lines = []
    for s in summary:
        unit = {"iops": "IOPS", "pps": "frames/s"}.get(s["metric"], "MB/s")
        against = (f"ratios per round to {s['best_kernel']}, median (min-max)"
                   if s["best_kernel"] else "no baseline contender")
        lines.append(f"\n{s['workload']}  ({unit}; {against})")
        lines.append(f"  {'contender':<24} {'median':>10} {'min':>10} {'max':>10} "
                     f"{'x baseline':>22} {'lat us':>9} {'x lat':>22}")
        for e in s["contenders"]:
            m = s["metric"]
            lines.append(
                f"  {e['who']:<24} {fmt_val(m, e['median']):>10} {fmt_val(m, e['min']):>10} "
                f"{fmt_val(m, e['max']):>10} "
                f"{fmt_range(e['ratio']) if 'ratio' in e else '':>22} "
                f"{e['lat_us_median']:>9.1f} "
                f"{fmt_range(e['lat_ratio']) if 'lat_ratio' in e else '':>22}"
                + (f"  {fmt_range(e['of_copy_ceiling'])} of the 1-thread copy rate"
                   if "of_copy_ceiling" in e else "")
                + (f"  {fmt_range(e['to_psync'])} of kernel psync" if "to_psync" in e else "")
                + (f"  {e['gbps_median']:.3f} Gbit/s" if "gbps_median" in e else ""))
    return "\n".join(lines)


def chart(summary, out_dir):
    """One bar per contender and workload: the median ratio, with its range as error bars."""
    if not shutil.which("gnuplot"):
        print("report: gnuplot not found, no chart (apt-get install gnuplot-nox)",
              file=sys.stderr)
        return None
    dat = os.path.join(out_dir, "ratios.dat")
    labels = []
    with open(dat, "w") as f:
        i = 0
        for s in summary:
            for e in s["contenders"]:
                if "ratio" not in e:
                    continue
                r = e["ratio"]
                label = f"{s['workload']}: {e['who']}"
                f.write(f"{i} {r['median']:.4f} {r['min']:.4f} {r['max']:.4f} \"{label}\"\n")
                labels.append(label)
                i += 1
    if not labels:
        return None
    svg = os.path.join(out_dir, "ratios.svg")
    height = max(400, 18 * len(labels) + 120)
    script = f"""
set terminal svg size 1000,{height} dynamic noenhanced font 'sans,11'
set output '{svg}'
set title 'Over the baseline (disks: the best kernel configuration; net: DPDK testpmd) in the same round: median and range of the rounds'
set xlabel 'ratio (1 = the baseline)'
set yrange [{len(labels)}:-1]
set ytics nomirror
set grid x
set key off
set style fill solid 0.5
set arrow from 1, graph 0 to 1, graph 1 nohead dt 2
plot '{dat}' using 2:1:(0):2:($1-0.35):($1+0.35):ytic(5) with boxxyerror, \\
     '' using 2:1:3:4 with xerrorbars pt 7 ps 0.4 lc rgb 'black'
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    return svg


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    rows, meta = load(sys.argv[1])
    if not rows:
        print("report: no VV-BENCH lines in " + sys.argv[1], file=sys.stderr)
        return 1
    summary = summarize(rows)
    os.makedirs(sys.argv[2], exist_ok=True)
    with open(os.path.join(sys.argv[2], "bench.json"), "w") as f:
        json.dump({"schema": 1, "runtime_s": int(meta.get("runtime", 0)),
                   "rounds": int(meta.get("rounds", 0)), "units": {
                       "iops": "requests per second", "bytes_per_s": "bytes per second",
                       "pps": "frames per second",
                       "lat_us": "mean completion latency, microseconds",
                       "share": "net: txonly, the share of frames offered that the ring "
                                "refused; rxonly, the share of receive polls that found "
                                "nothing (null: not known)"},
                   "measurements": rows, "summary": summary}, f, indent=1)
    print(table(summary))
    svg = chart(summary, sys.argv[2])
    print(f"\nwritten: {sys.argv[2]}/bench.json" + (f", {svg}" if svg else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
