"""`make bench-check`: do the figures in docs/benchmarks.md still reproduce?

For every section of the document, the module that writes it (its `CHECKS`) computes the
section's check rows again (a few short seeded rows through the same code as the full run) and
compares them with the values the full run recorded in the section's `<!-- CHECK ... -->` block,
within the block's tolerance. A row outside its tolerance is STALE; a section without a block
(its full run predates the blocks, or was not redone since), whose module has no check, or whose
exact rows were recorded on another CPU or torch, is UNCHECKED and named as such: never passed
silently.

    python -m benchmarks.check [--only SECTION ...] [--allow-unchecked] [--list] [--write]

--write records the outcome in the document's own "bench_check" section (machine, commit, date,
one line per section), written by the run that checked.

Exit status: 0 when every section was checked and every row reproduced; 1 when a row is stale
or a check failed to run; 2 when nothing is stale but some sections could not be checked
(0 with --allow-unchecked).
"""
from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
import time

from ._common import CHECK_RE, COMMIT_AT_START, _git, cpu_signature, head_of, read_sections

MODULES = ("bench_toy", "bench_metrics", "bench_images", "bench_image_throughput",
           "bench_mode_collapse", "bench_remedies", "bench_conditional_coverage",
           "bench_oversampling", "bench_distributed", "bench_variants", "bench_threads",
           "bench_time_to_quality", "bench_stacked_mnist", "bench_points_recipe", "bench_refine",
           "bench_clusters")


def checks() -> dict:
    """section name -> (module name, function computing its check rows)."""
    found = {}
    for name in MODULES:
        try:
            module = importlib.import_module(f"benchmarks.{name}")
        except Exception as exc:  # noqa: BLE001 - one broken module must not hide the others
            print(f"cannot import benchmarks.{name}: {exc!r}", file=sys.stderr)
            continue
        for section, fn in getattr(module, "CHECKS", {}).items():
            found[section] = (name, fn)
    return found


def _same(old, new, tolerance: dict) -> bool:
    if isinstance(old, bool) or isinstance(new, bool) or isinstance(old, str) or isinstance(new, str):
        return old == new
    if old is None or new is None:
        return old is new
    old, new = float(old), float(new)
    if math.isnan(old) or math.isnan(new):
        return math.isnan(old) and math.isnan(new)
    if tolerance.get("kind") == "exact":
        return old == new
    allowed = max(tolerance.get("rel", 0.0) * abs(old), tolerance.get("abs", 0.0))
    return abs(new - old) <= allowed


def _age(stamp: str) -> str:
    """How far the recorded commit is from HEAD, in words."""
    head = head_of(stamp)
    if not head or head == "unknown":
        return "recorded at an unknown commit"
    if not _git("cat-file", "-t", head).strip():
        return f"recorded at {stamp}, a commit this repository does not have"
    behind = _git("rev-list", "--count", f"{head}..HEAD").strip() or "?"
    changed = _git("diff", "--stat", head, "HEAD", "--", "src").strip()
    text = f"recorded at {stamp}, {behind} commit(s) before HEAD"
    text += "; src/ changed since" if changed else "; src/ unchanged since (committed)"
    if "-dirty" in stamp:
        text += "; the recording tree had uncommitted src/ changes"
    return text


