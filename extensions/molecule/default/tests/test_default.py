"""pytest-testinfra checks of the default scenario's host, after converge and the demo's proof:
packages, services, owners and modes of configuration and secret files, no secret in
world-readable files or in the journal, rules and dashboard installed, Prometheus scraping the
plugin. The secrets come from the environment tests/molecule sets for the run."""

from __future__ import annotations

import base64
import json
import os

import pytest

SECRETS = [os.environ["DWO_TEST_ADMIN_PASSWORD"], os.environ["DWO_TEST_CLIENT_SECRET"]]


@pytest.mark.parametrize("name", ["orthanc", "orthanc-dicomweb", "orthanc-python", "python3-jwt",
                                  "python3-prometheus-client", "prometheus", "nodejs"])
def test_packages(host, name):
    assert host.package(name).is_installed


@pytest.mark.parametrize("name", ["orthanc", "orthanc-demo-target", "dicomweb-oauth-demo-idp", "prometheus", "nginx"])
def test_services(host, name):
    svc = host.service(name)
    assert svc.is_running and svc.is_enabled


@pytest.mark.parametrize(("path", "owner", "group", "mode"), [
    ("/etc/orthanc/orthanc.json", "root", "orthanc", 0o640),
    ("/etc/orthanc/orthanc.env", "root", "orthanc", 0o640),
    ("/etc/orthanc/secrets", "root", "orthanc", 0o750),
    ("/etc/orthanc/secrets/demo-target.client-secret", "root", "orthanc", 0o640),
    # The last good state (what a failed gate puts back): root only, secrets and plugin included.
    ("/var/lib/orthanc-dicomweb-oauth", "root", "root", 0o700),
    ("/var/lib/orthanc-dicomweb-oauth/last-good/orthanc.env", "root", "orthanc", 0o640),
    ("/var/lib/orthanc-dicomweb-oauth/last-good/secrets/demo-target.client-secret", "root", "orthanc", 0o640),
    ("/var/lib/orthanc-dicomweb-oauth/last-good/plugin/dicomweb_oauth_plugin.py", "root", "root", 0o644),
    ("/usr/lib/orthanc-dicomweb-oauth/dicomweb_oauth_plugin.py", "root", "root", 0o644),
    ("/etc/prometheus/prometheus.yml", "root", "prometheus", 0o640),
    ("/etc/prometheus/dicomweb-oauth/{node}.password", "root", "prometheus", 0o640),
    ("/etc/prometheus/rules.d/dicomweb-oauth.rules.yml", "root", "root", 0o644),
    ("/etc/grafana/provisioning/datasources/dicomweb-oauth.yml", "root", "root", 0o644),
    ("/etc/grafana/provisioning/dashboards/dicomweb-oauth.yml", "root", "root", 0o644),
    ("/var/lib/grafana/dashboards/dicomweb-oauth/dicomweb-oauth.json", "root", "root", 0o644),
    ("/etc/dicomweb-oauth-demo/idp.json", "root", "dwo-demo-idp", 0o640),
    ("/etc/nginx/tls/orthanc-front.key", "root", "root", 0o600),
    ("/etc/nginx/tls/orthanc-front.crt", "root", "root", 0o644),
    ("/etc/nginx/nginx.conf", "root", "root", 0o644),
])
def test_owner_and_mode(host, path, owner, group, mode):
    f = host.file(path.format(node=host.backend.name))
    assert f.exists and f.user == owner and f.group == group and f.mode == mode


# Debian release of each host (the scenario has one of each) and the Orthanc it ships.
RELEASE_ORTHANC = {"12": "1.10.", "13": "1.12."}


def test_orthanc_of_the_hosts_release(host):
    release = host.check_output(". /etc/os-release && echo $VERSION_ID")
    system = _get(host, "http://127.0.0.1:8042/system", password=True)
    assert system["Version"].startswith(RELEASE_ORTHANC[release]), (release, system["Version"])


