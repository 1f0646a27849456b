"""The bench's outputs: console lines, ratios, a Markdown table and a PNG chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

MB = 1024 * 1024
TARGET_1KB_PER_S = 40  # issue 8: 1 KB exchanges/s on this 2-core machine, both sides running
TARGET_RSS_RATIO = 3  # issue 8: peak RSS of any service below 3x a 100 MB document


def size_label(size: int) -> str:
    if size >= MB:
        return f"{size // MB} MB"
    return f"{size // 1024} KB"


def exchange_line(row: dict[str, Any]) -> str:
    top, half = row["max"], row["half_load"]
    lat = half["latency_s"]
    return (
        f"{size_label(row['size']):>7} {row['mdn']:<5} max {top['exchanges_per_s']:7.2f}/s "
        f"({top['delivered']}/{top['sent']}) | at {half['offered_per_s']}/s offered: "
        f"p50 {lat['p50']:.3f} s, p95 {lat['p95']:.3f} s, p99 {lat['p99']:.3f} s "
        f"({half['delivered']}/{half['sent']})"
        + (f" FAILURES {top['failures'] + half['failures']}" if top["failures"] else "")
    )


def cpu_line(row: dict[str, Any]) -> str:
    cpu = row["max"]["cpu_ms"]
    each = ", ".join(f"{k} {v}" for k, v in cpu.items() if k not in ("services", "machine_busy"))
    half = row["half_load"].get("cpu_ms", {})
    return (
        f"{'':>7} CPU ms per exchange in the burst: services {cpu['services']} ({each}); "
        f"machine {cpu['machine_busy']:.0%} busy"
        + (f"; at half load: services {half['services']}" if half else "")
    )


def large_label(row: dict[str, Any]) -> str:
    base64 = " base64" if row.get("encoding") == "base64" else ""
    return size_label(row["size"]) + base64 + (" again" if row.get("again") else "")


def cpu_split(row: dict[str, Any]) -> str:
    """CPU seconds per process, user + system, for those that used a tenth of a second."""
    used = row.get("cpu_user_system_s", {})
    return ", ".join(
        f"{name.split('-svc')[0]} {user}+{system}"
        for name, (user, system) in used.items()
        if user + system >= 0.1
    )


def large_line(row: dict[str, Any]) -> str:
    peaks = ", ".join(f"{k} {v['peak_rss_mb']} MB" for k, v in row["services"].items())
    return (
        f"{large_label(row)}: {row['result']['seconds']} s, {row['mb_per_s']} MB/s, "
        f"peak RSS: {peaks}; nats-server {row['nats_peak_rss_mb']} MB; "
        f"CPU s user+system: {cpu_split(row)}"
    )


def reference_lines(refs: dict[str, Any]) -> str:
    rsa, crypto = refs["rsa2048"], refs["crypto"]
    plain = ", ".join(
        f"{size_label(int(k))} {v['exchanges_per_s']}/s" for k, v in refs["pyas2lib"].items()
    )
    return (
        f"RSA-2048 one core: sign {rsa['sign_per_s']}/s, decrypt {rsa['decrypt_per_s']}/s -> "
        f"ceiling {rsa['ceiling_exchanges_per_s_machine']} exchanges/s on this machine\n"
        f"AES-256-CBC {crypto['aes256cbc_encrypt_mb_s']}/{crypto['aes256cbc_decrypt_mb_s']} MB/s "
        f"(enc/dec), SHA-256 {crypto['sha256_mb_s']} MB/s -> "
        f"{crypto['exchange_crypto_ceiling_mb_s_one_core']} MB/s per core for an exchange\n"
        f"pyas2lib alone, one process: {plain}\n{spaced_line(refs)}"
    )


def spaced_line(refs: dict[str, Any]) -> str:
    """The machine's share of a spread-out exchange's extra CPU (references.py)."""
    size, plain = min(refs["pyas2lib"].items(), key=lambda kv: int(kv[0]))
    more = plain["cpu_ms_spaced"] - plain["cpu_ms_back_to_back"]
    return (
        f"pyas2lib alone, CPU per {size_label(int(size))} exchange: "
        f"{plain['cpu_ms_back_to_back']} ms back to back, {plain['cpu_ms_spaced']} ms with "
        f"{plain['spaced_pause_ms']} ms idle before each ({more:+.2f} ms: the same code after "
        f"a pause)"
    )


def add_ratios(results: dict[str, Any]) -> None:
    refs = results["references"]
    ceiling = refs["rsa2048"]["ceiling_exchanges_per_s_machine"]
    crypto = refs["crypto"]["exchange_crypto_ceiling_mb_s_one_core"]
    for row in results["exchanges"]:
        rate = row["max"]["exchanges_per_s"]
        plain = refs["pyas2lib"].get(str(row["size"]), {}).get("exchanges_per_s")
        row["mb_per_s"] = round(rate * row["size"] / MB, 2)
        row["ratios"] = {
            "to_rsa_ceiling": round(rate / ceiling, 4),
            "to_plain_library": round(rate / plain, 2) if plain else None,
            "mb_s_to_crypto": round(row["mb_per_s"] / crypto, 4),
        }
    for row in results["large"]:
        row["mb_s_to_crypto"] = round(
            row["size"] / 1e6 / max(row["result"]["seconds"], 1e-9) / crypto, 4
        )
        row["max_peak_over_size"] = max(v["peak_over_size"] for v in row["services"].values())


def markdown(results: dict[str, Any]) -> str:
    m, refs = results["machine"], results["references"]
    lines = [
        f"Machine: {m['cores']} cores, {m['cpu']}, {m['ram_gib']} GiB RAM, Linux {m['kernel']}, "
        f"Python {m['python']}, {m['openssl_cryptography']}; load average at start "
        f"{m['load_avg_start']}, at end {m.get('load_avg_end')}. Stack: {results['stack']}. "
        f"Mode: {results['mode']}, {results['seconds']} s. MB = MiB, KB = KiB.",
        "",
        "| document | MDN | max exchanges/s | MB/s | offered (half) | p50 s | p95 s | p99 s "
        "| ÷ RSA ceiling | ÷ pyas2lib alone |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["exchanges"]:
        half, ratios = r["half_load"], r["ratios"]
        lat = half["latency_s"]
        plain = ratios["to_plain_library"]
        lines.append(
            f"| {size_label(r['size'])} | {r['mdn']} | {r['max']['exchanges_per_s']} "
            f"({r['max']['delivered']}/{r['max']['sent']}) | {r['mb_per_s']} "
            f"| {half['offered_per_s']}/s ({half['delivered']}/{half['sent']}) "
            f"| {lat['p50']} | {lat['p95']} | {lat['p99']} | {ratios['to_rsa_ceiling']:.1%} "
            f"| {'' if plain is None else f'{plain}x'} |"
        )
    lines += cpu_table(results["exchanges"])
    lines += work_table(results["exchanges"])
    lines += [
        "",
        "| document | seconds | MB/s | ÷ crypto MB/s "
        "| peak RSS per process, MB (peak ÷ size; growth ÷ size) | CPU s, user+system |",
        "|---|---|---|---|---|---|",
    ]
    for r in results["large"]:
        peaks = "; ".join(
            f"{k} {v['peak_rss_mb']} ({v['peak_over_size']}x; +{v['growth_over_size']}x)"
            for k, v in r["services"].items()
        )
        lines.append(
            f"| {large_label(r)} | {r['result']['seconds']} | {r['mb_per_s']} "
            f"| {r['mb_s_to_crypto']:.1%} | {peaks}; nats-server {r['nats_peak_rss_mb']} "
            f"| {cpu_split(r)} |"
        )
    rsa, crypto = refs["rsa2048"], refs["crypto"]
    plain = ", ".join(
        f"{size_label(int(k))}: {v['exchanges_per_s']}/s" for k, v in refs["pyas2lib"].items()
    )
    lines += [
        "",
        f"References (same run, one core each): RSA-2048 sign {rsa['sign_per_s']}/s, decrypt "
        f"{rsa['decrypt_per_s']}/s → ceiling {rsa['ceiling_exchanges_per_s_one_core']} exchanges/s "
        f"per core, {rsa['ceiling_exchanges_per_s_machine']} on the machine (3 private-key "
        f"operations per exchange); pyas2lib build+parse+MDN build+MDN parse in one process: "
        f"{plain}; AES-256-CBC {crypto['aes256cbc_encrypt_mb_s']} MB/s encrypt, "
        f"{crypto['aes256cbc_decrypt_mb_s']} MB/s decrypt, SHA-256 {crypto['sha256_mb_s']} MB/s → "
        f"{crypto['exchange_crypto_ceiling_mb_s_one_core']} MB/s per core for an exchange's crypto "
        f"(encrypt + decrypt + hash twice). Targets: {TARGET_1KB_PER_S} exchanges/s for 1 KB; "
        f"peak RSS < {TARGET_RSS_RATIO}x a 100 MB document. {spaced_line(refs)}.",
        "",
    ]
    return "\n".join(lines)


def cpu_table(rows: list[dict[str, Any]]) -> list[str]:
    """CPU per exchange during each burst (the maximum rate), each process in a column."""
    if not rows or "cpu_ms" not in rows[0]["max"]:
        return []
    names = [k for k in rows[0]["max"]["cpu_ms"] if k not in ("services", "machine_busy")]
    lines = [
        "",
        "CPU ms per exchange during the burst (all threads of each process, from /proc):",
        "",
        "| document | MDN | " + " | ".join(names)
        + " | all services | machine busy | all services at half load |",
        "|---|---|" + "---|" * (len(names) + 3),
    ]  # fmt: skip
    for r in rows:
        cpu, half = r["max"]["cpu_ms"], r["half_load"].get("cpu_ms", {})
        lines.append(
            f"| {size_label(r['size'])} | {r['mdn']} | "
            + " | ".join(str(cpu.get(n, "")) for n in names)
            + f" | **{cpu['services']}** | {cpu['machine_busy']:.0%} | "
            + f"{half.get('services', '')} |"
        )
    return lines


def work_table(rows: list[dict[str, Any]]) -> list[str]:
    """Context switches and minor page faults per exchange during each burst: counts that do
    not move with the VM's speed, to compare two versions of the code on a noisy machine."""
    if not rows or "switches_faults" not in rows[0]["max"]:
        return []
    names = list(rows[0]["max"]["switches_faults"])
    lines = [
        "",
        "Context switches / minor page faults per exchange during the burst (from /proc):",
        "",
        "| document | MDN | " + " | ".join(names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for r in rows:
        counts = r["max"]["switches_faults"]
        cells = (f"{counts[n][0]:g} / {counts[n][1]:g}" if n in counts else "" for n in names)
        lines.append(f"| {size_label(r['size'])} | {r['mdn']} | " + " | ".join(cells) + " |")
    return lines


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for mdn, marker in (("sync", "o"), ("async", "s")):
        rows = [r for r in results["exchanges"] if r["mdn"] == mdn]
        left.plot(
            [r["size"] / 1024 for r in rows],
            [r["max"]["exchanges_per_s"] for r in rows],
            marker=marker,
            label=f"as2bus end to end, {mdn} MDN",
        )
    plain = results["references"]["pyas2lib"]
    left.plot(
        [int(k) / 1024 for k in plain],
        [v["exchanges_per_s"] for v in plain.values()],
        linestyle="--",
        marker="x",
        label="pyas2lib alone, one process",
    )
    left.axhline(TARGET_1KB_PER_S, color="grey", linestyle=":", label="target for 1 KB")
    left.set(xscale="log", yscale="log", xlabel="document size (KB)", ylabel="exchanges/s")
    left.set_title("Maximum sustained exchanges/s")
    left.legend(fontsize=8)
    labels, width = [], 0.25
    rows = results["exchanges"]
    for i, q in enumerate(("p50", "p95", "p99")):
        right.bar(
            [j + (i - 1) * width for j in range(len(rows))],
            [r["half_load"]["latency_s"][q] for r in rows],
            width,
            label=q,
        )
    labels = [f"{size_label(r['size'])}\n{r['mdn']}" for r in rows]
    right.set_xticks(range(len(rows)), labels, fontsize=8)
    right.set(ylabel="seconds", yscale="log")
    right.set_title("Latency at half the maximum rate (request → MDN)")
    right.legend(fontsize=8)
    fig.suptitle(f"as2bus, {results['machine']['cores']} cores, {results['stack']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
