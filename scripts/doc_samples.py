#!/usr/bin/env python3
"""The documentation's code samples and the tests that compile them.

Every ```swift block in README.md and in the DocC catalogs (Sources/*/*.docc/*.md) must be
a sample kept in Tests/DocumentationSampleTests: the lines between a `// README: NAME` or
`// Sample: NAME` marker and the next `// README: end` / `// Sample: end`, dedented. So
documented code is code the test build compiles and `make test` runs on lavapipe.

    doc_samples.py --check          exit 1 naming each block that matches no sample
    doc_samples.py --show NAME      print one sample, for pasting into an article

A block whose first line is `// Package.swift` (a manifest, not code the tests can build)
is exempt.
"""
import glob
import os
import re
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARKER = re.compile(r"^\s*// (README|Sample): (\S+)\s*$")


def samples():
    found = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "Tests/DocumentationSampleTests/*.swift"))):
        name, lines = None, []
        for line in open(path, encoding="utf-8"):
            marker = MARKER.match(line)
            if marker and marker.group(2) == "end":
                if name:
                    found[name] = (os.path.relpath(path, ROOT), textwrap.dedent("".join(lines)).strip("\n"))
                name, lines = None, []
            elif marker:
                name, lines = marker.group(2), []
            elif name:
                lines.append(line)
    return found


def blocks(path):
    text = open(path, encoding="utf-8").read()
    for match in re.finditer(r"^```swift\n(.*?)^```", text, flags=re.S | re.M):
        line = text.count("\n", 0, match.start()) + 1
        yield line, match.group(1).strip("\n")


def check():
    known = {body for _, body in samples().values()}
    documents = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "Sources/*/*.docc/*.md")))
    failures = 0
    for document in documents:
        for line, body in blocks(document):
            if body.startswith("// Package.swift") or body in known:
                continue
            failures += 1
            print(f"{os.path.relpath(document, ROOT)}:{line}: a swift block that is no sample of "
                  "Tests/DocumentationSampleTests (copy it there between `// Sample: NAME` and `// Sample: end`)")
    count = sum(1 for d in documents for _ in blocks(d))
    print(f"doc samples: {count - failures} of {count} swift blocks are compiled samples")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--show":
        path, body = samples()[sys.argv[2]]
        print(body)
    elif sys.argv[1:] == ["--check"]:
        sys.exit(check())
    else:
        sys.exit(__doc__)
