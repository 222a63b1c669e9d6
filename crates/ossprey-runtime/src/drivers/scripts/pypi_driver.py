"""ossprey's PyPI phase driver. It runs INSIDE the sandbox only, with the runtime's
python3, after `pip install --user` put the package in the user site directory.

  pypi_driver.py import  --dist NAME --timeout S [--module M]...
  pypi_driver.py execute --dist NAME --timeout S --max-calls N [--module M]...
  pypi_driver.py call-module MODULE --timeout S --max-calls N   (internal)

`import` imports each top-level module of the distribution in its own process, so one
module that hangs or exits cannot hide what the others do. `execute` runs each console
entry point with `--help`, then, per top-level module in its own process, calls the
module's public functions and classes with mock arguments, each call bounded by an
alarm. Results are printed as `@@ossprey {json}` lines; the package's own output is
left as it is. The driver itself imports only the standard library.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time

MARK = "@@ossprey "


def emit(**record):
    sys.stdout.write(MARK + json.dumps(record, sort_keys=True) + "\n")
    sys.stdout.flush()


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def find_dist(name):
    from importlib import metadata

    want = normalize(name)
    for dist in metadata.distributions():
        found = dist.metadata["Name"]
        if found and normalize(found) == want:
            return dist
    return None


def top_level_modules(dist):
    """Top-level import names: top_level.txt when the build wrote one, else the
    first path component of every installed file (RECORD)."""
    names = []
    text = dist.read_text("top_level.txt") or ""
    names.extend(line.strip().replace("/", ".") for line in text.splitlines() if line.strip())
    if not names:
        for path in dist.files or []:
            parts = path.parts
            if not parts or parts[0] in ("..", "__pycache__"):
                continue
            head = parts[0]
            if head.endswith((".dist-info", ".egg-info", ".data", ".pth")):
                continue
            if len(parts) == 1:
                if head.endswith(".py"):
                    names.append(head[:-3])
                elif head.endswith(".so"):
                    names.append(head.split(".", 1)[0])
            else:
                names.append(head)
    return [n for n in names if all(p.isidentifier() for p in n.split("."))]


def unique(items):
    seen = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def run_bounded(argv, timeout):
    started = time.monotonic()
    try:
        code = subprocess.run(argv, timeout=timeout, stdin=subprocess.DEVNULL).returncode
        status = "ok" if code == 0 else "error"
    except subprocess.TimeoutExpired:
        code, status = None, "timeout"
    return status, code, int((time.monotonic() - started) * 1000)


IMPORT_ONE = "import importlib, sys; importlib.import_module(sys.argv[1])"


def phase_import(dist_name, hinted, timeout):
    dist = find_dist(dist_name)
    if dist is None:
        emit(event="dist-missing", dist=dist_name)
    modules = unique((top_level_modules(dist) if dist else []) + hinted)
    emit(event="modules", dist=dist_name, modules=modules)
    for module in modules:
        status, code, ms = run_bounded([sys.executable, "-c", IMPORT_ONE, module], timeout)
        emit(event="import", module=module, status=status, returncode=code, duration_ms=ms)
    return 0 if dist is not None or hinted else 1


RUN_ENTRY_POINT = (
    "import sys; from importlib.metadata import EntryPoint; "
    "ep = EntryPoint(sys.argv[1], sys.argv[2], 'console_scripts'); "
    "sys.argv = [sys.argv[1], '--help']; sys.exit(ep.load()())"
)


def phase_execute(dist_name, hinted, timeout, max_calls):
    dist = find_dist(dist_name)
    modules = unique((top_level_modules(dist) if dist else []) + hinted)
    entry_points = [ep for ep in (dist.entry_points if dist else []) if ep.group in ("console_scripts", "gui_scripts")]
    for ep in entry_points:
        # Run the installed script the way a user would; fall back to loading the
        # entry point when pip did not write one.
        script = shutil.which(ep.name)
        argv = [script, "--help"] if script else [sys.executable, "-c", RUN_ENTRY_POINT, ep.name, ep.value]
        status, code, ms = run_bounded(argv, timeout)
        emit(event="entry-point", name=ep.name, value=ep.value, status=status, returncode=code, duration_ms=ms)
    for module in modules:
        argv = [sys.executable, os.path.abspath(__file__), "call-module", module,
                "--timeout", str(timeout), "--max-calls", str(max_calls)]
        status, code, ms = run_bounded(argv, timeout * (max_calls + 1))
        emit(event="execute-module", module=module, status=status, returncode=code, duration_ms=ms)
    return 0


def call_module(module_name, timeout, max_calls):
    import asyncio
    import importlib
    import inspect
    import signal
    from unittest.mock import MagicMock

    class CallTimeout(BaseException):
        pass

    def on_alarm(signum, frame):
        raise CallTimeout()

    signal.signal(signal.SIGALRM, on_alarm)
    # The package sees what `python3 -c 'import x'` would give it, not the driver's
    # own arguments (which would tell it it is being analysed).
    sys.argv = ["-c"]
    module = importlib.import_module(module_name)
    root = module_name.split(".")[0]
    calls = 0

    def mock_arguments(fn):
        sig = inspect.signature(fn)
        args, kwargs = [], {}
        for name, param in sig.parameters.items():
            value = MagicMock(name=name) if param.default is param.empty else param.default
            if param.kind is param.POSITIONAL_ONLY:
                args.append(value)
            elif param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
                kwargs[name] = value
        return args, kwargs

    def invoke(label, fn):
        nonlocal calls
        if calls >= max_calls:
            return None
        calls += 1
        started = time.monotonic()
        result, status, error = None, "ok", None
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            try:
                args, kwargs = mock_arguments(fn)
            except (TypeError, ValueError):
                args, kwargs = [], {}
            result = fn(*args, **kwargs)
            if inspect.iscoroutine(result):
                result = asyncio.run(result)
            elif inspect.isgenerator(result):
                result = [x for _, x in zip(range(1000), result)]
            elif inspect.isasyncgen(result):
                async def drain(gen):
                    return [x async for x in gen]
                result = asyncio.run(drain(result))
        except CallTimeout:
            status = "timeout"
        except BaseException as e:  # the package may raise anything, even SystemExit
            status, error = "error", type(e).__name__
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        emit(event="call", target=label, status=status, error=error,
             duration_ms=int((time.monotonic() - started) * 1000))
        return result

    def own(obj):
        return (getattr(obj, "__module__", None) or "").split(".")[0] == root

    for name, member in sorted(vars(module).items()):
        if name.startswith("_") or not own(member):
            continue
        if inspect.isclass(member):
            instance = invoke(f"{module_name}.{name}", member)
            if isinstance(instance, member):
                for method_name, method in inspect.getmembers(instance, inspect.ismethod):
                    if not method_name.startswith("_"):
                        invoke(f"{module_name}.{name}.{method_name}", method)
        elif inspect.isfunction(member):
            invoke(f"{module_name}.{name}", member)
    return 0


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    mode, rest = argv[1], argv[2:]
    opts = {"--dist": None, "--timeout": "10", "--max-calls": "50"}
    modules, positional = [], []
    i = 0
    while i < len(rest):
        if rest[i] == "--module" and i + 1 < len(rest):
            modules.append(rest[i + 1])
            i += 2
        elif rest[i] in opts and i + 1 < len(rest):
            opts[rest[i]] = rest[i + 1]
            i += 2
        else:
            positional.append(rest[i])
            i += 1
    timeout, max_calls = float(opts["--timeout"]), int(opts["--max-calls"])
    if mode == "import" and opts["--dist"]:
        return phase_import(opts["--dist"], modules, timeout)
    if mode == "execute" and opts["--dist"]:
        return phase_execute(opts["--dist"], modules, timeout, max_calls)
    if mode == "call-module" and positional:
        return call_module(positional[0], timeout, max_calls)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
