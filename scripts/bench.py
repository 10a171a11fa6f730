#!/usr/bin/env python3
"""The benchmark behind scripts/bench.sh (which builds the binaries first): generates repositories
of ~1,000, ~10,000 and ~50,000 znodes, starts a real ZooKeeper, and measures the median wall time
and peak memory (max RSS) of each step, for jones-sync and, side by side in the same run, for the
one-znode-per-round-trip baseline and ZooKeeper's own batched limit (examples/bench-zk.rs).

Each measurement is one process (or two, for plan + apply), timed from spawn to exit; its peak
memory is the kernel's max RSS, as GNU time reports it. The contestants run interleaved, run by run, so that a
slow moment of the machine hits all of them alike.

`--targets` measures instead the multi-cluster `plan` (`[targets]` in jones-sync.toml): three throwaway
ZooKeepers, each holding the whole ~10,000-znode repository (`--sizes` for others), and the no-op
`plan` against one of them (`--target a`) and against all three, uncached and with a warm cache.

`--ui` measures instead the web UI of `jones-sync serve`: a fleet of 1,000 services (4 environments,
10 keys, 20 hosts each) and one service of 500 environments (30 keys, 200 hosts), each applied to
its own chroot and served by its own `jones-sync serve --no-cache`; then each page's server time,
from sending the request to its last byte over loopback (the connection opened beforehand), run
after run, against the 200 ms target.

`--schemas` measures instead what typed configuration costs (`services/<svc>/schema.json`, checked
against every environment's view whenever the repository is read): for each size (~10,000 and
~50,000 znodes unless `--sizes`), the same repository generated twice, without and with
`gen-repo --schemas` (identical config and hosts files, plus one schema per service), and
`validate` of each, uncached (`--no-cache`: every service parsed and checked) and with a warm cache,
against the 20% target. No ZooKeeper: `validate` contacts none.
"""

import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import socket
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JONES = os.path.join(ROOT, "target/release/jones-sync")
GEN = os.path.join(ROOT, "target/release/examples/gen-repo")
BENCH = os.path.join(ROOT, "target/release/examples/bench-zk")
TIME = "/usr/bin/time"  # GNU time, for the peak memory (scripts/bench.sh installs it)

# Repository shape: 40 environments per service (83 znodes), 30 keys per environment on average,
# 100 hosts per service. Sizes grow by adding services, as a real deployment does; each service's
# transaction stays around 200 kB, well under the 1 MB request limit.
ENVS, KEYS, HOSTS = 40, 30, 100
SIZES = {1000: 12, 10000: 120, 50000: 600}  # ~znodes -> services
COMMITS = 7  # one-service commits the server takes in each writing mode
# `--ui`: the two repositories (services, environments, keys, hosts) and the requirement.
UI_FLEET = (1000, 4, 10, 20)
UI_BIG = (1, 500, 30, 200)
UI_TARGET_MS = 200
# `--schemas`: the most that checking every view against its service's schema may add to `validate`.
SCHEMA_TARGET = 1.20
LABELS = {
    "no-op plan": "no-op plan (--no-cache)",
    "1% change saved plan": "1% change plan --out + apply FILE",
    "1% change saved plan: plan --out": "1% change: plan --out alone",
    "1% change saved plan: apply FILE": "1% change: apply FILE alone",
}


