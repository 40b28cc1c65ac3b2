"""The README's quick start: install, then the one-minute smoke run, then the main command."""
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_quick_start_runs_the_smoke_profile_first():
    text = README.read_text()
    block = text[text.index("## Quick start"):].split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ['pip install -e ".[dev]"', "python -m bench run --profile smoke",
                        "python -m bench run --methods all --scales 2,4,6"]
