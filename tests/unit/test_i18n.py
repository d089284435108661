"""Everything user-facing exists in Chinese (the default) and English."""

import os
import subprocess
import sys

from babel.messages.pofile import read_po

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def catalog(lang):
    path = os.path.join(ROOT, "translations", lang, "LC_MESSAGES", "messages.po")
    with open(path, "rb") as fh:
        return read_po(fh)


def test_every_message_in_the_code_is_translated(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F",
                    os.path.join(ROOT, "babel.cfg"), "-k", "_", "-k", "gettext", "-o", str(pot),
                    "--no-location", ROOT], check=True, capture_output=True, cwd=ROOT)
    with open(pot, "rb") as fh:
        wanted = {m.id for m in read_po(fh) if m.id}
    for lang in ("zh_Hans_CN", "en"):
        translated = {m.id for m in catalog(lang) if m.id and m.string}
        missing = wanted - translated
        assert not missing, f"{lang} lacks: {sorted(missing)}"


def test_chinese_catalogue_is_really_chinese():
    for m in catalog("zh_Hans_CN"):
        if m.id:
            assert any("\u4e00" <= ch <= "\u9fff" for ch in m.string), m.id
