"""Check what `sam build` put in the layer, for the template's runtime and architecture.

    python .ci/check_layer.py [BUILD_DIR] [--arch arm64|x86_64] [--python 3.13]

BUILD_DIR defaults to .aws-sam/build; the target defaults to the template's Globals.Function.
Checked: psycopg_binary >= 3.3 with wheel tags and C extension for that CPython and machine,
neonkit from the kit's own sources, bytecode for that Python beside every module and for no
other, no console scripts, and no file naming the machine that built it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MACHINE = {"arm64": "aarch64", "x86_64": "x86_64"}
PACKAGES = ("neonkit", "psycopg", "psycopg_binary", "aws_lambda_powertools", "dotenv")


def problems(layer: Path, arch: str, version: str) -> list[str]:
    found: list[str] = []
    machine = MACHINE[arch]
    tag = "cp" + version.replace(".", "")
    wheels = sorted(layer.glob("psycopg_binary-*.dist-info"))
    if not wheels:
        found.append(f"no psycopg_binary in {layer}")
    for info in wheels:
        release = tuple(int(p) for p in info.name.split("-")[1].split(".")[:2])
        tags = [
            line.split(": ", 1)[1]
            for line in (info / "WHEEL").read_text().splitlines()
            if line.startswith("Tag: ")
        ]
        if release < (3, 3):
            found.append(f"psycopg_binary {release} is older than 3.3")
        if not any(t.startswith(f"{tag}-{tag}-") and t.endswith(f"_{machine}") for t in tags):
            found.append(f"psycopg_binary tags {tags} are not {tag} {machine}")
    extension = f"_psycopg.cpython-{tag[2:]}-{machine}-linux-gnu.so"
    if not (layer / "psycopg_binary" / extension).is_file():
        found.append(f"psycopg_binary/{extension} is missing")
    found += [f"{name} is missing" for name in PACKAGES if not (layer / name).is_dir()]
    kit = ROOT / "kit" / "neonkit" / "src" / "neonkit"
    for source in kit.rglob("*.py"):
        built = layer / "neonkit" / source.relative_to(kit)
        if not built.is_file() or built.read_bytes() != source.read_bytes():
            found.append(f"neonkit/{source.relative_to(kit)} is not the kit's own")
    for module in layer.rglob("*.py"):
        pyc = module.parent / "__pycache__" / f"{module.stem}.cpython-{tag[2:]}.pyc"
        if not pyc.is_file():
            found.append(f"no bytecode for Python {version}: {module.relative_to(layer)}")
            break
    foreign = [p for p in layer.rglob("*.pyc") if f".cpython-{tag[2:]}." not in p.name]
    if foreign:
        found.append(f"bytecode for another Python than {version}: {foreign[0]}")
    if (layer / "bin").exists():
        scripts = sorted(p.name for p in (layer / "bin").iterdir())
        found.append(f"console scripts in the layer: {scripts}")
    for record in layer.rglob("direct_url.json"):
        found.append(f"{record.relative_to(layer)} names the folder the wheel was built in")
    machine_paths = {str(ROOT).encode(), str(layer.parent.parent).encode(), sys.prefix.encode()}
    for path in layer.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for local in machine_paths:
                if local in data:
                    found.append(f"{path.relative_to(layer)} names {local.decode()}")
    return found


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(ROOT / "kit" / "localdev" / "src"))  # _target.py: standard library only
    from localdev._target import target

    default_arch, default_version = target((ROOT / "template.yaml").read_text())
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build_dir", nargs="?", default=str(ROOT / ".aws-sam" / "build"))
    parser.add_argument("--arch", choices=sorted(MACHINE), default=default_arch)
    parser.add_argument("--python", default=default_version, metavar="X.Y")
    args = parser.parse_args(argv)
    layer = Path(args.build_dir) / "NeonKitLayer" / "python"
    found = problems(layer, args.arch, args.python)
    for problem in found:
        print(f"layer check: {problem}", file=sys.stderr)
    if not found:
        print(f"layer check: ok for python{args.python} on {args.arch} ({layer})")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
