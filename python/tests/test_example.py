"""examples/analysis.py on a store the daemon wrote: the top values printed and a chart."""
import subprocess
import sys

from conftest import ROOT


def test_analysis_example_prints_the_top_values_and_draws_them(store, tmp_path):
    chart = tmp_path / "top.png"
    done = subprocess.run([sys.executable, ROOT / "examples" / "analysis.py", "--data", store,
                           "--task", "words", "--top", "5", "--out", chart],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("task words (residue.mss.") and "20000 reports" in lines[0]
    assert len([line for line in lines if "+-" in line]) == 5
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
