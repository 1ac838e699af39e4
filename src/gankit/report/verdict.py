"""The verdict at the top of a run's page and of a comparison page: one line per run with its
state and its headline metrics from metrics.json (modes captured of K, high-quality share,
reverse KL, per-mode fit, FID, KID, precision and recall, C2ST...), each with the protocol it
was measured under, so a reader sees how the runs did before reading any table."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping

from .metrics import value_and_protocol
from .runs import ReportedRun, status_text
from .values import command_text, fmt, fmt_spread, href, is_number, plain, to_json

# fields that say how a number was measured, not how good the run is
_BOOKKEEPING = {"n", "n_test", "n_real", "n_fake", "n_kept", "n_samples", "subsets", "subset_size",
                "splits", "seconds", "counts", "std", "se", "sem", "ci_low", "ci_high", "measured",
                "worst_mode", "classifier", "epsilon"}
_GENERIC_LIMIT = 3  # headline numbers of a metric the verdict has no rule for


def _item(field: str, text: str, value: Any) -> dict:
    return {"field": field, "text": text, "value": to_json(value)}


def _number(value: Any, key: str) -> Any:
    found = value.get(key) if isinstance(value, Mapping) else None
    return found if is_number(found) else None


def _modes(value: Any, protocol: Any) -> list[dict]:
    items = []
    captured = _number(value, "modes")
    if captured is not None:
        k = _number(protocol, "n_modes") or _number(value, "n_modes")
        if k is None and isinstance(value.get("counts"), list):
            k = len(value["counts"])
        items.append(_item("modes", f"{captured} of {k} modes" if k else f"{captured} modes", captured))
    if (hq := _number(value, "hq")) is not None:
        items.append(_item("hq", f"{fmt(hq, percent=True)} high quality", hq))
    if (kl := _number(value, "reverse_kl")) is not None:
        items.append(_item("reverse_kl", f"reverse KL {fmt(kl)} nats", kl))
    return items


def _mode_fit(value: Any, protocol: Any) -> list[dict]:
    items = []
    for key, label, unit in (("spread", "spread ratio", ""), ("offset", "mean offset", " std")):
        part = value.get(key) if isinstance(value, Mapping) else None
        mean = _number(part, "mean")
        if mean is None:
            continue
        worst = _number(part, "worst")
        tail = f" (worst {fmt(worst)}{unit})" if worst is not None else ""
        items.append(_item(f"{key}.mean", f"{label} {fmt(mean)}{unit}{tail}", mean))
    return items


def _labelled(label: str, percent: bool = False) -> Callable[[Any, Any], list[dict]]:
    """A metric shown as LABEL and its value (a number, or mean ± std)."""
    def headline(value: Any, protocol: Any) -> list[dict]:
        if is_number(value):
            return [_item("", f"{label} {fmt(value, percent=percent)}", value)]
        mean = _number(value, "mean")
        if mean is not None:
            spread = _number(value, "std")
            text = fmt_spread(mean, spread, percent=percent) if spread is not None else fmt(mean, percent=percent)
            return [_item("mean", f"{label} {text}", mean)]
        return []
    return headline


def _fields(*spec: tuple[str, str, bool]) -> Callable[[Any, Any], list[dict]]:
    """A metric whose headline is some of its fields: (field, label, shown as a percentage)."""
    def headline(value: Any, protocol: Any) -> list[dict]:
        return [_item(key, f"{label} {fmt(v, percent=percent)}", v) for key, label, percent in spec
                if (v := _number(value, key)) is not None]
    return headline


def _classes(value: Any, protocol: Any) -> list[dict]:
    items = _fields(("normalised_entropy", "class entropy", True))(value, protocol)
    if items:
        items[0]["text"] += " of log K"
    accuracy = _number(value.get("per_class_accuracy") if isinstance(value, Mapping) else None, "accuracy")
    if accuracy is not None:
        items.append(_item("per_class_accuracy.accuracy", f"class accuracy {fmt(accuracy, percent=True)}",
                           accuracy))
    return items


HEADLINES: dict[str, Callable[[Any, Any], list[dict]]] = {
    "modes": _modes,
    "mode_fit": _mode_fit,
    "fid": _labelled("FID"),
    "kid": _labelled("KID"),
    "prdc": _fields(("precision", "precision", True), ("recall", "recall", True)),
    "c2st": _fields(("accuracy", "C2ST accuracy", True)),
    "is": _labelled("IS"),
    "classes": _classes,
    "diversity": _fields(("ratio", "diversity ratio", False)),
    "ppl": _fields(("ppl", "PPL", False)),
}


def _generic(name: str, value: Any) -> list[dict]:
    """A metric without a rule: its value, or its first few numbers (a mean stands for its dict)."""
    if is_number(value) or _number(value, "mean") is not None:
        return _labelled(name)(value, None)
    items = []
    for key, field in (value.items() if isinstance(value, Mapping) else ()):
        if key in _BOOKKEEPING:
            continue
        number = field if is_number(field) else _number(field, "mean")
        if number is not None:
            path = key if is_number(field) else f"{key}.mean"
            items.append(_item(path, f"{name} {key} {fmt(number)}", number))
        if len(items) == _GENERIC_LIMIT:
            break
    return items


def headline(name: str, value: Any, protocol: Any) -> list[dict]:
    """The verdict's items for one metric: [{"field", "text", "value" (JSON)}]."""
    value = plain(value)
    rule = HEADLINES.get(name.split("@")[0])      # "modes@drs": refined samples, same rule
    items = rule(value, protocol) if rule is not None else []
    return items or _generic(name, value)


def protocol_summary(protocol: Any) -> str:
    """How a metric was measured, in a few words: samples on each side and the feature space."""
    if not isinstance(protocol, Mapping):
        return "protocol not recorded"
    n_fake, n_real = protocol.get("n_fake"), protocol.get("n_real")
    text = f"{n_fake} generated" + (f" vs {n_real} real samples" if n_real else " samples")
    if protocol.get("features"):
        text += f", {protocol['features']} features"
    return text


def _ordered(results: Mapping[str, Any]) -> list[str]:
    known = [name for name in HEADLINES if name in results]
    return known + [name for name in results if name not in HEADLINES]


def verdict(runs: list[ReportedRun], base: Path) -> list[dict]:
    """One line per run for the page's template (see templates/report.html, "verdict").

    A metric is flagged "not comparable" when runs on the same data measured it under different
    protocols; runs on different data are not compared with each other at all."""
    protocols: dict[tuple[str, str], set[str]] = {}

    def key(run, name):
        return name, str(run.data.get("fingerprint") or run.data.get("name") or run.name)

    for r in runs:
        for name, entry in r.results.items():
            protocols.setdefault(key(r, name), set()).add(to_json(value_and_protocol(entry)[1]))
    lines = []
    for r in runs:
        groups = []
        for name in _ordered(r.results):
            value, protocol = value_and_protocol(r.results[name])
            items = headline(name, value, protocol)
            if items:
                groups.append({"metric": name, "headlines": items, "protocol": protocol_summary(protocol),
                               "comparable": len(protocols[key(r, name)]) == 1})
        shared = {g["protocol"] for g in groups}
        for g in groups:
            g["shown_protocol"] = "" if len(shared) == 1 else g["protocol"]
        lines.append({"run": r.name, "href": href(r.path, base) or "", "state": r.state,
                      "state_text": status_text(r), "groups": groups,
                      "protocol": shared.pop() if len(shared) == 1 else "",
                      # no results: the command that measures the run
                      "measure": "" if r.results else command_text(["gankit", "eval", str(r.path)])})
    return lines
