"""Apache httpd with Debian's ``mod_auth_openidc`` as a real relying party, on a loopback port
of its own: its own configuration, PidFile and logs in a temporary folder; started in the
foreground (``-X``) and stopped by its own process id only.

Its pages: ``/protected/`` (needs a login: a page naming the citizen's ``sub``),
``/protected/redirect_uri`` (``OIDCRedirectURI``: the login callback, ``?logout=<url>`` for
RP-initiated logout, ``?logout=backchannel`` for back-channel logout tokens) and
``/loggedout.html`` (where the provider sends the browser back after logout)."""

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

APACHE = "/usr/sbin/apache2"
MODULES = "/usr/lib/apache2/modules"
OPENIDC = os.path.join(MODULES, "mod_auth_openidc.so")

CONFIG = """\
ServerRoot "{root}"
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile "{root}/httpd.pid"
ErrorLog "{root}/error.log"
LogLevel warn auth_openidc:info
DefaultRuntimeDir "{root}"
{user}
LoadModule mpm_event_module {modules}/mod_mpm_event.so
LoadModule authn_core_module {modules}/mod_authn_core.so
LoadModule authz_core_module {modules}/mod_authz_core.so
LoadModule authz_user_module {modules}/mod_authz_user.so
LoadModule mime_module {modules}/mod_mime.so
LoadModule dir_module {modules}/mod_dir.so
LoadModule headers_module {modules}/mod_headers.so
LoadModule include_module {modules}/mod_include.so
LoadModule auth_openidc_module {openidc}
TypesConfig /dev/null
AddType text/html .html
DocumentRoot "{root}/htdocs"
<Directory "{root}/htdocs">
  Require all granted
</Directory>

OIDCProviderMetadataURL {issuer}/.well-known/openid-configuration
OIDCClientID {client_id}
OIDCClientSecret {client_secret}
OIDCRedirectURI http://127.0.0.1:{port}/protected/redirect_uri
OIDCCryptoPassphrase {passphrase}
OIDCScope "openid"
OIDCPKCEMethod S256
OIDCCookie {cookie}
OIDCStateCookiePrefix {cookie}_state_
OIDCSessionType server-cache
OIDCCacheType shm
OIDCDefaultLoggedOutURL http://127.0.0.1:{port}/loggedout.html
OIDCRemoteUserClaim sub

<Location /protected>
  AuthType openid-connect
  Require valid-user
  Options +Includes
  AddOutputFilter INCLUDES .html
</Location>
"""

PROTECTED = "<!doctype html><title>Apache platform</title>" \
            "<p id=\"who\">logged in as <!--#echo var=\"REMOTE_USER\" --></p>\n"
LOGGED_OUT = "<!doctype html><title>Apache platform</title><p id=\"bye\">logged out</p>\n"


def available():
    """Why the Apache relying party cannot run here, or None."""
    if not os.path.exists(APACHE):
        return "Debian package apache2 is not installed (.ci/run installs it)"
    if not os.path.exists(OPENIDC):
        return "Debian package libapache2-mod-auth-openidc is not installed (.ci/run installs it)"
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ApachePlatform:
    def __init__(self, port):
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.redirect_uri = f"{self.base}/protected/redirect_uri"
        self.backchannel_logout_uri = f"{self.redirect_uri}?logout=backchannel"
        self.post_logout_redirect_uri = f"{self.base}/loggedout.html"
        self.root = None
        self.process = None

    def logout_url(self):
        """mod_auth_openidc's RP-initiated logout: it sends the browser to the provider's
        end_session_endpoint with id_token_hint and post_logout_redirect_uri."""
        from urllib.parse import quote

        return f"{self.redirect_uri}?logout={quote(self.post_logout_redirect_uri, safe='')}"

    def log(self):
        with open(os.path.join(self.root, "error.log"), encoding="utf-8",
                  errors="replace") as fh:
            return fh.read()

    @contextlib.contextmanager
    def running(self, issuer, client_id, client_secret, cookie):
        self.root = tempfile.mkdtemp(prefix="apache-rp-")
        try:
            os.makedirs(os.path.join(self.root, "htdocs", "protected"))
            for path, body in (("protected/index.html", PROTECTED),
                               ("loggedout.html", LOGGED_OUT)):
                with open(os.path.join(self.root, "htdocs", path), "w") as fh:
                    fh.write(body)
            user = ""
            if os.geteuid() == 0:  # httpd refuses to serve as root: its own user reads the files
                account = pwd.getpwnam("www-data")
                user = f"User www-data\nGroup #{account.pw_gid}"
                for dirpath, _dirnames, filenames in os.walk(self.root):
                    os.chmod(dirpath, 0o755)
                    for name in filenames:
                        os.chmod(os.path.join(dirpath, name), 0o644)
            conf = os.path.join(self.root, "httpd.conf")
            with open(conf, "w") as fh:
                fh.write(CONFIG.format(root=self.root, port=self.port, modules=MODULES,
                                       openidc=OPENIDC, issuer=issuer, client_id=client_id,
                                       client_secret=client_secret, cookie=cookie, user=user,
                                       passphrase=os.urandom(16).hex()))
            self.process = subprocess.Popen([APACHE, "-X", "-f", conf],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            self._wait_until_listening()
            yield self
        finally:
            if self.process is not None:
                self.process.terminate()
                try:
                    self.process.wait(10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(5)
            shutil.rmtree(self.root, ignore_errors=True)

    def _wait_until_listening(self):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("apache2 did not start: "
                                   + self.process.stderr.read().decode(errors="replace")
                                   + self.log())
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError("apache2 did not listen within 15 s: " + self.log())
