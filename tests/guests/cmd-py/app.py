"""A Python command: prints its arguments, then $GREETING (or a note that it is unset).

Exits with failure when the first argument is "fail".
"""

from __future__ import annotations

import os
import sys

from componentize_py_types import Err
from wit_world import exports


class Run(exports.Run):
    def run(self) -> None:
        args = sys.argv[1:]
        print("args:", " ".join(args))
        print("GREETING:", os.environ.get("GREETING", "<unset>"))
        sys.stdout.flush()
        if args[:1] == ["fail"]:
            raise Err(None)
