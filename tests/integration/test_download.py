"""`python -m bench download` against a local HTTP server (127.0.0.1, a thread of this process) that
honours Range requests and can be told to drop the connection part-way: resume within a run and across
runs, a server that ignores Range, SHA-256 / MD5 refusals, path traversal, unpinned downloads, the
archive.org item listing of the piano set, and the names that cannot be downloaded. The archives are
tiny trees in the real layouts (bench/data/fixtures.py), never real data; nothing leaves the machine."""
from __future__ import annotations

import hashlib
import io
import json
import re
import shlex
import shutil
import socket
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import bench.data.download as dl
import bench.data.download.transfer as transfer
from bench.cli import main
from bench.data.catalog import load_card
from bench.data.corpus import scan
from bench.data.fixtures import piano_tree, vctk_tree

ZIP_NAME = "VCTK-Corpus-0.92.zip"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        state = self.server.state
        rng = self.headers.get("Range")
        state.requests.append((self.path, rng))
        body = state.files.get(self.path)
        if body is None:
            self.send_error(404, "Not Found")
            return
        start, status = 0, 200
        if rng and state.ignore_range:
            state.ignore_range -= 1  # answer this one with the whole file, as a server without ranges does
        elif rng:
            start, status = int(re.fullmatch(r"bytes=(\d+)-", rng).group(1)), 206
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        payload = body[start:]
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.end_headers()
        cut = state.cut.pop(self.path, None)  # only the first time
        if cut is not None:
            self.wfile.write(payload[:cut])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)  # the peer sees EOF before Content-Length bytes
            return
        self.wfile.write(payload)


class Server:
    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.requests: list[tuple[str, str | None]] = []
        self.cut: dict[str, int] = {}
        self.ignore_range = 0  # how many of the next Range requests to ignore
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.state = self
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def gets(self, path: str) -> list[str | None]:
        """The Range header of every request for `path`."""
        return [rng for p, rng in self.requests if p == path]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setattr(transfer, "RETRY_WAIT_S", (0.0,))
    srv = Server()
    yield srv
    srv.close()


@pytest.fixture(autouse=True)
def no_roots(monkeypatch):
    for var in ("VCTK_ROOT", "PIANO_ROOT", "SHIPSEAR_ROOT", "BENCH_DATA_ROOTS"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="module")
def vctk_zip(tmp_path_factory) -> bytes:
    """VCTK 0.92 as its zip is shaped (no top folder): speaker p225 with every file of the vctk-single
    lists, plus txt/ and speaker-info.txt."""
    tree = vctk_tree(tmp_path_factory.mktemp("vctk") / "c", "0.92", speakers=["p225"], p225_full=True)
    (tree / "txt" / "p225").mkdir(parents=True)
    (tree / "txt" / "p225" / "p225_001.txt").write_text("Please call Stella.\n")
    (tree / "speaker-info.txt").write_text("ID  AGE  GENDER  ACCENTS  REGION\np225  23  F  English  Southern England\n")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for f in sorted(tree.rglob("*")):
            zf.write(f, f.relative_to(tree).as_posix())
    return buf.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download(to: Path, *extra: str, name: str = "vctk-single") -> list[str]:
    return ["download", name, "--to", str(to), *extra]


def serve_zip(server: Server, data: bytes, path: str = f"/mirror/{ZIP_NAME}") -> list[str]:
    server.files[path] = data
    return ["--url", server.url(path), "--sha256", sha(data)]


