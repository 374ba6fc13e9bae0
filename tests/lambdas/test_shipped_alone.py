"""The Lambda source works shipped alone: only the standard library and what the Lambda runtime provides."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.lambdas.events import b64, firehose_event, firehose_record, order_image, stream_record

SOURCE = Path(__file__).resolve().parents[2] / "lambdas" / "firehose_transform"
RUNTIME_PROVIDED = {"boto3", "botocore"}


def test_imports_only_stdlib_runtime_and_its_own_files():
    own = {p.stem for p in SOURCE.glob("*.py")}
    for path in SOURCE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                roots = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{path.name}: relative imports break at the zip root"
                roots = [node.module.split(".")[0]]
            else:
                continue
            for root in roots:
                assert root in sys.stdlib_module_names or root in RUNTIME_PROVIDED or root in own or root == "__future__", (
                    f"{path.name} imports {root}, which the Lambda runtime does not provide"
                )


def test_runs_from_a_folder_holding_only_its_files(tmp_path):
    for path in SOURCE.glob("*.py"):
        shutil.copy(path, tmp_path / path.name)
    event = firehose_event([firehose_record(b64(stream_record("INSERT", new=order_image())), record_id="a"),
                            firehose_record("garbage", record_id="b")])
    script = (
        "import json, sys; import handler; "
        "out = handler.lambda_handler(json.load(sys.stdin), None); "
        "assert not [m for m in sys.modules if m.split('.')[0] in ('salescdc', 'localcloud')]; "
        "print(json.dumps(out))"
    )
    # cwd and sys.path hold only the copied files (plus site-packages for boto3, as in the runtime).
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, input=json.dumps(event),
                          capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert [(r["recordId"], r["result"]) for r in out["records"]] == [("a", "Ok"), ("b", "ProcessingFailed")]
