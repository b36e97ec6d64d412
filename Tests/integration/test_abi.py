"""scripts/check-abi.sh, the CI gate on PluginAPI's ABI, against baselines made to differ from
the build: it must pass on the committed baseline and fail on a declaration the build lost."""
import json
import os
import subprocess

from conftest import REPO

BASELINE = REPO / "Sources" / "PluginAPI" / "abi" / "PluginAPI.json"


def check_abi(baseline):
    env = dict(os.environ, CHECK_ABI_BASELINE=str(baseline))
    return subprocess.run([str(REPO / "scripts" / "check-abi.sh")], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def first_function(node):
    if isinstance(node, dict):
        if node.get("kind") == "Function" and node.get("declKind") == "Func":
            return node
        for child in node.get("children", []):
            found = first_function(child)
            if found is not None:
                return found
    return None


def test_the_committed_baseline_passes():
    r = check_abi(BASELINE)
    assert r.returncode == 0, r.stderr
    assert "no breaking change" in r.stdout


def test_a_declaration_the_build_lost_fails_the_check(tmp_path):
    """The baseline names a function the build does not have: to a plugin built against it,
    that function was removed."""
    sdk = json.loads(BASELINE.read_text())
    f = first_function(sdk["ABIRoot"])
    assert f is not None
    f["name"] += "Gone"
    f["printedName"] = f["printedName"].replace("(", "Gone(", 1)
    f["usr"] += "Gone"
    f["mangledName"] += "Gone"
    doctored = tmp_path / "PluginAPI.json"
    doctored.write_text(json.dumps(sdk))
    r = check_abi(doctored)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "breaks its ABI" in r.stderr and "Gone" in r.stderr