def test_a_dropped_connection_is_resumed_with_a_range_request_and_prepare_runs(server, vctk_zip, tmp_path, capsys):
    flags = serve_zip(server, vctk_zip)
    cut = len(vctk_zip) // 3
    server.cut[f"/mirror/{ZIP_NAME}"] = cut
    assert main(download(tmp_path / "data", *flags)) == 0
    out, err = capsys.readouterr()
    assert server.gets(f"/mirror/{ZIP_NAME}") == [None, f"bytes={cut}-"]  # the second request resumed
    assert "resuming at" in err and f"Range: bytes={cut}-" in err
    assert (tmp_path / "data" / ZIP_NAME).read_bytes() == vctk_zip  # whole, and the .part is gone
    assert not list((tmp_path / "data").glob("*.part"))
    root = tmp_path / "data" / "VCTK-Corpus-0.92"
    assert (root / "wav48_silence_trimmed" / "p225" / "p225_001_mic1.flac").is_file()
    assert f"SHA-256 {sha(vctk_zip)} matches" in err and "unpacked into" in err
    command = out.strip().splitlines()[-1]
    assert command == shlex.join(["python", "-m", "bench", "prepare", "--datasets", "vctk-single", "--data-root",
                                  str(root)])

    assert scan(_with_root(root)).layout.startswith("VCTK 0.92")
    argv = shlex.split(command)[3:] + ["--scales", "2", "--profile", "smoke", "--results", str(tmp_path / "results")]
    assert main(argv) == 0, capsys.readouterr().err  # the printed command, as printed, prepares the tree
    assert "VCTK 0.92" in capsys.readouterr().out


def _with_root(root: Path):
    import os

    os.environ["VCTK_ROOT"] = str(root)  # restored by no_roots
    return load_card("vctk-single")


def test_a_partial_file_from_an_earlier_run_is_resumed(server, vctk_zip, tmp_path, capsys):
    flags = serve_zip(server, vctk_zip)
    cut = len(vctk_zip) // 2
    server.cut[f"/mirror/{ZIP_NAME}"] = cut
    assert main(download(tmp_path, *flags, "--retries", "0")) == 2
    err = capsys.readouterr().err
    assert re.search(rf"error: download of {ZIP_NAME} interrupted .* kept in .*{ZIP_NAME}\.part: run the same "
                     "command again to resume", err)
    assert (tmp_path / f"{ZIP_NAME}.part").stat().st_size == cut

    assert main(download(tmp_path, *flags, "--retries", "0")) == 0
    assert server.gets(f"/mirror/{ZIP_NAME}") == [None, f"bytes={cut}-"]
    assert (tmp_path / ZIP_NAME).read_bytes() == vctk_zip


def test_a_server_that_ignores_range_restarts_the_file_cleanly(server, vctk_zip, tmp_path, capsys):
    flags = serve_zip(server, vctk_zip)
    server.ignore_range = 1
    server.cut[f"/mirror/{ZIP_NAME}"] = cut = 5000  # and the restarted transfer drops too, then resumes
    (tmp_path / f"{ZIP_NAME}.part").write_bytes(b"stale bytes of another file" * 10)
    assert main(download(tmp_path, *flags)) == 0
    assert "the server ignored the range request (HTTP 200); starting over" in capsys.readouterr().err
    assert server.gets(f"/mirror/{ZIP_NAME}") == ["bytes=270-", f"bytes={cut}-"]
    assert (tmp_path / ZIP_NAME).read_bytes() == vctk_zip


def test_a_wrong_sha256_is_refused_and_the_file_kept_as_corrupt(server, vctk_zip, tmp_path, capsys):
    server.files["/v.zip"] = vctk_zip
    wrong = "0" * 64
    assert main(download(tmp_path, "--url", server.url("/v.zip"), "--sha256", wrong)) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1
    assert f"refused {tmp_path / 'v.zip'}" in lines[0]
    assert f"SHA-256 expected {wrong}, got {sha(vctk_zip)}" in lines[0]
    assert f"as {tmp_path / 'v.zip.corrupt'}" in lines[0]
    assert (tmp_path / "v.zip.corrupt").read_bytes() == vctk_zip
    assert not (tmp_path / "v.zip").exists() and not (tmp_path / "VCTK-Corpus-0.92").exists()
    # a mirror without --sha256 must serve the card's file: its size (11747302977 bytes) already tells
    assert main(download(tmp_path / "b", "--url", server.url("/v.zip"))) == 2
    assert f"offers {len(vctk_zip)} bytes for v.zip, the card says 11747302977" in capsys.readouterr().err
    assert not list((tmp_path / "b").glob("v.zip*"))


