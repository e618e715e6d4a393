"""Vendor the files of Strawberry's GraphiQL page, so that it loads without a CDN.

Strawberry's page (strawberry/static/graphiql.html) loads GraphiQL, React and two
helpers from unpkg.com, each pinned with a Subresource Integrity hash. This script
takes the same files from the npm packages (`npm pack`), checks each against the
page's hash, and writes them to glossary_backend/static/graphiql/ under unpkg's paths:
the served page then names the project's copies and the browser checks the same
hashes. Run it (`make graphiql`) after an upgrade of strawberry-graphql changes the
page's versions; the files are committed, so running the project needs neither npm
nor the network. GraphiQL, React and js-cookie are MIT licensed.
"""

import base64
import hashlib
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import strawberry

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "glossary_backend" / "static" / "graphiql"
PAGE = Path(strawberry.__file__).parent / "static" / "graphiql.html"
ASSET = re.compile(
    r'(?:src|href)="https://unpkg\.com/(?P<package>(?:@[^/@]+/)?[^/@]+)@(?P<version>[^/"]+)'
    r'/(?P<path>[^"]+)"\s+integrity="(?P<integrity>sha384-[^"]+)"'
)


def main() -> int:
    assets = list(ASSET.finditer(PAGE.read_text()))
    if not assets:
        sys.exit(f"No pinned unpkg.com assets found in {PAGE}.")
    with tempfile.TemporaryDirectory() as folder:
        for asset in assets:
            spec = f"{asset['package']}@{asset['version']}"
            tarball = subprocess.run(
                ["npm", "pack", "--silent", spec], cwd=folder, check=True,
                capture_output=True, text=True,
            ).stdout.split()[-1]  # fmt: skip
            with tarfile.open(Path(folder) / tarball) as archive:
                content = archive.extractfile(f"package/{asset['path']}").read()
                licence = next(
                    (archive.extractfile(name).read() for name in archive.getnames()
                     if name.lower() in {"package/license", "package/license.md"}),
                    None,
                )  # fmt: skip
                if licence is None:  # the package declares its licence in package.json only
                    declared = json.load(archive.extractfile("package/package.json"))["license"]
                    licence = f"{spec} is licensed under {declared} (its package.json).\n".encode()
            (TARGET / spec).mkdir(parents=True, exist_ok=True)
            (TARGET / spec / "LICENSE").write_bytes(licence)
            digest = "sha384-" + base64.b64encode(hashlib.sha384(content).digest()).decode()
            if digest != asset["integrity"]:
                sys.exit(f"{spec}/{asset['path']}: {digest} is not the page's {asset['integrity']}")
            destination = TARGET / spec / asset["path"]
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(content)
            print(f"{spec}/{asset['path']}: {len(content)} bytes, integrity checked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
