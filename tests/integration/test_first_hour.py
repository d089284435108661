"""The first hour of a newcomer, as processes: ``make run`` on a chosen ``IDP_PORT`` in this
checkout, then the commands its banner and the README's "First hour" print, pasted into a
second terminal with a clean environment (``env -i PATH=…``).

The server gets an instance folder of its own (``IDP_INSTANCE_DIR``), so a developer's
``instance/`` is never touched; the commands run with that one variable, which the banner
prints in front of them for this very reason."""

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLEAN_PATH = "/usr/local/bin:/usr/bin:/bin"
STARTUP_TIMEOUT = 60


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get_json(url):
    with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback http)
        return json.load(response)


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory):
    instance = tmp_path_factory.mktemp("instance")
    port = _free_port()
    log_path = instance / "make-run.log"
    env = {"PATH": os.environ["PATH"], "IDP_PORT": str(port), "IDP_INSTANCE_DIR": str(instance)}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(["make", "run"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/.well-known/openid-configuration"
    deadline = time.monotonic() + STARTUP_TIMEOUT
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"make run exited {proc.returncode}:\n{log_path.read_text()}")
            try:
                discovery = _get_json(url)
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"nothing serves {url}:\n{log_path.read_text()}")
                time.sleep(0.3)
        yield {"port": port, "instance": instance, "discovery": discovery,
               "banner": log_path.read_text()}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


def paste(command, **env):
    """``command`` typed into a new terminal in the checkout: only PATH (and ``env``) set."""
    return subprocess.run(["sh", "-c", command], cwd=ROOT, env={"PATH": CLEAN_PATH, **env},
                          capture_output=True, text=True, timeout=60)


def test_make_run_serves_on_idp_port_and_its_banner_says_where(dev_server):
    port = dev_server["port"]
    assert dev_server["discovery"]["issuer"] == f"http://127.0.0.1:{port}"
    banner = dev_server["banner"]
    assert f"  Serving on:          http://127.0.0.1:{port}\n" in banner
    assert (f"  Issuer (discovery):  http://127.0.0.1:{port}/.well-known/openid-configuration"
            in banner)
    assert "Note:" not in banner  # the issuer and the port agree
    recorded = (dev_server["instance"] / "make-run.env").read_text()
    assert f"IDP_PORT='{port}'" in recorded and "IDP_ENV='development'" in recorded


def _first_hour_commands():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as fh:
        readme = fh.read()
    section = readme.split("\n## First hour\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_the_banners_then_the_readmes_commands_work_from_a_clean_terminal(dev_server):
    port, instance = dev_server["port"], str(dev_server["instance"])
    commands = re.findall(r"^ +\$ (.+)$", dev_server["banner"], re.M)
    prefix = f"IDP_INSTANCE_DIR={instance} .venv/bin/idp "
    assert [c.removeprefix(prefix) for c in commands] == [
        "admins grant --phone +8613800138000 --role super_admin", "audit verify", "clients list"]
    outputs = []
    for command in commands:  # exactly as printed
        done = paste(command)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        outputs.append(done.stdout)
    assert outputs[0] == "+8613800138000: super_admin granted\n"
    assert outputs[1].startswith("audit chain intact: ")
    assert "Demo platform" in outputs[2]

    outputs = []
    for command in _first_hour_commands():  # the README's, on this server's port
        command = command.replace("http://127.0.0.1:5000", f"http://127.0.0.1:{port}")
        done = paste(command, IDP_INSTANCE_DIR=instance)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        outputs.append(done.stdout)
    discovery, grant, client, user, verify, export = outputs
    assert json.loads(discovery)["issuer"] == f"http://127.0.0.1:{port}"
    assert grant == "+8613800138000: super_admin already held\n"
    assert json.loads(client)["client_secret"] and json.loads(client)["name"] == "税务平台"
    assert json.loads(user)["phone"] == "+8613900139000"
    assert verify.startswith("audit chain intact: ")
    assert [json.loads(line)["action"] for line in export.splitlines()] == ["staff.role.granted"]


def test_a_production_process_refuses_the_development_files(dev_server):
    done = paste(".venv/bin/idp audit verify", IDP_ENV="production",
                 IDP_INSTANCE_DIR=str(dev_server["instance"]))
    assert done.returncode == 2
    assert done.stderr.endswith(
        f"configuration error: IDP_ENV=production, but {dev_server['instance']}/make-run.env "
        "holds development settings, which a production process never reads: remove the "
        f"development files (dev.env, make-run.env) from {dev_server['instance']}, or set "
        "IDP_INSTANCE_DIR to the production instance folder\n")


def test_make_serve_reads_no_development_file(dev_server):
    """gunicorn takes the environment alone: without secrets it does not start, although the
    instance folder holds development ones."""
    done = subprocess.run(["make", "-s", "serve"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={"PATH": os.environ["PATH"],
                                           "IDP_INSTANCE_DIR": str(dev_server["instance"]),
                                           "IDP_PORT": str(_free_port())})
    assert done.returncode != 0
    assert "config.ConfigError: IDP_SECRET_KEY is not set" in done.stderr