def run(cmd, check=True, capture=False):
    """Runs `cmd` (a list), returning its stdout when `capture`."""
    result = subprocess.run(cmd, stdout=subprocess.PIPE if capture else subprocess.DEVNULL, text=True)
    if check and result.returncode != 0:
        sys.exit(f"bench: `{' '.join(cmd)}` failed with exit code {result.returncode}")
    return result.stdout if capture else result.returncode


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(cmd):
    """Wall seconds, max RSS in bytes and CPU seconds of one process; its output is discarded.

    The peak memory comes from GNU time, whose own small process forks the command: the kernel
    counts a process's peak from the process it was forked from, so a measure taken from this
    Python process would never read below Python's own size.
    """
    with tempfile.NamedTemporaryFile(mode="r") as rss:
        start = time.perf_counter()
        proc = subprocess.run(
            [TIME, "-f", "%M %U %S", "-o", rss.name, *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            sys.exit(f"bench: `{' '.join(cmd)}` failed with exit code {proc.returncode}:\n{proc.stderr.decode()}")
        maxrss, user, system = rss.read().split()[-3:]
        return wall, int(maxrss) * 1024, float(user) + float(system)


def measure_all(cmds):
    """Several processes one after the other (plan, then apply): summed time, largest memory,
    and each process's own figures."""
    results = [measure(cmd) for cmd in cmds]
    return sum(r[0] for r in results), max(r[1] for r in results), sum(r[2] for r in results), results


class Bench:
    def __init__(self, args, work):
        self.args = args
        self.work = work
        self.zk = None
        self.zk_dirs = []  # the data directories of the servers started, all stopped at the end
        self.target_rows = []  # Markdown rows of the `--targets` table
        self.target_notes = []
        self.results = []  # dicts: size, step, contestant, times, memories
        self.serve_rows = []  # Markdown rows of the `serve` table
        self.ui_rows = []  # `--ui`: (page, path, times in s, size in bytes, first request in s)
        self.schema_rows = []  # `--schemas`: Markdown rows of its table
        self.schema_notes = []
        self.servers = []  # `jones-sync serve` processes running, all stopped at the end

    def start_zookeeper(self, name="zookeeper"):
        """Starts a throwaway server with its data in the work directory's `name` (each on its own
        free loopback port) and returns its connect string; `stop_zookeeper` stops every one."""
        zk_dir = os.path.join(self.work, name)
        self.zk_dirs.append(zk_dir)  # before starting: a half-started server is stopped too
        # A 50,000-znode tree and the garbage of resetting it need more than the default heap.
        env = dict(os.environ, ZOOKEEPER_HEAP="2g")
        proc = subprocess.run(
            [os.path.join(ROOT, "scripts/zookeeper.sh"), "start", zk_dir], stdout=subprocess.PIPE, text=True, env=env
        )
        if proc.returncode != 0:
            sys.exit(f"bench: ZooKeeper did not start (its log is {zk_dir}/zookeeper.log)")
        connect = proc.stdout.strip()
        if self.zk is None:
            self.zk = connect
        print(f"ZooKeeper at {connect} (data in {zk_dir})", file=sys.stderr)
        return connect

    def stop_zookeeper(self):
        for zk_dir in self.zk_dirs:
            run([os.path.join(ROOT, "scripts/zookeeper.sh"), "stop", zk_dir], check=False)
        self.zk_dirs = []

    def start_server(self, repo, zk, *extra):
        """Starts `jones-sync serve` for `repo` on a free loopback port and waits until `/readyz`
        answers 200: returns the process, its port and the seconds it took. Its log is in the work
        directory; `stop_servers` stops every server still running (also on error)."""
        port = free_port()
        cmd = [JONES, "serve", "--repo", repo, "--zk", zk, "--listen", f"127.0.0.1:{port}", *extra]
        log_path = os.path.join(self.work, f"serve-{port}.log")
        with open(log_path, "w") as log:
            server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log)
        self.servers.append(server)
        started = time.perf_counter()
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5)
                return server, port, time.perf_counter() - started
            except Exception:
                if server.poll() is not None or time.perf_counter() - started > 300:
                    with open(log_path) as log:
                        tail = "".join(log.readlines()[-20:])
                    sys.exit(f"bench: the server (`{' '.join(cmd)}`) did not become ready; its log ends:\n{tail}")
                time.sleep(0.05)

    def stop_server(self, server):
        if server.poll() is None:
            server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server in self.servers:
            self.servers.remove(server)

    def stop_servers(self):
        for server in list(self.servers):
            self.stop_server(server)

    def record(self, size, step, contestant, samples):
        times = [s[0] for s in samples]
        memories = [s[1] for s in samples]
        cpus = [s[2] for s in samples]
        entry = dict(size=size, step=step, contestant=contestant, times=times, memories=memories, cpu=cpus)
        self.results.append(entry)
        print(
            f"  {step:<22} {contestant:<16} median {statistics.median(times):7.3f} s  "
            f"max RSS {max(memories) / 2**20:6.1f} MB  ({len(times)} runs)",
            file=sys.stderr,
        )

    def repo(self, name, services, change, envs=ENVS, keys=KEYS, hosts=HOSTS, schemas=False):
        path = os.path.join(self.work, name)
        cmd = [GEN, "--out", path, "--services", str(services), "--envs", str(envs), "--keys", str(keys)]
        cmd += ["--hosts", str(hosts), "--seed", "1"]
        if change:
            cmd += ["--change", str(change)]
        if schemas:
            cmd += ["--schemas"]
        print("  " + run(cmd, capture=True).strip(), file=sys.stderr)
        # A real checkout: plan and apply read git's state as in CI.
        git = ["git", "-C", path, "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
        run(git[:3] + ["init", "-q"])
        run(git[:3] + ["add", "-A"])
        run(git + ["commit", "-q", "-m", name])
        return path

    def bench_size(self, size, services, runs, baseline_runs):
        print(f"\n~{size} znodes ({services} services)", file=sys.stderr)
        repos = {"base": self.repo(f"repo-{size}", services, 0), "changed": self.repo(f"repo-{size}-changed", services, 1)}
        dumps = {state: os.path.join(self.work, f"dump-{size}-{state}") for state in repos}
        zk = f"{self.zk}/bench-{size}"
        other = {"base": "changed", "changed": "base"}

        def jones(repo, *args, cache=None):
            # The two repositories are unrelated histories that the runs alternate between: an
            # apply of one over the other's commit is an order git cannot prove, which apply skips
            # unless told (`--allow-older`).
            if args[0] == "apply" and not any(arg.endswith(".json") for arg in args):
                args = (*args, "--allow-older")
            # Cold unless told: every step parses the whole repository, as without a cache.
            caching = ["--cache", cache] if cache else ["--no-cache"]
            return [JONES, "--repo", repo, "--zk", zk, *caching, *args]

        def bench(*args):
            return [BENCH, args[0], "--zk", zk, *args[1:]]

        def check_no_changes(state):
            code = run(jones(repos[state], "plan", "--detailed-exitcode"), check=False)
            if code != 0:
                sys.exit(f"bench: `plan` of {repos[state]} does not say `No changes` after the step (exit {code})")

        if self.args.serve_only:
            run(bench("reset"))
            self.bench_serve(size, repos["base"], zk, jones, bench)
            run(bench("reset"))
            return

        # Setup, which also warms ZooKeeper up: both states applied and dumped.
        run(bench("reset"))
        run(jones(repos["base"], "apply", "--yes"))
        check_no_changes("base")
        run(bench("dump", "--file", dumps["base"]))
        counts = re.search(r"Plan: .*", run(jones(repos["changed"], "plan"), capture=True)).group(0)
        print(f"  the 1% change: {counts}", file=sys.stderr)
        run(jones(repos["changed"], "apply", "--yes"))
        check_no_changes("changed")
        run(bench("dump", "--file", dumps["changed"]))
        run(jones(repos["base"], "apply", "--yes"))

        samples = [measure([JONES, "--repo", repos["base"], "--no-cache", "validate"]) for _ in range(runs)]
        self.record(size, "validate", "jones-sync", samples)

        # Contestants run interleaved; the first run of each is checked (plan says `No changes`).
        def contest(step, contestants, parts=()):
            """Runs each contestant `runs` times, interleaved. With `parts`, a sample of several
            processes is also recorded process by process, as `step: part`."""
            samples = {name: [] for name in contestants}
            for i in range(runs):
                for name, (prepare, command, check) in contestants.items():
                    if name == "one-at-a-time" and i >= baseline_runs:
                        continue
                    prepare()
                    samples[name].append(command())
                    if i == 0 and check:
                        check()
            for name, values in samples.items():
                self.record(size, step, name, [v[:3] for v in values])
                for k, part in enumerate(parts):
                    if all(len(v) == 4 for v in values):
                        self.record(size, f"{step}: {part}", name, [v[3][k] for v in values])

        def reset():
            run(bench("reset"))

        contest(
            "first apply",
            {
                "jones-sync": (reset, lambda: measure(jones(repos["base"], "apply", "--yes")), lambda: check_no_changes("base")),
                "one-at-a-time": (reset, lambda: measure(bench("apply", "--repo", repos["base"])), lambda: check_no_changes("base")),
                "batched limit": (reset, lambda: measure(bench("write", "--file", dumps["base"])), lambda: check_no_changes("base")),
            },
        )

        contest(
            "no-op plan",
            {
                "jones-sync": (lambda: None, lambda: measure(jones(repos["base"], "plan")), None),
                "one-at-a-time": (lambda: None, lambda: measure(bench("plan", "--repo", repos["base"])), None),
                "batched limit": (lambda: None, lambda: measure(bench("read", "--file", dumps["base"])), None),
            },
        )

        # The parse cache (`--cache DIR`): a plan that fills an empty cache, then plans with the
        # cache warm, as CI runs them with the cache directory kept between jobs.
        cache = os.path.join(self.work, f"cache-{size}")

        def empty_cache():
            shutil.rmtree(cache, ignore_errors=True)

        def check_warm():
            code = run(jones(repos["base"], "plan", "--detailed-exitcode", cache=cache), check=False)
            if code != 0:
                sys.exit(f"bench: the warm-cache `plan` of {repos['base']} does not say `No changes` (exit {code})")

        plan_cached = lambda: measure(jones(repos["base"], "plan", cache=cache))  # noqa: E731
        contest("no-op plan (empty cache)", {"jones-sync": (empty_cache, plan_cached, None)})
        contest("no-op plan (warm cache)", {"jones-sync": (lambda: None, plan_cached, check_warm)})
        empty_cache()

        # Each run changes 1% of the environments: from the state ZooKeeper is in to the other one
        # (the change, or its reverse, which touches the same nodes), so no run needs a reset.
        state = ["base"]

        def flip(command):
            def step():
                target = other[state[0]]
                result = command(target)
                state[0] = target
                return result

            return step

        def check_state():
            check_no_changes(state[0])

        contest(
            "1% change plan+apply",
            {
                "jones-sync": (
                    lambda: None,
                    flip(lambda t: measure_all([jones(repos[t], "plan"), jones(repos[t], "apply", "--yes")])),
                    check_state,
                ),
                "one-at-a-time": (
                    lambda: None,
                    flip(lambda t: measure_all([bench("plan", "--repo", repos[t]), bench("apply", "--repo", repos[t])])),
                    check_state,
                ),
                "batched limit": (lambda: None, flip(lambda t: measure(bench("change", "--file", dumps[t]))), check_state),
            },
            parts=("plan", "apply"),
        )

        # The same change as CI would run it on a large fleet: `plan --out FILE` on the pull
        # request, `apply FILE` on merge. The saved plan's apply does not read the repository again,
        # and reads live state only for the services the plan changes.
        plan_file = os.path.join(self.work, f"plan-{size}.json")
        contest(
            "1% change saved plan",
            {
                "jones-sync": (
                    lambda: None,
                    flip(
                        lambda t: measure_all(
                            [jones(repos[t], "plan", "--out", plan_file), jones(repos[t], "apply", "--yes", plan_file)]
                        )
                    ),
                    check_state,
                ),
                "batched limit": (lambda: None, flip(lambda t: measure(bench("change", "--file", dumps[t]))), check_state),
            },
            parts=("plan --out", "apply FILE"),
        )

        # jones-sync's ZooKeeper layer alone, side by side with the limit.
        contest(
            "live read only",
            {
                "jones-sync": (lambda: None, lambda: measure(bench("jones-read", "--file", dumps[state[0]])), None),
                "batched limit": (lambda: None, lambda: measure(bench("read", "--file", dumps[state[0]])), None),
            },
        )
        contest(
            "live write only",
            {
                "jones-sync": (reset, lambda: measure(bench("jones-write", "--file", dumps["base"])), None),
                "batched limit": (reset, lambda: measure(bench("write", "--file", dumps["base"])), None),
            },
        )
        self.bench_serve(size, repos["base"], zk, jones, bench)
        reset()  # frees the server's memory for the next size

    def bench_serve(self, size, repo, zk, jones, bench):
        """`jones-sync serve` on the base repository: drift detection (its own histogram, from an
        edit's mtime to the drift being known), a one-service commit until the API shows its plan,
        idle CPU, resident memory."""
        run(jones(repo, "apply", "--yes"))
        cache = os.path.join(self.work, f"serve-cache-{size}")

        def start(interval, *extra):
            return self.start_server(repo, zk, "--cache", cache, "--interval", interval, *extra)

        stop = self.stop_server

        # Idle cost, drift detection and memory, following the branch every 60 s (the default).
        server, port, ready = start("60")
        try:
            ticks = lambda: sum(int(x) for x in open(f"/proc/{server.pid}/stat").read().rsplit(")", 1)[1].split()[11:13])
            before = ticks()
            time.sleep(10)
            idle = (ticks() - before) / os.sysconf("SC_CLK_TCK") / 10
            services = sorted(os.listdir(os.path.join(repo, "services")))[:50]
            edits = ["--path"] * (2 * len(services))
            edits[1::2] = [f"/services/{svc}/conf" for svc in services]
            run(bench("set", *edits, "--every", "100"))
            time.sleep(0.5)
            buckets, count = [], 0
            text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30).read().decode()
            for line in text.splitlines():
                if line.startswith("jones_sync_drift_detect_seconds_bucket"):
                    le = line.split('le="')[1].split('"')[0]
                    buckets.append((float("inf") if le == "+Inf" else float(le), float(line.split()[-1])))
                elif line.startswith("jones_sync_drift_detect_seconds_count"):
                    count = float(line.split()[-1])
            quantile = lambda q: next(le for le, n in buckets if n >= q * count) if count else float("nan")
            rss = next(int(l.split()[1]) for l in open(f"/proc/{server.pid}/status") if l.startswith("VmRSS")) * 1024
        finally:
            stop(server)
        # One service changed by each of a few commits, the branch followed every 20 ms: from the
        # server finding the commit to its plans known (observe) and its changes applied (apply),
        # from the server's own histograms.
        git = ["git", "-C", repo, "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
        base_sha = subprocess.run(git[:3] + ["rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()

        def histogram(port, name):
            text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30).read().decode()
            found = {}
            for line in text.splitlines():
                for part in ("sum", "count"):
                    if line.startswith(f"{name}_{part} "):
                        found[part] = float(line.split()[-1])
            return found.get("sum", 0.0), found.get("count", 0.0)

        def commits(mode, metric):
            run(jones(repo, "apply", "--yes"))
            server, port, _ = start("0.02", "--mode", mode)
            seconds = []
            try:
                for i, svc in enumerate(services[:COMMITS]):
                    before = histogram(port, metric)
                    with open(os.path.join(repo, "services", svc, "config.toml"), "a") as f:
                        f.write(f"\nbench_commit = {i}\n")
                    run(git + ["commit", "-q", "-am", f"{svc}: one key"])
                    waited = time.perf_counter()
                    while (after := histogram(port, metric))[1] == before[1]:
                        if time.perf_counter() - waited > 60:
                            sys.exit(f"bench: the server ({mode}) never took the commit")
                        time.sleep(0.05)  # the figure is the server's own: polling faster only loads it
                    seconds.append(after[0] - before[0])
            finally:
                stop(server)
                run(git + ["reset", "-q", "--hard", base_sha])
            run(jones(repo, "apply", "--yes"))
            return seconds

        planned = commits("observe", "jones_sync_commit_plan_seconds")
        applied = commits("apply", "jones_sync_commit_apply_seconds")
        self.serve_rows.append(
            f"| {size:,} | {ready:.2f} s | {quantile(0.5) * 1000:.0f} ms | {quantile(0.99) * 1000:.0f} ms "
            f"| {statistics.median(planned) * 1000:.1f} ms (max {max(planned) * 1000:.1f}) "
            f"| {statistics.median(applied) * 1000:.1f} ms (max {max(applied) * 1000:.1f}) "
            f"| {idle * 100:.2f}% | {rss / 2**20:.0f} MB |"
        )
        print(f"  serve: {self.serve_rows[-1]}", file=sys.stderr)

    def bench_targets(self, size, services, runs):
        """`plan` against one target and against three (`[targets]` in jones-sync.toml), each its own
        throwaway ZooKeeper holding the whole repository: no-op plans against full live state, the
        repository read once and planned against every target in parallel."""
        print(f"\n~{size} znodes ({services} services), three targets", file=sys.stderr)
        names = ["a", "b", "c"]
        servers = {name: self.start_zookeeper(f"zookeeper-{name}") for name in names}
        pids = [int(open(os.path.join(d, "zookeeper.pid")).read()) for d in self.zk_dirs[-len(names):]]
        repo = self.repo(f"repo-{size}", services, 0)
        settings = os.path.join(repo, "jones-sync.toml")
        text = "\n".join(f'[targets.{name}]\nzk = "{servers[name]}"\n' for name in names)
        with open(settings, "a") as f:
            f.write(("\n" if f.tell() else "") + text)
        git = ["git", "-C", repo, "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
        run(git[:3] + ["add", "jones-sync.toml"])
        run(git + ["commit", "-q", "-m", "three targets"])
        # Every target's address is the settings': an inherited JONES_SYNC_ZK would be a --zk.
        os.environ.pop("JONES_SYNC_ZK", None)
        cache = os.path.join(self.work, f"cache-{size}-targets")

        def jones(*args, cache_dir=None):
            caching = ["--cache", cache_dir] if cache_dir else ["--no-cache"]
            return [JONES, "--repo", repo, *caching, *args]

        one = ["--target", "a"]
        run(jones("apply", "--yes"))  # every target, wave by wave
        for target in (one, []):
            code = run(jones("plan", "--detailed-exitcode", *target), check=False)
            if code != 0:
                sys.exit(f"bench: `plan {' '.join(target)}` does not say `No changes` after the apply (exit {code})")
        run(jones("plan", cache_dir=cache))  # fills the cache: the cached plans below are warm

        def zk_ticks():
            total = 0
            for pid in pids:
                with open(f"/proc/{pid}/stat") as stat:
                    total += sum(int(x) for x in stat.read().rsplit(")", 1)[1].split()[11:13])
            return total

        def measured(cmd):
            """`measure`, with the CPU the three servers spent meanwhile."""
            before = zk_ticks()
            wall, rss, cpu = measure(cmd)
            return wall, rss, cpu, (zk_ticks() - before) / os.sysconf("SC_CLK_TCK")

        # `validate` reads the repository as `plan` does and contacts no ZooKeeper: the read's share.
        contestants = {
            ("validate", "uncached"): jones("validate"),
            ("validate", "warm cache"): jones("validate", cache_dir=cache),
            ("one target", "uncached"): jones("plan", *one),
            ("three targets", "uncached"): jones("plan"),
            ("one target", "warm cache"): jones("plan", *one, cache_dir=cache),
            ("three targets", "warm cache"): jones("plan", cache_dir=cache),
        }
        # Interleaved, run by run, so that a slow moment of the machine hits all of them alike.
        samples = {key: [] for key in contestants}
        for _ in range(runs):
            for key, cmd in contestants.items():
                samples[key].append(measured(cmd))
        figures = {}
        for (rows, mode), values in samples.items():
            self.record(size, f"targets: {rows}, {mode}", "jones-sync", [v[:3] for v in values])
            self.results[-1]["zookeeper_cpu"] = [v[3] for v in values]
            figures[rows, mode] = dict(
                time=statistics.median(v[0] for v in values),
                rss=max(v[1] for v in values),
                cpu=statistics.median(v[2] for v in values),
                zk_cpu=statistics.median(v[3] for v in values),
            )

        def row(label, cells):
            self.target_rows.append(f"| {size:,} | {label} | " + " | ".join(cells) + " |")

        for rows in ("one target", "three targets"):
            u, w = figures[rows, "uncached"], figures[rows, "warm cache"]
            row(rows, [f"{u['time']:.3f} s", f"{w['time']:.3f} s", f"{max(u['rss'], w['rss']) / 2**20:.0f} MB",
                       f"{u['cpu']:.2f} s", f"{u['zk_cpu']:.2f} s"])
        ratio = lambda mode, key: figures["three targets", mode][key] / figures["one target", mode][key]  # noqa: E731
        rss_ratio = max(figures["three targets", m]["rss"] for m in ("uncached", "warm cache")) / max(
            figures["one target", m]["rss"] for m in ("uncached", "warm cache")
        )
        row("**three / one**", [f"**{ratio('uncached', 'time'):.2f}×**", f"**{ratio('warm cache', 'time'):.2f}×**",
                                f"{rss_ratio:.2f}×", f"{ratio('uncached', 'cpu'):.2f}×",
                                f"{ratio('uncached', 'zk_cpu'):.2f}×"])
        verdicts = []
        for mode in ("uncached", "warm cache"):
            r = ratio(mode, "time")
            verdicts.append(f"{mode} {r:.2f}× ({'met' if r <= 1.5 else f'missed by {(r / 1.5 - 1) * 100:.1f}%'})")
        read = {mode: figures["validate", mode]["time"] for mode in ("uncached", "warm cache")}
        self.target_notes.append(
            f"~{size:,} znodes: the repository read alone (`validate`, no ZooKeeper) takes {read['uncached']:.3f} s "
            f"uncached and {read['warm cache']:.3f} s with the warm cache, "
            f"{read['uncached'] / figures['one target', 'uncached']['time'] * 100:.0f}% and "
            f"{read['warm cache'] / figures['one target', 'warm cache']['time'] * 100:.0f}% of the one-target plan. "
            f"The issue's target, three targets ≤ 1.5× one: {', '.join(verdicts)}."
        )

    def bench_schemas(self, size, services, runs):
        """`validate` of the same repository without and with a schema per service (`gen-repo
        --schemas`), uncached and with a warm cache, the four interleaved run by run."""
        print(f"\n~{size} znodes ({services} services), without and with schemas", file=sys.stderr)
        repos = {
            "without": self.repo(f"repo-{size}", services, 0),
            "with": self.repo(f"repo-{size}-schemas", services, 0, schemas=True),
        }

        # The very same repository but for the schemas: every other file's blob is the same.
        def blobs(repo):
            listing = run(["git", "-C", repo, "ls-files", "-s"], capture=True).splitlines()
            return [line for line in listing if not line.endswith("/schema.json")], len(listing)

        (plain, _), (typed, files) = blobs(repos["without"]), blobs(repos["with"])
        if plain != typed or files - len(typed) != services:
            sys.exit(f"bench: {repos['with']} is not {repos['without']} plus one schema.json per service")
        schema_bytes = sum(
            os.path.getsize(os.path.join(repos["with"], "services", svc, "schema.json"))
            for svc in os.listdir(os.path.join(repos["with"], "services"))
        )
        caches = {variant: os.path.join(self.work, f"cache-{size}-{variant}") for variant in repos}

        def validate(variant, cached):
            caching = ["--cache", caches[variant]] if cached else ["--no-cache"]
            return [JONES, "--repo", repos[variant], *caching, "validate"]

        # Each must validate clean (`measure` stops on any failure); this also fills the caches, so
        # that the cached runs below are warm (the cache is per commit: each service's tree).
        for variant in repos:
            out = run(validate(variant, True), capture=True)
            if "is valid" not in out:
                sys.exit(f"bench: `validate` of {repos[variant]} does not say it is valid:\n{out}")

        contestants = {
            (mode, variant): validate(variant, mode == "warm cache")
            for mode in ("uncached", "warm cache")
            for variant in ("without", "with")
        }
        # Interleaved, run by run, so that a slow moment of the machine hits all of them alike.
        samples = {key: [] for key in contestants}
        for _ in range(runs):
            for key, cmd in contestants.items():
                samples[key].append(measure(cmd))
        figures = {}
        for (mode, variant), values in samples.items():
            self.record(size, f"schemas: validate, {mode}, {variant}", "jones-sync", values)
            figures[mode, variant] = dict(
                time=statistics.median(v[0] for v in values),
                rss=max(v[1] for v in values),
                cpu=statistics.median(v[2] for v in values),
            )
        for mode in ("uncached", "warm cache"):
            a, b = figures[mode, "without"], figures[mode, "with"]
            ratio = b["time"] / a["time"]
            verdict = "met" if ratio <= SCHEMA_TARGET else f"**missed** by {(ratio / SCHEMA_TARGET - 1) * 100:.1f}%"
            label = "`validate --no-cache`" if mode == "uncached" else "`validate`, warm cache"
            self.schema_rows.append(
                f"| {size:,} | {label} | {a['time']:.3f} s | {b['time']:.3f} s | **{ratio:.2f}×** "
                f"({(ratio - 1) * 100:+.1f}%) | {a['cpu']:.2f} s → {b['cpu']:.2f} s ({b['cpu'] / a['cpu']:.2f}×) "
                f"| {a['rss'] / 2**20:.0f} MB → {b['rss'] / 2**20:.0f} MB ({b['rss'] / a['rss']:.2f}×) | {verdict} |"
            )
        self.schema_notes.append(
            f"~{size:,} znodes: {services} services, {services} schemas ({schema_bytes / services / 1000:.1f} kB each "
            f"on average); uncached overhead {figures['uncached', 'with']['time'] - figures['uncached', 'without']['time']:.3f} s "
            f"wall, {figures['uncached', 'with']['cpu'] - figures['uncached', 'without']['cpu']:.2f} s CPU."
        )

    def schema_table(self):
        head = [
            f"| znodes | command | without schemas | with schemas | with / without (wall) | CPU, without → with "
            f"| peak RSS, without → with | ≤ {SCHEMA_TARGET:.2f}× |",
            "|---:|---|---:|---:|---:|---:|---:|---|",
        ]
        return "\n".join(head + self.schema_rows) + "\n\n" + "\n".join(self.schema_notes)

    def bench_ui(self, runs):
        """The web UI of `jones-sync serve`: two repositories, each applied to its own chroot and
        served by its own server (`--no-cache`), and each page's server time, `runs` times."""
        sites = {}
        for name, (services, envs, keys, hosts) in (("ui-fleet", UI_FLEET), ("ui-big", UI_BIG)):
            print(f"\n{name}: {services} services × {envs} environments, {keys} keys, {hosts} hosts", file=sys.stderr)
            repo = self.repo(name, services, 0, envs=envs, keys=keys, hosts=hosts)
            zk = f"{self.zk}/{name}"
            run([BENCH, "reset", "--zk", zk])  # creates the chroot
            jones = [JONES, "--repo", repo, "--zk", zk, "--no-cache"]
            run(jones + ["apply", "--yes"])
            code = run(jones + ["plan", "--detailed-exitcode"], check=False)
            if code != 0:
                sys.exit(f"bench: `plan` of {repo} does not say `No changes` after the apply (exit {code})")
            _, port, ready = self.start_server(repo, zk, "--no-cache")
            # Ready means read; the pages are measured once every service is known in sync.
            waited = time.perf_counter()
            while True:
                status = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/services", timeout=60))
                in_sync = sum(1 for s in status["services"] if s["in_sync"])
                if in_sync == services == len(status["services"]):
                    break
                if time.perf_counter() - waited > 120:
                    sys.exit(f"bench: the server of {name} shows {in_sync} of {len(status['services'])} services "
                             f"in sync ({services} expected)")
                time.sleep(0.2)
            print(f"  served on port {port}: ready in {ready:.2f} s, {services} services in sync", file=sys.stderr)
            sites[name] = (repo, port)

        # The fleet's pages: the overview, filtered by a string no name holds (`svc`: the filter's
        # cost alone) and by the commonest word of the names (a page of matches), and its page 2.
        fleet_repo, fleet_port = sites["ui-fleet"]
        names = sorted(os.listdir(os.path.join(fleet_repo, "services")))
        words = {}
        for n in names:
            word = n.rsplit("-", 1)[0]
            words[word] = words.get(word, 0) + 1
        common = max(sorted(words), key=lambda w: words[w])
        matches = lambda q: sum(1 for n in names if q in n)  # noqa: E731
        pages = [
            ("overview", fleet_port, "/"),
            (f"overview, `q=svc` ({matches('svc')} matches)", fleet_port, "/?q=svc"),
            (f"overview, `q={common}` ({matches(common)} matches)", fleet_port, "/?" + urllib.parse.urlencode({"q": common})),
        ]
        _, first_page = self.fetch_page(fleet_port, "/")
        if b"page=2" in first_page:
            pages.append(("overview, page 2", fleet_port, "/?page=2"))
        else:
            print("  the overview has no page 2: not measured", file=sys.stderr)

        # The big service's pages: its root, its deepest leaf environment, a host of that leaf, its
        # history.
        big_repo, big_port = sites["ui-big"]
        (svc,) = os.listdir(os.path.join(big_repo, "services"))
        top = os.path.join(big_repo, "services", svc)
        leaves = []  # (depth, env path, first host)
        for directory, _, files in os.walk(top):
            if "hosts.toml" not in files:
                continue
            with open(os.path.join(directory, "hosts.toml")) as f:
                hosts = re.findall(r'"([^"]+)"', f.read())
            env = os.path.relpath(directory, top).replace(os.sep, "/")
            if hosts and env != ".":
                leaves.append((-env.count("/"), env, hosts[0]))
        if not leaves:
            sys.exit(f"bench: no environment of {svc} has hosts")
        _, env, host = min(leaves)
        base = f"/ui/services/{urllib.parse.quote(svc, safe='')}"
        pages += [
            (f"service root ({UI_BIG[1]} environments)", big_port, base),
            (f"service at `{env}`", big_port, f"{base}?env={urllib.parse.quote(env, safe='')}"),
            (f"host `{host}`", big_port, f"/ui/hosts/{urllib.parse.quote(host, safe='')}"),
            ("service history", big_port, f"{base}/history"),
        ]

        # One request of each page first (checked; its time shown apart), then `runs` rounds, the
        # pages interleaved so that a slow moment of the machine hits all of them alike.
        first = {}
        for label, port, path in pages:
            first[path], body = self.fetch_page(port, path)
            if "service at" in label and b"No environment" in body:
                sys.exit(f"bench: {path} shows no environment `{env}`")
            if label.startswith("host") and svc.encode() not in body:
                sys.exit(f"bench: {path} does not show the service {svc}")
        samples = {path: [] for _, _, path in pages}
        sizes = {}
        for _ in range(runs):
            for _, port, path in pages:
                elapsed, body = self.fetch_page(port, path)
                samples[path].append(elapsed)
                sizes[path] = len(body)
        for label, _, path in pages:
            times = samples[path]
            self.ui_rows.append((label, path, times, sizes[path], first[path]))
            self.results.append(dict(size=None, step=f"ui: {label}", contestant="jones-sync", path=path, times=times,
                                     first=first[path], bytes=sizes[path]))
            print(f"  {label:<48} median {statistics.median(times) * 1000:7.1f} ms  max {max(times) * 1000:7.1f} ms  "
                  f"{sizes[path] / 1000:7.1f} kB", file=sys.stderr)
        self.stop_servers()

    @staticmethod
    def fetch_page(port, path):
        """GET `path`: seconds from sending the request to the response's last byte (on a
        connection opened beforehand, so connecting is not counted), and the body."""
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            conn.connect()
            start = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            elapsed = time.perf_counter() - start
        finally:
            conn.close()
        if response.status != 200:
            sys.exit(f"bench: GET {path} answered {response.status}:\n{body[:2000].decode(errors='replace')}")
        return elapsed, body

    def ui_table(self):
        lines = [
            f"| page | path | median ms | max ms | size kB | first request ms | under {UI_TARGET_MS} ms |",
            "|---|---|---:|---:|---:|---:|---|",
        ]
        for label, path, times, size, first in self.ui_rows:
            median, top = statistics.median(times) * 1000, max(times) * 1000
            if top < UI_TARGET_MS:
                verdict = "yes"
            elif median < UI_TARGET_MS:
                verdict = "median yes, max no"
            else:
                verdict = "**no**"
            lines.append(f"| {label} | `{path}` | {median:.1f} | {top:.1f} | {size / 1000:.1f} | {first * 1000:.1f} "
                         f"| {verdict} |")
        return "\n".join(lines)

    def targets_table(self):
        head = [
            "| znodes | targets | uncached plan, median | warm-cache plan, median | peak RSS | jones-sync CPU (uncached)"
            " | ZooKeeper CPU (uncached, all servers) |",
            "|---:|---|---:|---:|---:|---:|---:|",
        ]
        return "\n".join(head + self.target_rows) + "\n\n" + "\n".join(self.target_notes)

    def serve_table(self):
        head = [
            "| znodes | ready (first read) | drift known, p50 ≤ | drift known, p99 ≤ | one-service commit found → planned"
            " | → applied (apply mode) | idle CPU | resident memory |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        return "\n".join(head + self.serve_rows)

    def table(self):
        def get(size, step, contestant):
            for r in self.results:
                if (r["size"], r["step"], r["contestant"]) == (size, step, contestant):
                    return r
            return None

        lines = [
            "| znodes | step | jones-sync | CPU | peak memory | one znode per round trip | speed-up | batched limit"
            " | × limit |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        steps = [
            "validate",
            "no-op plan",
            "no-op plan (empty cache)",
            "no-op plan (warm cache)",
            "first apply",
            "1% change plan+apply",
            "1% change plan+apply: plan",
            "1% change plan+apply: apply",
            "1% change saved plan",
            "1% change saved plan: plan --out",
            "1% change saved plan: apply FILE",
            "live read only",
            "live write only",
        ]
        for size in sorted({r["size"] for r in self.results}):
            for step in steps:
                mine = get(size, step, "jones-sync")
                if not mine:
                    continue
                t = statistics.median(mine["times"])
                label = LABELS.get(step) or step.replace("1% change plan+apply: ", "1% change: ") + (
                    " alone" if ": " in step else ""
                )
                cold = get(size, "no-op plan", "jones-sync")
                if step.startswith("no-op plan (") and cold:
                    label += f", {t / statistics.median(cold['times']):.2f}× the no-op plan"
                cpu = statistics.median(mine["cpu"])
                row = [f"{size:,}", label, f"{t:.3f} s", f"{cpu:.2f} s", f"{max(mine['memories']) / 2**20:.0f} MB"]
                base = get(size, step, "one-at-a-time")
                if base:
                    b = statistics.median(base["times"])
                    row += [f"{b:.2f} s", f"{b / t:.1f}×"]
                else:
                    row += ["", ""]
                limit = get(size, step, "batched limit")
                if limit:
                    lim = statistics.median(limit["times"])
                    row += [f"{lim:.3f} s", f"{t / lim:.2f}"]
                else:
                    row += ["", ""]
                lines.append("| " + " | ".join(row) + " |")
        return "\n".join(lines)


# The baseline takes seconds per step from 10,000 znodes on, and half a minute at 50,000: it runs
# fewer times there, and the largest size fewer times in all, to keep a full run within minutes.
def size_runs(size, runs):
    return min(runs, 3) if size >= 50000 else runs


def baseline_runs(size, runs):
    return 1 if size >= 50000 else min(runs, 3) if size >= 10000 else runs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="~1,000 and ~10,000 znodes, 3 runs (about two minutes)")
    parser.add_argument("--runs", type=int, help="runs per measurement (default 5, 3 with --quick)")
    parser.add_argument("--sizes", help="comma-separated subset of 1000,10000,50000")
    parser.add_argument("--json", help="also write every sample to this file")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (repositories, dumps)")
    parser.add_argument("--serve-only", action="store_true", help="measure only `jones-sync serve`")
    parser.add_argument(
        "--ui",
        action="store_true",
        help=f"measure only the web UI of `jones-sync serve`: the overview of {UI_FLEET[0]:,} services and a "
        f"service of {UI_BIG[1]} environments (with its host and history pages), each page's server time "
        f"against the {UI_TARGET_MS} ms target (--runs times each)",
    )
    parser.add_argument(
        "--schemas",
        action="store_true",
        help="measure only `validate` of the same repository without and with a JSON Schema per service "
        "(`gen-repo --schemas`), uncached and with a warm cache, against the 20%% target (default sizes "
        "10000,50000); no ZooKeeper",
    )
    parser.add_argument(
        "--targets",
        action="store_true",
        help="measure only `plan` against one target vs three (`[targets]`, three throwaway ZooKeepers), uncached "
        "and with a warm cache (default size 10000)",
    )
    args = parser.parse_args()
    if sum(map(bool, (args.targets, args.serve_only, args.ui, args.schemas))) > 1:
        parser.error("--targets, --serve-only, --ui and --schemas are separate runs: choose one")
    runs = args.runs or (3 if args.quick else 5)
    if args.targets:
        default_sizes = [10000]
    elif args.schemas:
        default_sizes = [10000, 50000]
    else:
        default_sizes = [1000, 10000] if args.quick else list(SIZES)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else default_sizes
    for size in sizes:
        if size not in SIZES:
            sys.exit(f"bench: unknown size {size}: choose from {', '.join(map(str, SIZES))}")

    work = tempfile.mkdtemp(prefix="jones-sync-bench.")
    bench = Bench(args, work)
    started = time.perf_counter()
    load_start = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    try:
        if args.ui:
            bench.start_zookeeper()
            bench.bench_ui(runs)
        elif args.schemas:
            for size in sizes:
                bench.bench_schemas(size, SIZES[size], runs)
        elif args.targets:
            for size in sizes:
                bench.bench_targets(size, SIZES[size], size_runs(size, runs))
                bench.stop_zookeeper()  # three fresh servers for the next size
        else:
            bench.start_zookeeper()
            for size in sizes:
                bench.bench_size(size, SIZES[size], size_runs(size, runs), baseline_runs(size, runs))
    finally:
        bench.stop_servers()
        bench.stop_zookeeper()
        if args.keep:
            print(f"work directory kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(bench.results, f, indent=1)
    load_end = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    if args.ui:
        print(
            f"\n{os.cpu_count()} CPUs, load average {load_start} at the start and {load_end} at the end, "
            f"{time.perf_counter() - started:.0f} s in all.\n"
        )
        print(f"The web UI of `jones-sync serve --no-cache`: a fleet of {UI_FLEET[0]:,} services ({UI_FLEET[1]} "
              f"environments, {UI_FLEET[2]} keys, {UI_FLEET[3]} hosts each) and one service of {UI_BIG[1]} "
              f"environments ({UI_BIG[2]} keys, {UI_BIG[3]} hosts), each server on its own chroot, in sync. "
              f"Server time: from sending the request to the last byte, over loopback, the connection opened "
              f"beforehand; median and max of {runs} runs, the pages interleaved, after one first request of each "
              f"(shown apart). Sizes are uncompressed. Target: under {UI_TARGET_MS} ms.\n")
        print(bench.ui_table())
        return
    if args.schemas:
        print(
            f"\n{os.cpu_count()} CPUs, load average {load_start} at the start and {load_end} at the end, "
            f"{time.perf_counter() - started:.0f} s in all.\n"
        )
        print(f"`validate` of the same repository without and with a JSON Schema per service (`gen-repo --schemas`: "
              f"every key typed, nested tables too, `additionalProperties: false`), uncached (`--no-cache`: every "
              f"service parsed and every view checked) and with a warm cache; medians of {runs} runs, the four "
              f"interleaved; CPU: median user + system seconds; peak RSS: the largest of the runs. Target: with "
              f"schemas at most {SCHEMA_TARGET:.2f}× without.\n")
        print(bench.schema_table())
        return
    if args.targets:
        counts = "; ".join(f"{size:,}: {size_runs(size, runs)} runs" for size in sizes)
    else:
        counts = "; ".join(
            f"{size:,}: {size_runs(size, runs)} runs ({baseline_runs(size, runs)} one at a time)" for size in sizes
        )
    print(
        f"\n{os.cpu_count()} CPUs, load average {load_start} at the start and {load_end} at the end, "
        f"{time.perf_counter() - started:.0f} s in all. Medians of {counts}:\n"
    )
    if args.targets:
        print("`plan` against `--target a` (one target) and against every target (three), no-op: each target a ZooKeeper "
              "of its own, holding the repository (peak RSS: the larger of the uncached and warm-cache runs; CPU: "
              "median user + system seconds):\n")
        print(bench.targets_table())
        return
    print(bench.table())
    if bench.serve_rows:
        print("\n`jones-sync serve` (50 out-of-band edits 100 ms apart; drift quantiles are the upper bounds of "
              "its histogram's buckets; idle CPU and memory with the default `--interval 60`; commits: median and max of "
              f"{COMMITS} one-service commits, from the server finding the commit after its fetch, by its own histograms):\n")
        print(bench.serve_table())


if __name__ == "__main__":
    main()