def test_orthanc_never_ran_with_debians_default_configuration(host):
    # Debian's orthanc.json keeps its database in db-v6, which Orthanc creates at its first
    # start: the unit is masked while the package installs (demo role and server role alike).
    assert not host.file("/var/lib/orthanc/db-v6").exists
    assert host.service("orthanc").is_enabled


def test_hardening_is_enforced_on_the_running_orthanc(host):
    # The drop-in's settings, read from the kernel for Orthanc's process: no capabilities, no
    # privilege gain, and its own mount namespace with the system read-only (ProtectSystem=strict)
    # but the storage directory writable (ReadWritePaths).
    pid = host.check_output("systemctl show -p MainPID --value orthanc")
    status = host.file(f"/proc/{pid}/status").content_string
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    assert int(fields["CapBnd"], 16) == 0 and int(fields["CapEff"], 16) == 0
    assert fields["NoNewPrivs"].strip() == "1"
    options = {}  # mount point -> options of the mount that is on top there
    for line in host.file(f"/proc/{pid}/mountinfo").content_string.splitlines():
        parts = line.split()
        options[parts[4]] = parts[5].split(",")
    assert "ro" in options["/"] and "rw" in options["/var/lib/orthanc/db"], options


def test_secrets_only_in_the_environment_file_and_the_secret_file(host):
    config = host.file("/etc/orthanc/orthanc.json").content_string
    assert all(s not in config for s in SECRETS)
    section = json.loads(config)["DicomWebOAuth"]["Servers"]["demo-target"]
    assert "ClientSecret" not in section
    assert section["ClientSecretFile"] == "/etc/orthanc/secrets/demo-target.client-secret"
    env = host.file("/etc/orthanc/orthanc.env").content_string
    assert SECRETS[0] in env and SECRETS[1] not in env  # the admin password; not the client secret
    # The one place the plugin reads the client secret from.
    assert host.file(section["ClientSecretFile"]).content_string == SECRETS[1]


def test_no_secret_in_world_readable_files(host):
    # The secrets never go on a command line here: Ansible logs module arguments to the journal.
    dirs = ("/etc /usr/lib/orthanc-dicomweb-oauth /var/lib/orthanc /var/lib/orthanc-demo-target /var/lib/grafana "
            "/var/log /tmp /var/tmp /opt/dicomweb-oauth-demo/idp/server.mjs")
    names = host.check_output(f"find {dirs} -xdev -type f -perm -o=r -size -1024k | wc -l")
    assert int(names) > 100  # the search did look at files
    find = f"find {dirs} -xdev -type f -perm -o=r -size -1024k -print0"
    text = host.check_output(f"{find} | xargs -0 cat -- | base64 -w0")
    blob = base64.b64decode(text)
    assert all(s.encode() not in blob for s in SECRETS)


def test_no_secret_in_the_journal(host):
    journal = host.check_output("journalctl --no-pager -o cat")
    assert "dicomweb" in journal  # the plugin did log
    assert all(s not in journal for s in SECRETS)


def _get(host, url, password=False):
    """GET inside the host with its own python3 (the image has no curl)."""
    code = ("import base64,os,urllib.request as u;r=u.Request(os.environ['URL']);"
            "p=os.environ.get('PW');"
            "p and r.add_header('Authorization','Basic '+base64.b64encode(('admin:'+p).encode()).decode());"
            "print(u.urlopen(r,timeout=10).read().decode())")
    # The password is read on the host from the file Prometheus scrapes with.
    pw = f"PW=$(cat /etc/prometheus/dicomweb-oauth/{host.backend.name}.password) " if password else ""
    return json.loads(host.check_output(f"env URL='{url}' {pw}python3 -c \"{code}\""))


def test_plugin_serves_a_valid_token(host):
    status = _get(host, "http://127.0.0.1:8042/dicomweb-oauth/status", password=True)
    server = status["servers"]["demo-target"]
    assert server["has_token"] and server["published"] and server["circuit_breaker"] == "closed"


