"""`gankit report` on the command line (gankit.report.cli): user errors exit 2 with one line."""
from __future__ import annotations

from gankit.cli import main


def test_non_run_directory_exits_2(tmp_path, capsys, run):
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a gankit run directory" in err[0] and "config.yaml" in err[0]
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err
    # one bad directory among good ones: exit 2, and nothing is written
    assert main(["report", str(run), str(tmp_path / "empty"), "--out", str(tmp_path / "x.html")]) == 2
    assert not (tmp_path / "x.html").exists()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "config.yaml").write_text("just a string\n")
    assert main(["report", str(tmp_path / "bad")]) == 2
    assert "not a gankit run config" in capsys.readouterr().err