def test_a_complete_download_is_checked_not_fetched_again(server, vctk_zip, tmp_path, capsys):
    flags = serve_zip(server, vctk_zip)
    assert main(download(tmp_path, *flags)) == 0
    capsys.readouterr()
    assert main(download(tmp_path, *flags, name="vctk-multi")) == 0  # vctk-multi shares the archive and folder
    out, err = capsys.readouterr()
    assert len(server.requests) == 1
    assert f"{ZIP_NAME}: already in {tmp_path}, SHA-256 matches: not fetched again" in err
    assert "is already unpacked: left as it is" in err
    assert "--datasets vctk-multi --data-root" in out
    # a copy that no longer matches is refused and renamed; with the folder gone too, it is fetched afresh
    (tmp_path / ZIP_NAME).write_bytes(vctk_zip[:-1] + b"!")
    assert main(download(tmp_path, *flags)) == 2
    err = capsys.readouterr().err
    assert f"Kept the copy that was already there as {tmp_path / ZIP_NAME}.corrupt" in err
    assert "unpacked earlier, is left as it is: delete it too and run the command again" in err
    shutil.rmtree(tmp_path / "VCTK-Corpus-0.92")
    assert main(download(tmp_path, *flags)) == 0 and len(server.requests) == 2
    assert (tmp_path / "VCTK-Corpus-0.92" / "speaker-info.txt").is_file()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data)
    return buf.getvalue()


