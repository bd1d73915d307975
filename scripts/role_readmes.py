"""Write each role's variable table into its README.md from meta/argument_specs.yml (the one source).

    python scripts/role_readmes.py          # rewrite the tables
    python scripts/role_readmes.py --check  # exit 1 when a README is out of date (scripts/test.sh runs this)

The table sits between the BEGIN/END markers below; the prose around it is the README's own.
"""
import argparse
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BEGIN = "<!-- BEGIN variables: generated from meta/argument_specs.yml by scripts/role_readmes.py; edit the spec, not this table -->"
END = "<!-- END variables -->"
_MARKUP = re.compile(r"\b(?:O|V|C|RV|I|B|M)\(([^)]*)\)")


def _text(description):
    text = " ".join(description) if isinstance(description, list) else str(description or "")
    return _MARKUP.sub(lambda m: "`%s`" % m.group(1).split("=", 1)[0] if m.group(0)[0] == "O" and "=" not in m.group(1)
                       else "`%s`" % m.group(1), text).replace("|", "\\|")


def _default(option):
    if "default" not in option:
        return ""
    value = option["default"]
    if value == "":
        return '`""`'
    if isinstance(value, bool):
        return "`%s`" % str(value).lower()
    if isinstance(value, (dict, list)):
        return "`%s`" % yaml.safe_dump(value, default_flow_style=True, width=1 << 16).strip()
    return "`%s`" % value


def _type(option):
    kind = option.get("type", "str")
    return "%s[%s]" % (kind, option["elements"]) if kind == "list" and option.get("elements") else kind


def table(spec):
    """The Markdown table of the main entry point's options, in the spec's order."""
    rows = ["| Variable | Type | Default | Choices | Description |", "|---|---|---|---|---|"]
    for name, option in spec["argument_specs"]["main"]["options"].items():
        choices = ", ".join("`%s`" % c for c in option.get("choices", []))
        rows.append("| `%s` | %s | %s | %s | %s |" % (name, _type(option), _default(option), choices, _text(option.get("description"))))
    return "\n".join(rows)


def rendered(role_dir):
    """(current README text, the README with its table regenerated)."""
    readme = role_dir / "README.md"
    current = readme.read_text()
    spec = yaml.safe_load((role_dir / "meta" / "argument_specs.yml").read_text())
    if BEGIN not in current or END not in current:
        raise SystemExit("%s: no %s ... %s markers" % (readme, BEGIN, END))
    head, rest = current.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    return current, "%s%s\n%s\n%s%s" % (head, BEGIN, table(spec), END, tail)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report READMEs that are out of date")
    args = parser.parse_args(argv)
    stale = []
    for role_dir in sorted(p.parent.parent for p in (ROOT / "roles").glob("*/meta/argument_specs.yml")):
        current, wanted = rendered(role_dir)
        if current != wanted:
            stale.append(str(role_dir / "README.md"))
            if not args.check:
                (role_dir / "README.md").write_text(wanted)
    if args.check and stale:
        print("out of date (run python scripts/role_readmes.py): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
