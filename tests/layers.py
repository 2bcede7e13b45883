#!/usr/bin/python3
"""layers.py - dependencies point down: the README's module table against src/ and include/.

The table (README.md, "Code layout") has a row per module:
    | `src/x.c` | N name | may use | what it owns |
(`include/x.h` for a header without a .c). N is the module's layer; its
header include/x.h has the same layer. A file may
include the headers of its own layer and of the layers below, never above,
and the includes between the project's files must not form a cycle.

Checks, each printed as "ok …" or "FAIL …", then "layers: N passed, M failed":
  - every src/*.c and include/*.h has a row (through its module), every row a file;
  - no file includes a header of a higher layer (the edge is named);
  - no cycle among the includes (the cycle is named).
Exit status: 0 when all pass.
"""
import os
import re
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROW = re.compile(r"^\|\s*`(?:src|include)/([a-z_0-9]+)\.[ch]`\s*\|\s*(\d+)\s+[a-z -]+\|")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_0-9]+)\.h"', re.M)


def table(readme):
    """module -> layer, from the rows of the module table."""
    layers = {}
    with open(readme) as f:
        for line in f:
            m = ROW.match(line)
            if m:
                layers[m.group(1)] = int(m.group(2))
    return layers


def includes():
    """(file, module) -> [included module], for every src/*.c and include/*.h."""
    edges = {}
    for d, ext in (("src", ".c"), ("include", ".h")):
        for name in sorted(os.listdir(os.path.join(TOP, d))):
            if not name.endswith(ext):
                continue
            with open(os.path.join(TOP, d, name)) as f:
                text = f.read()
            edges[(d + "/" + name, name[:-len(ext)])] = INCLUDE.findall(text)
    return edges


def cycles(graph):
    """Each cycle found by a depth-first walk, as a list of modules."""
    found, state, stack = [], {}, []

    def walk(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                found.append(stack[stack.index(m):] + [m])
            elif not state.get(m):
                walk(m)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if not state.get(n):
            walk(n)
    return found


def main():
    readme = os.path.join(TOP, "README.md")
    layers = table(readme)
    edges = includes()
    passed = failed = 0

    def report(ok, what):
        nonlocal passed, failed
        if ok:
            passed += 1
            print("ok   " + what)
        else:
            failed += 1
            print("FAIL " + what)

    modules = {m for (_, m) in edges}
    missing = sorted(f for (f, m) in edges if m not in layers)
    report(not missing, "every file has a layer in README.md's module table" +
           (": missing " + ", ".join(missing) if missing else ""))
    stale = sorted(m for m in layers if m not in modules)
    report(not stale, "every row of the module table is a file" +
           (": no src/%s.c" % ", src/".join(stale) if stale else ""))
    up = []
    graph = {}
    for (f, m), incs in sorted(edges.items()):
        for i in incs:
            if i == m or i not in modules:
                continue
            graph.setdefault(m, set()).add(i)
            if m in layers and i in layers and layers[i] > layers[m]:
                up.append("%s (layer %d) includes %s.h (layer %d)" % (f, layers[m], i, layers[i]))
    report(not up, "no include points up" + ("".join("\n     " + u for u in up)))
    cyc = cycles(graph)
    report(not cyc, "no include cycle" + "".join("\n     " + " -> ".join(c) for c in cyc))
    print("layers: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