def test_target_received_the_study_with_valid_jwts(host):
    lines = host.file("/var/log/orthanc-demo-target/access.jsonl").content_string.splitlines()
    log = [json.loads(line) for line in lines]
    accepted = [e for e in log if e["ok"]]
    assert any(e["method"] == "POST" and e["uri"].endswith("/studies") for e in accepted)  # STOW-RS
    assert any(e["method"] == "GET" and "/studies" in e["uri"] for e in accepted)  # QIDO/WADO-RS
    assert all(e.get("aud") == "https://dicom.demo.invalid/" for e in accepted)
    assert not host.file("/var/log/orthanc-demo-target/access.jsonl.tokens").exists  # no raw tokens kept


def _prometheus(host, path):
    return _get(host, f"http://127.0.0.1:9090{path}")


def test_prometheus_scrapes_the_plugin(host):
    targets = _prometheus(host, "/api/v1/targets")["data"]["activeTargets"]
    ours = [t for t in targets if t["labels"].get("service") == "dicomweb-oauth"]
    assert len(ours) == 1 and ours[0]["health"] == "up", ours
    assert ours[0]["labels"]["orthanc_node"] == host.backend.name


def test_prometheus_loaded_the_rules(host):
    groups = _prometheus(host, "/api/v1/rules")["data"]["groups"]
    alerts = {r["name"] for g in groups for r in g["rules"] if r["type"] == "alerting"}
    assert {"DicomwebOAuthTokenAcquisitionFailing", "DicomwebOAuthCircuitBreakerOpen",
            "DicomwebOAuthTargetDown"} <= alerts
    assert all(r["health"] == "ok" for g in groups for r in g["rules"])


def test_grafana_dashboard_points_at_the_provisioned_datasource(host):
    dash = json.loads(host.file("/var/lib/grafana/dashboards/dicomweb-oauth/dicomweb-oauth.json").content_string)
    ds = host.file("/etc/grafana/provisioning/datasources/dicomweb-oauth.yml").content_string
    assert "uid: dicomweb-oauth-prometheus" in ds and "url: http://127.0.0.1:9090" in ds
    assert {p["datasource"]["uid"] for p in dash["panels"]} == {"dicomweb-oauth-prometheus"}


def test_tls_front_on_this_release(host):
    """The front with its self-signed certificate: TLS 1.2 and 1.3 only, HSTS, Orthanc behind it."""
    def offer(version: str) -> int:
        cmd = (f"openssl s_client -connect 127.0.0.1:443 -{version} -cipher DEFAULT:@SECLEVEL=0 "
               "-CAfile /etc/nginx/tls/orthanc-front.crt -verify_return_error </dev/null")
        return host.run(cmd).rc
    assert offer("tls1_2") == 0 and offer("tls1_3") == 0
    assert offer("tls1_1") != 0 and offer("tls1") != 0
    head = host.check_output("python3 -c \"import ssl,socket; c=ssl.create_default_context(cafile='/etc/nginx/tls/"
                             "orthanc-front.crt'); s=c.wrap_socket(socket.create_connection(('127.0.0.1',443)),"
                             "server_hostname='localhost'); s.sendall(b'GET /system HTTP/1.1\\r\\nHost: localhost"
                             "\\r\\nConnection: close\\r\\n\\r\\n'); print(s.recv(4096).decode())\"")
    assert "401" in head.splitlines()[0] and 'realm="Orthanc' in head and "max-age=31536000" in head


def test_orthanc_started_once_in_the_whole_scenario(host):
    """One restart path (SPEC 4.3): the first install starts Orthanc once (the config role's
    restart, then its gate), and the second run, the check-mode run and the demo's proof start
    it no more. systemd's "unit started" entries in the journal, counted."""
    started = host.check_output("journalctl -u orthanc MESSAGE_ID=39f53479d3a045ac8e11786248231fbf -o cat --no-pager")
    assert len(started.splitlines()) == 1, started
