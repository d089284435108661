"""The demo (``examples/run.sh``, ``make demo``) as an integrator runs it: one command starts
the national provider, a regional provider and two platforms; in Chromium, brokering (a first
login through the regional provider), single sign-on at the second platform, and logout
everywhere (the regional provider's session ends too; the other platform's once the provider
advertises back-channel logout)."""

import os
import re
import signal
import socket
import subprocess
import time

import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _free_ports(count=4):
    """A base port with ``count`` free ports from it on."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + count > 65535:
            continue
        try:
            sockets = []
            for port in range(base, base + count):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
        return base
    raise RuntimeError("no free ports")


@pytest.fixture
def demo(tmp_path):
    base = _free_ports()
    log = open(tmp_path / "demo.out", "w+")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(["bash", "examples/run.sh"], cwd=ROOT, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True,
                               env={**os.environ, "DEMO_PORT": str(base),
                                    "DEMO_DIR": str(tmp_path / "demo")})
    try:
        deadline = time.time() + 300
        while "The demo is running" not in (tmp_path / "demo.out").read_text():
            assert process.poll() is None, (tmp_path / "demo.out").read_text()
            assert time.time() < deadline, "the demo did not start in 5 minutes"
            time.sleep(1)
        yield base, (tmp_path / "demo.out").read_text()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


def test_the_demo_in_five_minutes(demo, page):
    base, banner = demo
    a, b = f"http://127.0.0.1:{base + 2}/", f"http://127.0.0.1:{base + 3}/"
    regional = f"http://localhost:{base + 1}"
    assert f"Platform A (社保服务平台):     {a}" in banner

    # 1. brokering: log in at A through the regional provider; a first login creates the account
    page.goto(a)
    page.get_by_role("link", name="Log in with the national identity provider").click()
    page.get_by_role("button", name="使用 浙江政务服务网 登录").click()
    page.get_by_label("手机号码、电子邮箱或用户名").fill("13900139000")
    page.get_by_label("密码").fill("Regional-Passw0rd!")
    page.get_by_role("button", name="登录").click()
    page.get_by_role("button", name="同意").click()
    page.get_by_role("button", name="注册账号").click()
    page.get_by_role("button", name="同意").click()
    page.wait_for_url(a)
    assert "王五" in page.inner_text("body") and "['fed']" in page.inner_text("body")

    # 2. single sign-on: B needs no password, only its consent
    page.goto(b)
    page.get_by_role("link", name="Log in with the national identity provider").click()
    page.get_by_role("button", name="同意").click()
    page.wait_for_url(b)
    assert "王五" in page.inner_text("body")

    # 3. logout everywhere, from B: by the regional provider and back to B
    page.get_by_role("button", name="Log out everywhere").click()
    page.wait_for_url(re.compile(re.escape(b) + r"\?state="))
    assert "You are not logged in." in page.inner_text("body")
    page.goto(regional + "/account")
    assert "/interaction/" in page.url  # the regional session ended
    page.goto(f"http://127.0.0.1:{base}/account")
    assert "/interaction/" in page.url  # and the national one
    discovery = requests.get(f"http://127.0.0.1:{base}/.well-known/openid-configuration",
                             timeout=10).json()
    if discovery.get("backchannel_logout_supported"):
        page.goto(a)
        assert "You are not logged in." in page.inner_text("body")