def _tar(members: list[tarfile.TarInfo | tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for m in members:
            if isinstance(m, tarfile.TarInfo):
                tf.addfile(m)
            else:
                info = tarfile.TarInfo(m[0])
                info.size = len(m[1])
                tf.addfile(info, io.BytesIO(m[1]))
    return buf.getvalue()


def _symlink(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info


@pytest.mark.parametrize("path, archive, why", ids=["zip-dotdot", "zip-absolute", "zip-backslash-dotdot",
                                                      "tar-dotdot", "tar-symlink"], argvalues=[
    ("/evil.zip", _zip({"wav48_silence_trimmed/p225/a.flac": b"x", "../escaped.txt": b"pwned"}), "climbs out with '..'"),
    ("/evil.zip", _zip({"ok.txt": b"x", "/tmp/escaped.txt": b"pwned"}), "has an absolute path"),
    ("/evil.zip", _zip({"ok.txt": b"x", "a\\..\\..\\escaped.txt": b"pwned"}), "climbs out with '..'"),
    ("/evil.tar.gz", _tar([("ok.txt", b"x"), ("../escaped.txt", b"pwned")]), "climbs out with '..'"),
    ("/evil.tar.gz", _tar([_symlink("link", "../.."), ("link/escaped.txt", b"pwned")]), "is a link to '../..'"),
])
def test_path_traversal_members_are_refused(server, tmp_path, capsys, path, archive, why):
    server.files[path] = archive
    to = tmp_path / "inside" / "data"
    assert main(download(to, "--url", server.url(path), "--sha256", sha(archive))) == 2
    err = capsys.readouterr().err
    assert why in err and "nothing was unpacked" in err and err.count("error:") == 1
    assert not (tmp_path / "inside" / "escaped.txt").exists() and not (tmp_path / "escaped.txt").exists()
    assert not list(tmp_path.rglob("escaped.txt"))
    assert sorted(p.name for p in to.iterdir() if not p.name.startswith(".")) == [Path(path).name]  # no folder made
    assert not list(to.glob(".*.unpacking"))


def test_an_unpinned_mirror_is_downloaded_with_a_loud_warning(server, tmp_path, capsys):
    src = piano_tree(tmp_path / "src" / "beethoven", seconds=(1.0, 1.0, 1.0))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        tf.add(src, arcname="beethoven")  # one top folder: it becomes the data root
    server.files["/m/beethoven.tar.gz"] = buf.getvalue()
    assert main(download(tmp_path / "d", "--url", server.url("/m/beethoven.tar.gz"), name="piano")) == 0
    out, err = capsys.readouterr()
    digest = sha(buf.getvalue())
    assert "WARNING: beethoven.tar.gz: NO PUBLISHED SHA-256 to check it against (--sha256 unknown)" in err
    assert f"WARNING: beethoven.tar.gz was NOT checked against a published SHA-256. What arrived has SHA-256 {digest}" in err
    root = tmp_path / "d" / "beethoven" / "beethoven"
    assert sorted(p.name for p in root.iterdir()) == ["sonata01.wav", "sonata02.flac", "sonata03.wav"]
    assert out.strip().endswith(shlex.join(["--data-root", str(root)]))


def _items(server: Server) -> dl.Items:
    return dl.Items(("SonataA", "SonataB"), (".ogg",), "beethoven", server.url("/metadata/{item}"),
                    server.url("/download/{item}/{name}"))


def _meta(*files: tuple[str, bytes]) -> bytes:
    return json.dumps({"files": [{"name": n, "format": "Ogg Vorbis", "size": str(len(b)),
                                  "md5": hashlib.md5(b).hexdigest(), "sha1": hashlib.sha1(b).hexdigest()}
                                 for n, b in files] + [{"name": "x_64kb.mp3", "size": "3", "md5": "0" * 32}]}).encode()


def test_piano_archive_org_items_are_checked_by_md5_and_their_sha256_printed(server, tmp_path, capsys, monkeypatch):
    a, b, clash = b"ogg A" * 100, b"ogg B" * 100, b"another a.ogg" * 10
    server.files.update({"/metadata/SonataA": _meta(("a.ogg", a)), "/metadata/SonataB": _meta(("sub/b.ogg", b),
                                                                                           ("a.ogg", clash)),
                         "/download/SonataA/a.ogg": a, "/download/SonataB/sub/b.ogg": b,
                         "/download/SonataB/a.ogg": clash})
    monkeypatch.setattr(dl, "plan", lambda name: _items(server))
    server.cut["/download/SonataB/sub/b.ogg"] = 7
    assert main(download(tmp_path, name="piano")) == 0
    out, err = capsys.readouterr()
    root = tmp_path / "beethoven"
    assert {p.name: p.read_bytes() for p in root.iterdir()} == {"a.ogg": a, "b.ogg": b, "SonataB__a.ogg": clash}
    assert server.gets("/download/SonataB/sub/b.ogg") == [None, "bytes=7-"]
    assert not any("mp3" in p for p, _ in server.requests)
    assert "NO PUBLISHED SHA-256" in err and f'[download.sha256]\n"a.ogg" = "{sha(a)}"\n' in err
    assert f'"SonataB__a.ogg" = "{sha(clash)}"\n"b.ogg" = "{sha(b)}"\n' in err
    receipt = (tmp_path / "beethoven.sha256").read_text()
    assert f"{sha(a)}  beethoven/a.ogg" in receipt and f"{sha(clash)}  beethoven/SonataB__a.ogg" in receipt
    assert out.strip().endswith(shlex.join(["--data-root", str(root)]))

    n = len(server.requests)
    assert main(download(tmp_path, name="piano")) == 0  # checked against the receipt, offline
    assert len(server.requests) == n and "nothing fetched" in capsys.readouterr().err

    server.files["/metadata/SonataA"] = json.dumps({"files": [{"name": "a.ogg", "size": str(len(a)),
                                                               "md5": "f" * 32}]}).encode()
    assert main(download(tmp_path / "other", name="piano")) == 2
    err = capsys.readouterr().err
    assert f"MD5 expected {'f' * 32} (archive.org's listing), got {hashlib.md5(a).hexdigest()}" in err
    assert not (tmp_path / "other" / "beethoven").exists()  # the data root appears only when complete


def test_shipsear_unknown_and_generated_names_exit_2(tmp_path, capsys):
    assert main(download(tmp_path, name="shipsear")) == 2
    err = capsys.readouterr().err
    assert "error: shipsear cannot be downloaded: ShipsEar is shared by its authors on request only" in err
    assert "https://atlanttic.uvigo.es/underwaternoise/" in err and err.count("\n") == 1
    assert main(download(tmp_path, name="librispeech")) == 2
    err = capsys.readouterr().err
    assert "error: unknown dataset 'librispeech'; downloadable: piano, vctk-multi, vctk-single" in err
    assert main(download(tmp_path, name="synth-speech")) == 2
    assert "generated on first use" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_a_missing_file_on_the_server_is_a_user_error(server, tmp_path, capsys):
    assert main(download(tmp_path, "--url", server.url("/gone/VCTK-Corpus-0.92.zip"))) == 2
    err = capsys.readouterr().err
    assert "the server answered 404 Not Found" in err and "--url with a mirror" in err
