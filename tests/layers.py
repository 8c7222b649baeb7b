#!/usr/bin/env python3
"""Check pg_http's include graph against its layers (README, Layout).

Every C file and header belongs to one module, and every module to one
layer.  A file may include headers of its own layer or lower ones, never a
higher one; the include graph between modules has no cycle; lib/ includes
nothing but lib/ and system headers.  A file this script does not know
fails the check, so a new file gets a place in the layers when it is added.

Prints one "ok"/"not ok" line per rule and "N passed, M failed".
"""
import os
import re
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

# Lowest first.  A module is a header's stem; the .c files of a module are
# listed where their stem differs from it.
LAYERS = [
    ('lib', ['headers', 'http1', 'netaddr', 'resolve', 'url']),
    ('model', ['pgcompat', 'pg_http', 'settings']),
    ('exchange', ['exchange']),
    ('services', ['policy', 'loop', 'request', 'hostctl', 'stats']),
    ('steps', ['dns', 'redirect']),
    ('transports', ['transport', 'stream']),
    ('engine', ['engine']),
    ('sql and workers', ['queue', 'worker', 'api']),
]
SOURCES = {
    'src/guc.c': 'settings',
    'src/errors.c': 'exchange',
    'src/options.c': 'request',
    'src/fields.c': 'request',
    'src/forms.c': 'request',
    'src/body.c': 'request',
    'src/credentials.c': 'request',
    'src/sign.c': 'request',
    'src/compat.c': 'api',
    'src/rows.c': 'api',
    'src/check.c': 'api',
    'src/claim.c': 'worker',
    'src/delivery.c': 'worker',
    'src/callback.c': 'worker',
    'transports/curl.c': 'transport',
    'transports/mbedtls.c': 'stream',
    'transports/mock.c': 'stream',
}
DIRS = ['lib', 'src', 'transports']

LAYER_OF = {m: i for i, (_, ms) in enumerate(LAYERS) for m in ms}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def files():
    for d in DIRS:
        for name in sorted(os.listdir(os.path.join(ROOT, d))):
            if name.endswith(('.c', '.h')):
                yield f'{d}/{name}'


def module_of(path):
    if path in SOURCES:
        return SOURCES[path]
    return os.path.splitext(os.path.basename(path))[0]


def main():
    passed = failed = 0
    problems = []
    edges = {}
    ours = {os.path.basename(p): p for p in files()}

    for path in files():
        mod = module_of(path)
        if mod not in LAYER_OF:
            problems.append(f'{path}: module "{mod}" has no layer (add it to tests/layers.py and the README)')
            continue
        text = open(os.path.join(ROOT, path), encoding='utf-8').read()
        for inc in INCLUDE.findall(text):
            target = ours.get(os.path.basename(inc)) if '/' not in inc else None
            if target is None:
                if path.startswith('lib/'):
                    problems.append(f'{path}: includes "{inc}", which is not in lib/ (lib/ is PostgreSQL-free)')
                continue        # a PostgreSQL or system header
            tmod = module_of(target)
            if path.startswith('lib/') and not target.startswith('lib/'):
                problems.append(f'{path}: includes {target} (lib/ includes only lib/)')
            if LAYER_OF.get(tmod, 99) > LAYER_OF[mod]:
                problems.append(f'{path} (layer "{LAYERS[LAYER_OF[mod]][0]}") includes {target} '
                                f'(higher layer "{LAYERS[LAYER_OF[tmod]][0]}")')
            if tmod != mod:
                edges.setdefault(mod, set()).add(tmod)

    print(('ok' if not problems else 'not ok') + ' - layers: no file includes a higher layer')
    for p in problems:
        print('#   ' + p)
    passed, failed = (1, 0) if not problems else (0, 1)

    # cycles between modules (depth-first search, reporting each once)
    cycles = []
    state = {}

    def visit(m, stack):
        state[m] = 1
        stack.append(m)
        for t in sorted(edges.get(m, ())):
            if state.get(t) == 1:
                cycles.append(stack[stack.index(t):] + [t])
            elif t not in state:
                visit(t, stack)
        stack.pop()
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m, [])
    print(('ok' if not cycles else 'not ok') + f' - layers: include graph of {len(LAYER_OF)} modules has no cycle')
    for c in cycles:
        print('#   cycle: ' + ' -> '.join(c))
    passed += not cycles
    failed += bool(cycles)
    print(f'{passed} passed, {failed} failed')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
