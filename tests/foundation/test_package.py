import subprocess
import sys

from tunewise.assets import TIKTOKEN_FILES, get_tiktoken, tiktoken_cache


def test_import_tunewise_is_light():
    code = ("import sys, tunewise, tunewise.data, tunewise.errors, tunewise.cli.app; "
            "heavy = [m for m in ('torch', 'transformers', 'fastapi', 'sklearn', 'peft', 'plotly') if m in sys.modules]; "
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"import tunewise pulled in heavy modules: {out}"


def test_tiktoken_offline_cache_is_verified(tmp_path, monkeypatch):
    import hashlib

    monkeypatch.setenv("TUNEWISE_CACHE_DIR", str(tmp_path))
    cache = tiktoken_cache()
    for url, expected in TIKTOKEN_FILES.values():
        blob = cache / hashlib.sha1(url.encode()).hexdigest()
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == expected
    enc = get_tiktoken("o200k_base")
    assert enc.decode(enc.encode("hello world")) == "hello world"
    assert len(enc.encode("hello world")) == 2


def test_tampered_tiktoken_file_is_replaced_not_trusted(tmp_path, monkeypatch):
    import hashlib

    monkeypatch.setenv("TUNEWISE_CACHE_DIR", str(tmp_path))
    url, expected = TIKTOKEN_FILES["cl100k_base"]
    cache = tmp_path / "tiktoken"
    cache.mkdir()
    (cache / hashlib.sha1(url.encode()).hexdigest()).write_bytes(b"garbage")
    tiktoken_cache()
    assert hashlib.sha256((cache / hashlib.sha1(url.encode()).hexdigest()).read_bytes()).hexdigest() == expected


def test_unknown_command_and_encoding_are_clear(cli):
    r = cli("datasets", "export", "rotten-tomato", "/tmp/never-written.jsonl")
    assert r.code == 2
    assert "Did you mean 'rotten-tomatoes'" in r.output
    assert "Traceback" not in r.output
