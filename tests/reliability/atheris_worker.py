"""One coverage-guided (atheris/libFuzzer) run of one fuzz target: a subprocess of fuzzing.py.

Only telemetryfs is instrumented (instrumenting everything loaded costs half a
minute at start-up and adds nothing: the contract is about our code), so the
modules under test are imported inside ``instrument_imports``.

Usage: ``python -m tests.reliability.atheris_worker TARGET [libFuzzer args...]``;
libFuzzer exits the process when done (status 0) or on a contract violation.
"""

from __future__ import annotations

import os
import sys

import atheris

with atheris.instrument_imports(include=["telemetryfs"]):
    import telemetryfs.fs.products  # noqa: F401  (lazily imported by the target)
    from tests.reliability import fuzzing


def main() -> None:
    target = sys.argv[1]
    known_file = os.environ.get(fuzzing.KNOWN_FILE_ENV)
    counter = [0]

    def one_input(data: bytes) -> None:
        counter[0] += 1
        before = dict(fuzzing.KNOWN_HITS)
        fuzzing.check_case(
            target,
            data,
            measure_memory=counter[0] % fuzzing.ALLOC_EVERY == 0,
            keep_going=known_file is not None,
        )
        if known_file is not None and before != fuzzing.KNOWN_HITS:
            new = [k for k, n in fuzzing.KNOWN_HITS.items() if n > before.get(k, 0)]
            with open(known_file, "a") as f:
                f.write("".join(f"{k}\n" for k in new))

    atheris.Setup([sys.argv[0], *sys.argv[2:]], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
