"""The Dockerfile's runtime stage, read (these machines have no Docker engine to build it):
no compiler or package install, code owned by root, a non-root user that can write only
var/, and only Rasa's port exposed."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def stages():
    text = (ROOT / "Dockerfile").read_text()
    lines = [line for line in text.replace("\\\n", " ").splitlines() if line.strip()]
    found, current = [], None
    for line in lines:
        if line.startswith("FROM "):
            current = []
            found.append((line, current))
        elif current is not None and not line.lstrip().startswith("#"):
            current.append(line.strip())
    return found


def test_the_runtime_stage_installs_nothing_and_runs_as_a_user_who_cannot_write_the_code():
    head, runtime = stages()[-1]
    assert " AS " not in head.upper()  # the last stage is the image
    joined = "\n".join(runtime)
    assert not re.search(r"apt-get|apt |pip install|build-essential|gcc", joined), joined
    copies = [line for line in runtime if line.startswith("COPY")]
    assert copies and not [c for c in copies if "--chown" in c]  # everything stays root's
    users = [line for line in runtime if line.startswith("USER")]
    assert users == ["USER rasa"]
    assert joined.index("USER rasa") > joined.index(copies[-1])
    chowned = re.findall(r"chown\s+\S+\s+(\S+)", joined)
    assert chowned == ["var"], chowned


def test_only_rasas_port_is_exposed_and_the_compiler_stays_in_the_build_stage():
    every = "\n".join("\n".join(body) for _, body in stages())
    assert re.findall(r"^EXPOSE (.+)$", every, re.M) == ["5005"]
    build = [body for head, body in stages() if head.endswith(" AS build")]
    assert build and "build-essential" in "\n".join(build[0])
