"""axe-core in the real browser (axe-playwright-python ships it): the serious and
critical violations of the page as it is now, one readable line each."""

from typing import Any

from axe_playwright_python.sync_playwright import Axe

_AXE = Axe()
BLOCKING = ("serious", "critical")


def blocking_violations(page: Any, *, skip_rules: tuple[str, ...] = ()) -> list[str]:
    """`rule (impact): help — target, …` for each serious or critical violation."""
    options: dict[str, Any] = {"resultTypes": ["violations"]}
    if skip_rules:
        options["rules"] = {rule: {"enabled": False} for rule in skip_rules}
    results = _AXE.run(page, options=options)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + ", ".join(" ".join(node["target"]) for node in v["nodes"][:6])
        for v in results.response["violations"]
        if v["impact"] in BLOCKING
    ]
