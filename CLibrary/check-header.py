#!/usr/bin/env python3
"""Compares the hand-kept plusguidance.h with what the library is: the header Swift generates
for the `@c` functions, the linker's version script, the symbols the built library exports,
and the prototypes of earlier releases (abi/prototypes.txt: a changed or removed one fails, a
new one is listed; --update-prototypes appends it).
Usage: check-header.py HEADER GENERATED_HEADER VERSION_SCRIPT LIBRARY PROTOTYPES
[--update-prototypes]. Exit 1 with every difference listed."""
import re
import subprocess
import sys

header, generated, version_script, library, baseline = sys.argv[1:6]
update = "--update-prototypes" in sys.argv[6:]
# Defined in C (CPlusGuidanceSupport), not by Swift.
DEFINED_IN_C = {"pg_version", "pg_error_last"}


def normalize(c_type):
    c_type = re.sub(r"\b_Nullable\b|\b_Nonnull\b", "", c_type)
    c_type = re.sub(r"\bchar const\b", "const char", c_type)
    c_type = re.sub(r"\bint32_t\b", "int", c_type)
    return re.sub(r"\s+", " ", c_type.replace("*", " * ")).strip()


def parameters(text):
    types = []
    for parameter in text.split(","):
        parameter = parameter.strip()
        if parameter in ("", "void"):
            continue
        # Drop the parameter's name: the last identifier.
        types.append(normalize(re.sub(r"\w+$", "", parameter)))
    return types


def declared(path, prefix):
    found = {}
    text = open(path).read()
    for match in re.finditer(prefix + r"\s+([^;(]*?)\b(pg_\w+)\(([^)]*)\)", text):
        found[match.group(2)] = (normalize(match.group(1)), parameters(match.group(3)))
    return found


hand = declared(header, "PG_EXTERN")
swift = declared(generated, "SWIFT_EXTERN")
problems = []
for name, (result, types) in sorted(swift.items()):
    if name not in hand:
        problems.append(f"{name}: exported by Swift, missing from the header")
        continue
    want_result, want_types = hand[name]
    # Swift sees a pg_client * as void *.
    want_types = [t.replace("pg_client", "void") for t in want_types]
    if (result, types) != (want_result, want_types):
        problems.append(f"{name}: header {want_result} ({', '.join(want_types)}), Swift {result} ({', '.join(types)})")
for name in sorted(set(hand) - set(swift) - DEFINED_IN_C):
    problems.append(f"{name}: in the header, not defined by the library")

script = set(re.findall(r"^\s+(pg_\w+);", open(version_script).read(), re.M))
if script != set(hand):
    problems.append(f"version script and header differ: {sorted(script ^ set(hand))}")

symbols = subprocess.run(["readelf", "--dyn-syms", "-W", library], capture_output=True, text=True, check=True).stdout
exported = set()
for line in symbols.splitlines():
    fields = line.split()
    # Num: Value Size Type Bind Vis Ndx Name: every defined global, functions and data alike.
    if len(fields) >= 8 and fields[4] in ("GLOBAL", "WEAK") and fields[6] != "UND":
        exported.add(fields[7].split("@")[0])
# The version nodes themselves (PLUSGUIDANCE_0, PLUSGUIDANCE_0.2, …).
exported = {name for name in exported if not name.startswith("PLUSGUIDANCE_")}
if exported != set(hand):
    problems.append(f"exported symbols and header differ: {sorted(exported ^ set(hand))}")
if any(not name.startswith("pg_") for name in exported):
    problems.append(f"symbols without the pg_ prefix: {sorted(n for n in exported if not n.startswith('pg_'))}")

# The prototypes of earlier releases: what apps were compiled against.
def line(name):
    result, types = hand[name]
    return f"{name}: {result} ({', '.join(types)})"


known = {}
for entry in open(baseline).read().splitlines():
    if entry and not entry.startswith("#"):
        known[entry.split(":")[0]] = entry
for name, entry in sorted(known.items()):
    if name not in hand:
        problems.append(f"ABI break: {name} was removed (baseline: {entry})")
    elif line(name) != entry:
        problems.append(f"ABI break: {name} changed: was {entry!r}, is {line(name)!r}")
added = sorted(set(hand) - set(known))
for name in added:
    print(f"check-header: new in this version: {line(name)}")
if added and update and not problems:
    with open(baseline, "a") as file:
        file.writelines(line(name) + "\n" for name in added)
    print(f"check-header: recorded {len(added)} new function(s) in {baseline}")

for problem in problems:
    print(f"check-header: {problem}", file=sys.stderr)
if not problems:
    print(f"check-header: {len(hand)} functions; the header, Swift's, the version script and the exports agree")
sys.exit(1 if problems else 0)
