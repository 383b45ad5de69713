"""Benchmark the streaming 835 reader (parse + balance) against x12sdk's model parser and pyx12's readers.

Run from the repo root: ``uv run python services/remittance/bench_remittance.py``. Generated ERAs are cached
under ``var/bench/`` (x12sdk's generator is slow: ~1 s per 1,000 claims); the ~100 MB file is the 10,000-claim
transaction repeated under fresh ST control numbers. Timings are the best of a few runs in this process,
so every row sees the same machine load. Exits 0 when done; prints a table.
"""

from __future__ import annotations

import io
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "var" / "bench"
TARGET_BIG_BYTES = 100 * 1024 * 1024


def generated(claims: int, seed: int) -> Path:
    path = CACHE / f"x12sdk_835_{claims}.835"
    if not path.exists():
        from x12sdk.generate import generate_835

        CACHE.mkdir(parents=True, exist_ok=True)
        path.write_text(generate_835(seed=seed, claims=claims, provider_adjustments=2))
    return path


def big_file(source: Path) -> Path:
    """One interchange with many copies of the source's ST..SE transaction (~100 MB)."""
    path = CACHE / "era_100mb.835"
    if path.exists():
        return path
    text = source.read_text()
    terminator = text[105]
    start = text.index("ST*835*")
    end = text.index("GE*", start)
    transaction = text[start:end]
    control = transaction.split("*", 3)[2].split(terminator)[0]
    copies = max(1, TARGET_BIG_BYTES // len(transaction))
    with path.open("w") as out:
        out.write(text[:start])
        for i in range(copies):
            new = f"{i + 1:09d}"
            out.write(transaction.replace(f"ST*835*{control}{terminator}", f"ST*835*{new}{terminator}", 1)
                      .replace(f"*{control}{terminator}", f"*{new}{terminator}"))
        tail = text[end:]
        out.write(tail.replace("GE*1*", f"GE*{copies}*", 1))
    return path


def best_of(fn: Callable[[], int], runs: int) -> tuple[float, int]:
    best, result = float("inf"), 0
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def ours(text: str) -> int:
    from remittance.domain.model import ClaimPayment, RemittanceSummary
    from remittance.edi.era_reader import iter_remittance

    claims = 0
    for record in iter_remittance(text):
        if isinstance(record, ClaimPayment):
            claims += 1
        elif isinstance(record, RemittanceSummary) and not record.is_balanced:
            raise SystemExit("generated ERA did not balance")
    return claims


def x12sdk_models(text: str) -> int:
    from x12sdk.io import X12ModelReader

    with X12ModelReader(text) as reader:
        return sum(1 for _ in reader.models())


def pyx12_reader(text: str) -> int:
    import pyx12.x12file

    return sum(1 for _ in pyx12.x12file.X12Reader(io.StringIO(text)))


def pyx12_raw(text: str) -> int:
    from pyx12.rawx12file import RawX12File

    return sum(1 for _ in RawX12File(io.StringIO(text)))


STREAM_CHILD = """
import sys, time, json
from remittance.edi.era_reader import iter_remittance
from remittance.domain.model import ClaimPayment

def rss_kb():  # current resident set (ru_maxrss would carry the parent's peak across exec)
    with open('/proc/self/status') as status:
        return next(int(l.split()[1]) for l in status if l.startswith('VmRSS'))

base = peak = rss_kb()
claims = 0
started = time.perf_counter()
with open(sys.argv[1], 'rb') as f:
    for record in iter_remittance(f):
        if type(record) is ClaimPayment:
            claims += 1
            if not claims % 20000:
                peak = max(peak, rss_kb())
elapsed = time.perf_counter() - started
peak = max(peak, rss_kb())
print(json.dumps({"claims": claims, "seconds": elapsed, "base_kb": base, "peak_kb": peak}))
"""


def main() -> int:
    started = time.perf_counter()
    small, medium = generated(1_000, 1), generated(10_000, 2)
    rows: list[tuple[str, str, float, float, float]] = []
    ratios: dict[str, float] = {}
    for path, claims in ((small, 1_000), (medium, 10_000)):
        text = path.read_text()
        mb = len(text.encode()) / 1e6
        # ours takes ~6 ms on 1,000 claims: more samples, so one scheduler hiccup does not decide the row
        for name, fn, runs in (("ours parse+balance", ours, 20), ("x12sdk X12ModelReader", x12sdk_models, 1),
                               ("pyx12 X12Reader", pyx12_reader, 3), ("pyx12 RawX12File", pyx12_raw, 3)):
            seconds, _ = best_of(partial(fn, text), runs)
            rows.append((path.name, name, seconds, mb / seconds, claims / seconds))
            ratios[f"{claims}:{name}"] = seconds
    big = big_file(medium)
    child = subprocess.run([sys.executable, "-c", STREAM_CHILD, str(big)], capture_output=True, text=True,
                           check=True)
    stream = json.loads(child.stdout)
    big_mb = big.stat().st_size / 1e6
    rows.append((big.name, "ours streaming (file, bytes)", stream["seconds"], big_mb / stream["seconds"],
                 stream["claims"] / stream["seconds"]))

    print(f"{'file':<22} {'reader':<30} {'seconds':>9} {'MB/s':>8} {'claims/s':>11}")
    for file, name, seconds, mbs, cps in rows:
        print(f"{file:<22} {name:<30} {seconds:>9.3f} {mbs:>8.1f} {cps:>11,.0f}")
    # The issue's reference "pyx12 bare segment reader (no model, no balancing)" is X12Reader: pyx12's public
    # reader, segments without a map. Its quoted pace (~51k claims/s, ~14x x12sdk's 3,600) matches X12Reader's
    # ratio to x12sdk here; RawX12File, an internal tokenizer that only splits text, runs ~200x x12sdk.
    for claims in (1_000, 10_000):
        mine = ratios[f"{claims}:ours parse+balance"]
        vs_sdk = ratios[f"{claims}:x12sdk X12ModelReader"] / mine
        vs_bare = ratios[f"{claims}:pyx12 X12Reader"] / mine
        pace = claims / mine
        met = pace >= 100_000 and vs_sdk >= 25 and vs_bare >= 2
        print(f"{claims:>6} claims: {vs_sdk:5.1f}x x12sdk models, {vs_bare:4.1f}x pyx12 X12Reader (bare reader), "
              f"{ratios[f'{claims}:pyx12 RawX12File'] / mine:4.2f}x pyx12 RawX12File (internal splitter); "
              f"target >=100,000 claims/s, >=25x x12sdk, >=2x bare reader: {'met' if met else 'MISSED'}")
    peak, base = stream["peak_kb"] / 1024, stream["base_kb"] / 1024
    print(f"streaming {big_mb:.0f} MB ({stream['claims']:,} claims): peak RSS {peak:.1f} MB sampled "
          f"(after imports {base:.1f} MB, grew {peak - base:.1f} MB)")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"bench process peak RSS {own:.0f} MB; total {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "services" / "remittance" / "src"))
    raise SystemExit(main())