def check_section(section: str, text: str, fn) -> tuple[str, list[str]]:
    """(status, lines): status OK, STALE, UNCHECKED or FAILED."""
    match = CHECK_RE.search(text)
    if match is None:
        date = next((l.split(":", 1)[1].strip() for l in text.splitlines() if l.startswith("- Date:")), "?")
        stamp = next((l.split(":", 1)[1].strip() for l in text.splitlines() if l.startswith("- Commit:")),
                     "no commit stamp")
        return "UNCHECKED", [f"no check block: its full run ({date}, {stamp}) predates check blocks or "
                             "was not redone since; re-run its benchmark to make it checkable"]
    record = json.loads(match.group(2).replace("-- >", "-->"))
    lines = [_age(record.get("commit", ""))]
    same_cpu = record.get("cpu") == cpu_signature()
    t0 = time.perf_counter()
    try:
        rows = fn()
    except Exception as exc:  # noqa: BLE001
        return "FAILED", lines + [f"the check could not run: {type(exc).__name__}: {exc}"]
    lines.append(f"recomputed in {time.perf_counter() - t0:.0f} s")
    now = {r["row"]: r for r in rows}
    status = "OK"
    for old in record["rows"]:
        tolerance = old.get("tolerance", record["tolerance"])
        new = now.get(old["row"])
        if new is None:
            lines.append(f"STALE {section}/{old['row']}: the benchmark no longer computes this row")
            status = "STALE"
            continue
        if new.get("settings", {}) != old.get("settings", {}):
            lines.append(f"STALE {section}/{old['row']}: settings changed "
                         f"({old.get('settings')} -> {new.get('settings')})")
            status = "STALE"
            continue
        if tolerance.get("kind") == "exact" and not same_cpu:
            lines.append(f"UNCHECKED {section}/{old['row']}: exact row recorded on "
                         f"{record.get('cpu')}; this is {cpu_signature()}")
            status = "UNCHECKED" if status == "OK" else status
            continue
        bad = [k for k, v in old["values"].items() if not _same(v, new["values"].get(k), tolerance)]
        if bad:
            status = "STALE"
            lines.append(f"STALE {section}/{old['row']}: " + "; ".join(
                f"{k} recorded {old['values'][k]!r}, now {new['values'].get(k)!r}" for k in bad))
        else:
            lines.append(f"ok {section}/{old['row']}")
    return status, lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="check these sections only")
    parser.add_argument("--allow-unchecked", action="store_true",
                        help="exit 0 when nothing is stale, even if some sections are unchecked")
    parser.add_argument("--list", action="store_true", help="list the sections and their checks")
    parser.add_argument("--write", action="store_true",
                        help="record the outcome in the section \"bench_check\" of docs/benchmarks.md")
    args = parser.parse_args(argv)
    from ._common import one_thread
    one_thread()
    sections = read_sections()
    found = checks()
    if args.list:
        for s in sections:
            block = "block" if CHECK_RE.search(sections[s]) else "no block"
            print(f"{s}: {found[s][0] if s in found else 'no check()'}, {block}")
        return 0
    names = [s for s in sections if (not args.only or s in args.only) and s != "bench_check"]
    print(f"bench-check at {COMMIT_AT_START}, CPU {cpu_signature()}")
    results = {}
    for section in names:
        if section not in found:
            results[section] = ("UNCHECKED", ["no benchmark module declares a check for this section"])
        else:
            print(f"... {section} ({found[section][0]})", flush=True)
            results[section] = check_section(section, sections[section], found[section][1])
        status, lines = results[section]
        print(f"{status:9s} {section}")
        for line in lines:
            print(f"          {line}")
    counts = {k: sum(1 for s, _ in results.values() if s == k)
              for k in ("OK", "STALE", "FAILED", "UNCHECKED")}
    print("summary: " + ", ".join(f"{v} {k.lower()}" for k, v in counts.items()))
    if args.write:
        from ._common import command_line, write_section
        body = ("What `make bench-check` (`python -m benchmarks.check`) found: for each section, its "
                "check rows computed again and compared with the values its full run recorded "
                "(the tolerance is stated in each section). OK: every row reproduced; STALE: a row "
                "did not; UNCHECKED: the section has no check block (its full run predates them or "
                "was not redone) or its exact rows were recorded on another CPU.\n\n"
                + "\n".join(f"- **{st}** {name}: " + "; ".join(lines)
                             for name, (st, lines) in results.items())
                + "\n\nSummary: " + ", ".join(f"{v} {k.lower()}" for k, v in counts.items()) + ".")
        write_section("bench_check", "Do the figures still reproduce? (`make bench-check`)", body,
                      command_line("check", argv), threads="one torch thread (one BLAS thread); "
                      "the threads section's check sets its own")
    stale = [s for s, (st, _) in results.items() if st in ("STALE", "FAILED")]
    if stale:
        print("stale or failed: " + ", ".join(stale))
        return 1
    if counts["UNCHECKED"] and not args.allow_unchecked:
        print("unchecked: " + ", ".join(s for s, (st, _) in results.items() if st == "UNCHECKED"))
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
